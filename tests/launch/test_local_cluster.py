"""dsnn.local_cluster: one single-threaded worker process per partition on a CPU machine, its kernels
loaded as it starts."""

from __future__ import annotations

import pytest

import dsnn


def test_local_cluster_one_single_threaded_worker_per_partition(capsys):
    client = dsnn.local_cluster(partitions=2)
    try:
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2 and all(w["nthreads"] == 1 for w in workers.values())
        assert "dashboard at http" in capsys.readouterr().out
        # the workers loaded dsnn's kernels as they started (the preload), not during the first build
        from dsnn.support.jit import compile_seconds

        assert all(s > 0 for s in client.run(compile_seconds).values())
        net = dsnn.Network(seed=3)
        E = net.create("iaf_psc_exp", 6, {"I_e": 450.0}, label="E")
        net.connect(E, E, {"rule": "fixed_indegree", "indegree": 2}, {"weight": 30.0, "delay": 1.0})
        net.connect(E, net.create("spike_recorder"))
        sim = net.build(client, partitions=2)
        assert sim.compile_seconds == 0.0
        sim.run(60.0)
        want = net.build(partitions=1)
        want.run(60.0)
        assert sim.spikes().equals(want.spikes()) and len(want.spikes()) > 0
        sim.close()
    finally:
        client.shutdown()
        client.close()


@pytest.mark.parametrize("kwargs, message", [({"partitions": 0}, "partitions must be a positive integer"),
                                             ({"partitions": 2.5}, "partitions must be a positive integer"),
                                             ({"protocol": "inproc"}, "protocol must be one of"),
                                             ({"partitions": 2, "workers": 3}, "workers must be an integer from 1"),
                                             ({"partitions": 2, "workers": 0}, "workers must be an integer from 1")])
def test_local_cluster_checks_its_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dsnn.local_cluster(**kwargs)
