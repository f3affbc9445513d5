"""Distributed runs on a LocalCluster of worker processes: spikes really cross process boundaries.

The in-process runner is the reference: every distributed run must give its
spikes and synapses bit for bit.
"""

import importlib.util
import os
import signal
import threading
import time

import pytest

import dsnn

distributed = pytest.importorskip("distributed")

PROTOCOLS = ["tcp", pytest.param("ucx", marks=pytest.mark.skipif(
    importlib.util.find_spec("distributed_ucxx") is None, reason="needs the ucx extra (pip install 'dsnn[ucx]')"))]


def _cluster(n_workers, protocol="tcp"):
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       protocol=protocol, dashboard_address=None, host="127.0.0.1")
    return cluster, distributed.Client(cluster)


@pytest.fixture(scope="module", params=PROTOCOLS)
def client(request):
    cluster, client = _cluster(4, request.param)
    yield client
    client.close()
    cluster.close()


def _brunel_reference(brunel, partitions, t=200.0):
    net = brunel.network(scale=0.1, seed=99)
    sim = net.build(partitions=partitions)
    sim.run(t)
    return sim.spikes(net.populations[-1]), sim.connections()


@pytest.fixture(scope="module")
def brunel_reference(brunel):
    return _brunel_reference(brunel, 1)


@pytest.mark.parametrize("exchange", ["p2p", "collective"])
@pytest.mark.parametrize("partitions", [1, 2, 3, 4])
def test_cluster_equals_in_process(client, brunel, brunel_reference, partitions, exchange):
    ref_spikes, ref_conns = brunel_reference
    net = brunel.network(scale=0.1, seed=99)
    sim = net.build(client, partitions=partitions, exchange=exchange)
    try:
        sim.run(120.0)
        sim.run(80.0)  # runs go on where they stopped
        spikes = sim.spikes(net.populations[-1])
        assert len(set(sim.workers)) == partitions  # one partition per worker process
        assert len(spikes) > 5000
        assert spikes.equals(ref_spikes)
        assert sim.connections().equals(ref_conns)
        counters = sim.counters()
        assert [c["step"] for c in counters] == [2000] * partitions
        if partitions > 1:
            assert all(c["bytes_sent"] > 0 for c in counters)  # spikes really crossed processes
    finally:
        sim.close()


def _areas(n_areas=4, n=300, seed=5):
    """Areas of n neurons, dense inside, and sparse between: only each area's first 15 neurons
    project to the next area."""
    net = dsnn.Network(seed=seed, dt=0.1)
    params = {"V_m": dsnn.random.uniform(-70.0, -55.0)}
    areas = [net.create("iaf_psc_exp", n, params, label=f"A{i}") for i in range(n_areas)]
    pg = net.create("poisson_generator", params={"rate": 15000.0})
    sr = net.create("spike_recorder")
    for i, a in enumerate(areas):
        net.connect(a, a, {"rule": "fixed_indegree", "indegree": 50}, {"weight": 30.0, "delay": 1.5})
        net.connect(a[0:15], areas[(i + 1) % n_areas], {"rule": "fixed_indegree", "indegree": 3},
                    {"weight": 40.0, "delay": 3.0})
        net.connect(pg, a, syn_spec={"weight": 87.8, "delay": 1.5})
        net.connect(a, sr)
    return net, sr, [[a] for a in areas]  # one area per partition


def test_area_structured_network_p2p_moves_fewer_bytes(client):
    moved, spikes = {}, {}
    for exchange in ("p2p", "collective"):
        net, sr, placement = _areas()
        sim = net.build(client, partitions=placement, exchange=exchange)
        try:
            sim.run(200.0)
            spikes[exchange] = sim.spikes(sr)
            moved[exchange] = sim.exchanged_bytes()
        finally:
            sim.close()
    net, sr, placement = _areas()
    ref = net.build(partitions=placement)
    ref.run(200.0)
    want = ref.spikes(sr)
    assert len(want) > 1000
    assert spikes["p2p"].equals(want) and spikes["collective"].equals(want)
    assert 0 < moved["p2p"] < moved["collective"] / 3, moved


def test_build_moves_no_synapses(client, brunel):
    """Bytes moved between workers during build: the image maps and little else."""

    def moved(dask_worker):
        return dask_worker.transfer_outgoing_bytes_total

    before = sum(client.run(moved).values())
    net = brunel.network(scale=0.3, seed=99)
    sim = net.build(client, partitions=4)
    try:
        after = sum(client.run(moved).values())
        info = sim.info()
        image_map_bytes = sum(i["n_images"] for i in info) * 16  # gid and slot, int64 each
        synapse_bytes = sum(i["nbytes"]["synapses"] for i in info)
        assert image_map_bytes > 0 and synapse_bytes > 10 * image_map_bytes
        assert after - before <= 2 * image_map_bytes + 16 * 1024, (after - before, image_map_bytes)
    finally:
        sim.close()


def test_invalid_build_submits_nothing(client, brunel):
    def n_tasks(dask_scheduler):
        return len(dask_scheduler.tasks)

    net = brunel.network(scale=0.05)
    before = client.run_on_scheduler(n_tasks)
    with pytest.raises(ValueError, match=r"partitions \(5\) must not exceed the cluster's workers \(4\)"):
        net.build(client, partitions=5)
    with pytest.raises(ValueError, match="exchange must be"):
        net.build(client, partitions=2, exchange="ring")
    with pytest.raises(ValueError, match="timeout must be"):
        net.build(client, partitions=2, timeout=0)
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        net.build(client="tcp://127.0.0.1:8786", partitions=2)
    assert client.run_on_scheduler(n_tasks) == before


def test_network_too_big_for_the_workers_is_refused_before_any_task(client, brunel):
    """Brunel at 30x: ~1.4e10 synapses; each worker has a quarter of this machine's memory."""
    def n_tasks(dask_scheduler):
        return len(dask_scheduler.tasks)

    before = client.run_on_scheduler(n_tasks)
    with pytest.raises(MemoryError, match=r"needs an estimated [0-9.]+ GiB on worker .*synapses at [0-9.]+ bytes"
                                          r".* more than the [0-9.]+ GiB it has"):
        brunel.network(scale=30.0).build(client, partitions=4)
    assert client.run_on_scheduler(n_tasks) == before


def test_killed_worker_fails_the_run_clearly(brunel):
    cluster, client = _cluster(2)
    try:
        net = brunel.network(scale=0.1, seed=1)
        sim = net.build(client, partitions=2, timeout=10.0)
        sim.run(10.0)
        pids = client.run(os.getpid)
        victim = sim.workers[1]
        killer = threading.Timer(1.0, os.kill, (pids[victim], signal.SIGKILL))
        killer.start()
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="partition 1") as info:
            sim.run(1_000_000.0)  # far longer than the test: only the failure can end it
        assert time.monotonic() - t0 < 30.0
        assert "lost partition 1" in str(info.value)
        assert client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3  # the client still answers
    finally:
        client.close()
        cluster.close()


def test_partitions_spin_only_where_each_has_a_core():
    import os

    from dsnn.runners.cluster.actor import SPIN_S, spin_seconds

    cores = len(os.sched_getaffinity(0))
    assert spin_seconds(1) == SPIN_S > 0
    assert spin_seconds(cores) == SPIN_S
    assert spin_seconds(cores + 1) == 0.0


def test_cluster_run_progress_bar_counts_every_spike(client, brunel, capsys):
    """The bar polls the actors while they run and ends at the run's time and spike count."""
    import re

    net = brunel.network(scale=0.1, seed=5)
    sim = net.build(client, partitions=2)
    try:
        t0 = time.perf_counter()
        sim.run(300.0, progress=True)
        wall = time.perf_counter() - t0
        err = capsys.readouterr().err
        assert "300.0/300.0 ms" in err
        rate = float(re.findall(r"spikes/s=([0-9.e+]+)", err)[-1])
        n_spikes = len(sim.spikes())
        assert n_spikes > 0
        assert rate == pytest.approx(n_spikes / wall, rel=0.5)  # spikes over the run's wall time
    finally:
        sim.close()
