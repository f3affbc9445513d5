"""Distributed runs on a LocalCluster of worker processes: spikes really cross process boundaries.

The in-process runner is the reference: every distributed run must give its
spikes and synapses bit for bit.
"""

import gc
import os
import signal
import threading
import time

import cloudpickle
import distributed
import pytest
from needs import needs

import dsnn

#: the cluster's protocol, and the channels its partitions should use: workers of one host talk through
#: shared memory unless the Dask config dsnn.shared-memory is False
PROTOCOLS = ["tcp", "tcp-no-shm", pytest.param("ucx", marks=needs("ucxx", "distributed_ucxx"))]
CHANNELS = {"tcp": "shm", "tcp-no-shm": "tcp", "ucx": "ucx"}


#: each worker's memory limit: explicit, so that what is refused does not depend on the host's memory
WORKER_MEMORY = "3GiB"


def _cluster(n_workers, protocol="tcp"):
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       protocol=protocol, dashboard_address=None, host="127.0.0.1",
                                       memory_limit=WORKER_MEMORY)
    return cluster, distributed.Client(cluster)


@pytest.fixture(scope="module", params=PROTOCOLS)
def client(request):
    import dask

    from dsnn.exchange import shm

    cluster, client = _cluster(4, request.param.split("-")[0])
    client.expected_channels = CHANNELS[request.param] if shm.available() or request.param == "ucx" else "tcp"
    with dask.config.set({"dsnn.shared-memory": request.param != "tcp-no-shm"}):
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
            assert {i["channels"] for i in sim.info()} == {client.expected_channels}
    finally:
        sim.close()


@pytest.mark.parametrize("exchange", ["p2p", "collective"])
def test_voltages_gathered_from_the_cluster_equal_the_in_process_ones(client, exchange):
    from networks import mixed_network

    ref_net, ref_sr, ref_vm = mixed_network("iaf_psc_alpha")
    ref = ref_net.build(partitions=1)
    ref.run(150.0)
    net, sr, vm = mixed_network("iaf_psc_alpha")
    sim = net.build(client, partitions=3, exchange=exchange)
    try:
        sim.run(150.0)
        voltages = sim.voltages(vm)
        assert len(voltages) == 5 * 1500 and voltages["sender"].nunique() == 5
        assert voltages.equals(ref.voltages(ref_vm))
        assert sim.spikes(sr).equals(ref.spikes(ref_sr))
    finally:
        sim.close()


def test_plastic_synapses_on_the_cluster_equal_the_in_process_ones(client):
    """stdp_synapse weights change on the workers that hold them: the same spikes and final weights as one
    partition in this process."""
    from networks import plastic_network

    ref_net, ref_proj, ref_sr = plastic_network()
    ref = ref_net.build(partitions=1)
    ref.run(200.0)
    net, proj, sr = plastic_network()
    sim = net.build(client, partitions=3, exchange="p2p")
    try:
        sim.run(120.0)
        sim.run(80.0)
        assert len(ref.spikes(ref_sr)) > 500
        assert sim.spikes(sr).equals(ref.spikes(ref_sr))
        assert sim.connections(proj).equals(ref.connections(ref_proj))
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


class _GraphLog(distributed.diagnostics.plugin.SchedulerPlugin):
    """A scheduler plugin noting each task a build submits, with the pickled size of what it runs."""

    name = "dsnn-test-graph-log"

    def __init__(self):
        self.specs = {}
        self.scheduler = None

    def transition(self, key, start, finish, *args, **kwargs):
        if start == "released" and str(key).startswith("dsnn-"):
            ts = self.scheduler.tasks.get(key)
            spec = getattr(ts, "run_spec", None)
            self.specs[str(key)] = len(cloudpickle.dumps(spec)) if spec is not None else 0


@pytest.mark.parametrize("exchange", ["p2p", "collective"])
def test_a_build_is_two_tasks_per_partition_of_constant_size_and_the_handshake_gives_the_in_process_send_maps(
        client, brunel, exchange):
    """Whatever P: a build task and an actor per partition, none per pair (the image handshake runs actor to
    actor), each task's spec of the same size at P = 2 and 4 (nothing of size P per task from the client:
    the decomposition goes once, scattered); the receivers each partition sends to are those of the
    in-process exchange plans."""
    from dsnn.partitioning.decomposition import Decomposition
    from dsnn.runners.handshake import exchange_plans

    def install(dask_scheduler):
        log = _GraphLog()
        log.scheduler = dask_scheduler
        dask_scheduler.add_plugin(log, name=_GraphLog.name)

    def read(dask_scheduler):
        specs = dict(dask_scheduler.plugins[_GraphLog.name].specs)
        dask_scheduler.plugins[_GraphLog.name].specs.clear()
        return specs

    def remove(dask_scheduler):
        dask_scheduler.remove_plugin(name=_GraphLog.name)

    client.run_on_scheduler(install)
    sizes = {}
    try:
        for P in (2, 4):
            net = brunel.network(scale=0.1, seed=5)
            sim = net.build(client, partitions=P, exchange=exchange)
            try:
                token = sim.runner.build_info["token"]
                specs = {k: n for k, n in client.run_on_scheduler(read).items() if token in k}
                tasks = sorted(k.rsplit("-", 1)[0] for k in specs if k.startswith(("dsnn-actor", "dsnn-build")))
                assert tasks == sorted([f"dsnn-actor-{p}" for p in range(P)] + [f"dsnn-build-{p}" for p in range(P)])
                assert len(specs) <= 2 * P + 2  # the network and the directory, scattered once
                sizes[P] = {kind: max(n for k, n in specs.items() if k.startswith(f"dsnn-{kind}-"))
                            for kind in ("build", "actor")}
                if exchange == "p2p":
                    local = net.build(partitions=P)
                    plans = exchange_plans(local.partitions, Decomposition.of(net, P), "p2p")
                    assert [i["out_peers"] for i in sim.info()] == [plan.out_peers() for plan in plans]
                    assert all(i["out_peers"] for i in sim.info())  # the partitions do need each other
                    assert sim.runner.build_info["pairs"] == sum(len(plan.in_peers) for plan in plans)
            finally:
                sim.close()
    finally:
        client.run_on_scheduler(remove)
    assert sizes[2] == sizes[4], sizes


def test_close_frees_the_partitions_on_the_workers(client, brunel):
    """After sim.close() the scheduler holds none of the build's tasks: the workers have let go of the
    partitions (their memory), without waiting for the client's garbage collector."""
    def dsnn_keys(dask_scheduler):
        return sorted(str(k) for k in dask_scheduler.tasks if str(k).startswith("dsnn-"))

    sim = brunel.network(scale=0.1).build(client, partitions=2)
    sim.run(10.0)
    token = sim.runner.build_info["token"]
    assert any(token in k for k in client.run_on_scheduler(dsnn_keys))
    gc.disable()  # no help from the cycle collector: close must let go by itself
    try:
        sim.close()
        deadline = time.monotonic() + 10.0
        while any(token in k for k in client.run_on_scheduler(dsnn_keys)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [k for k in client.run_on_scheduler(dsnn_keys) if token in k]
    finally:
        gc.enable()


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


@pytest.mark.parametrize("n_workers,partitions", [(1, 2), (2, 3)])
def test_a_worker_holds_one_partition_per_thread(brunel, brunel_reference, n_workers, partitions):
    """Workers of two threads hold two partitions each, stepped by threads of their own: the spikes and
    synapses of the in-process reference, through channels within a worker process and between two."""
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=2, processes=True,
                                       dashboard_address=":0", host="127.0.0.1", memory_limit=WORKER_MEMORY)
    client = distributed.Client(cluster)
    try:
        ref_spikes, ref_conns = brunel_reference
        for exchange in ("p2p", "collective"):
            net = brunel.network(scale=0.1, seed=99)
            sim = net.build(client, partitions=partitions, exchange=exchange)
            try:
                sim.run(200.0)
                assert len(set(sim.workers)) == n_workers
                held = [sim.workers.count(w) for w in sorted(set(sim.workers))]
                assert held == ([2] * n_workers if partitions == 2 * n_workers else [2, 1])
                assert sim.workers == sorted(sim.workers)  # a worker's partitions are consecutive
                assert sim.spikes(net.populations[-1]).equals(ref_spikes)
                assert sim.connections().equals(ref_conns)
                assert all(c["bytes_sent"] > 0 for c in sim.counters())
            finally:
                sim.close()
        with pytest.raises(ValueError, match=rf"partitions \({2 * n_workers + 1}\) must not exceed"):
            net.build(client, partitions=2 * n_workers + 1)
    finally:
        client.close()
        cluster.close()


def _task_keys(dask_scheduler) -> set:
    return {str(k) for k in dask_scheduler.tasks}


def test_invalid_build_submits_nothing(client, brunel):
    net = brunel.network(scale=0.05)
    before = client.run_on_scheduler(_task_keys)
    with pytest.raises(ValueError, match=r"partitions \(5\) must not exceed the cluster's worker threads \(4 in 4"):
        net.build(client, partitions=5)
    with pytest.raises(ValueError, match="exchange must be"):
        net.build(client, partitions=2, exchange="ring")
    with pytest.raises(ValueError, match="timeout must be"):
        net.build(client, partitions=2, timeout=0)
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        net.build(client="tcp://127.0.0.1:8786", partitions=2)
    assert not client.run_on_scheduler(_task_keys) - before  # no task submitted (earlier ones may have gone)


def test_network_too_big_for_the_workers_is_refused_before_any_task(client, brunel):
    """Brunel at 30x: ~1.4e10 synapses, ~9 GB per worker; each worker may use WORKER_MEMORY (3 GiB, less
    what it holds), whatever the host has."""
    before = client.run_on_scheduler(_task_keys)
    with pytest.raises(MemoryError, match=r"needs an estimated [0-9.]+ GiB on worker .*synapses at [0-9.]+ bytes"
                                          r".* more than the [0-2]\.[0-9]+ GiB it has"):
        brunel.network(scale=30.0).build(client, partitions=4)
    assert not client.run_on_scheduler(_task_keys) - before


def test_workers_without_a_memory_limit_share_their_host():
    """A worker with a limit has its own place (its limit less what it holds); workers without one share
    their host's available memory, so partitions there are counted together."""
    from types import SimpleNamespace

    from dsnn.construction.estimate import check_fits
    from dsnn.runners.cluster.workers import worker_available_bytes

    limited = SimpleNamespace(address="tcp://w:1", memory_manager=SimpleNamespace(memory_limit=2**40))
    free = SimpleNamespace(address="tcp://w:2", memory_manager=SimpleNamespace(memory_limit=None))
    (own, place), (shared, host) = worker_available_bytes(limited), worker_available_bytes(free)
    assert place == "worker tcp://w:1" and "workers without a memory limit" in host
    assert own <= shared  # a limit never gives more than the host has
    gib = 2.0**30
    part = {"bytes": 6 * gib, "synapses": 1e9, "synapse_bytes": 6 * gib, "rings": 0.0}
    check_fits([part], [10 * gib], ["host h"])  # one partition fits
    with pytest.raises(MemoryError, match=r"on host h \(partitions 0, 1: 2e\+09 synapses"):
        check_fits([part, part], [10 * gib, 10 * gib], ["host h", "host h"])  # two on one host do not


def test_killed_worker_fails_the_run_clearly(brunel):
    cluster, client = _cluster(2)
    try:
        net = brunel.network(scale=0.1, seed=1)
        sim = net.build(client, partitions=2, timeout=10.0)
        sim.run(10.0)
        pids = client.run(os.getpid)
        victim = sim.workers[1]

        def kill_once_running():  # when partition 0 has gone on from where the first run stopped
            while sim.runner.actors[0].counters().result()["step"] <= 100:
                time.sleep(0.01)
            os.kill(pids[victim], signal.SIGKILL)

        killer = threading.Thread(target=kill_once_running, daemon=True)
        killer.start()
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="partition 1") as info:
            sim.run(1_000_000.0)  # far longer than the test: only the failure can end it
        assert time.monotonic() - t0 < 30.0
        assert "lost partition 1" in str(info.value)
        assert client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3  # the client still answers
        t0 = time.monotonic()  # a run after the failure fails at once, naming what failed
        with pytest.raises(RuntimeError, match=r"run: the simulation failed earlier \(.*lost partition 1.*\)"):
            sim.run(1.0)
        assert time.monotonic() - t0 < 10.0
    finally:
        client.close()
        cluster.close()


def test_a_construction_task_that_fails_names_its_partition_and_why(client):
    """Weights drawn from normal(0, 1e9 pA) exceed the fixed-point range (±2**31 pA) somewhere among
    20,000 synapses: only the drawing, on the workers, can tell; the build fails naming it."""
    net = dsnn.Network(seed=1)
    E = net.create("iaf_psc_exp", 200)
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": 100}, {"weight": dsnn.random.normal(0.0, 1e9)})
    with pytest.raises(RuntimeError, match=r"build: construction of partition [01] failed: .*weight of projection 0 "
                                           r"drew .* pA; weights must stay within ±2\*\*31 pA"):
        net.build(client, partitions=2)


def test_a_build_step_that_does_not_finish_times_out_naming_the_partitions(client):
    from dsnn.runners.cluster.workers import wait_for

    worker = sorted(client.scheduler_info()["workers"])[0]
    slow = client.submit(time.sleep, 2.0, workers=[worker], pure=False)  # holds the worker's thread 2 s
    try:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match=r"build: construction of partitions \[0\] did not finish in 0.3 s"):
            wait_for(client, {0: slow}, [worker], "construction", 0.3)
        assert time.monotonic() - t0 < 1.9  # it did not wait for the task
    finally:
        slow.result()


def test_recover_restores_the_last_checkpoint_on_the_remaining_workers(brunel, tmp_path):
    """A worker SIGKILLed mid-run with recover=True, the spikes streamed to files: a warning says what
    happened, the run goes on from the newest checkpoint on the workers left, and ends with the spikes of
    the uninterrupted run (none of the streamed ones missing or twice)."""
    want_sim = brunel.network(scale=0.1, seed=21).build(partitions=3)
    want_sim.run(150.0)
    want = want_sim.spikes()
    cluster, client = _cluster(3)
    try:
        net = brunel.network(scale=0.1, seed=21)
        sim = net.build(client, partitions=3, timeout=10.0)
        sim.stream_recordings(tmp_path / "spikes", max_records=100)
        pids = client.run(os.getpid)
        victim = sim.workers[2]

        def kill_after_the_first_checkpoint():
            while not (tmp_path / "ck" / "step-000000000500").is_dir():
                time.sleep(0.01)
            os.kill(pids[victim], signal.SIGKILL)

        killer = threading.Thread(target=kill_after_the_first_checkpoint, daemon=True)
        killer.start()
        with pytest.warns(RuntimeWarning, match=r"lost partition 2.*recovered from the checkpoint at (50|100) ms"):
            # with a progress bar, as in a notebook: its polls of the lost worker must not hide the loss
            sim.run(150.0, checkpoint_every=50.0, checkpoint_dir=tmp_path / "ck", recover=True, progress=True)
        assert sim.time == 150.0
        assert victim not in sim.workers
        assert sim.spikes().equals(want)
        sim.close()
    finally:
        client.close()
        cluster.close()


def test_a_worker_lost_during_a_build_step_is_named():
    from dsnn.runners.cluster.workers import wait_for

    cluster, client = _cluster(1)
    try:
        worker = sorted(client.scheduler_info()["workers"])[0]
        pid = client.run(os.getpid)[worker]
        slow = client.submit(time.sleep, 60, workers=[worker], pure=False)
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()  # no race: the task lasts a minute
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match=f"build: lost partition 0: its worker {worker} left the cluster "
                                               "during construction"):
            wait_for(client, {0: slow}, [worker], "construction", 300.0)
        assert time.monotonic() - t0 < 30.0
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


def test_cluster_run_progress_bar_counts_every_spike(client, brunel, capsys, monkeypatch):
    """The bar polls the actors while they run and ends at the run's time and spike count: its last
    snapshot holds every spike the partitions emitted, and its rate is that count over its own clock."""
    import re

    from dsnn.runners import simulation

    watches = []

    class Recorded(simulation.RunWatch):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            watches.append(self)

    monkeypatch.setattr(simulation, "RunWatch", Recorded)
    net = brunel.network(scale=0.1, seed=5)
    sim = net.build(client, partitions=2)
    try:
        sim.run(300.0, progress=True)
        err = capsys.readouterr().err
        assert "300.0/300.0 ms" in err
        n_spikes = len(sim.spikes())  # every neuron is recorded
        assert n_spikes > 0 and watches[-1].spikes_shown == n_spikes
        shown = float(re.findall(r"spikes/s=([0-9.e+]+)", err)[-1])
        assert shown == pytest.approx(watches[-1].postfix["spikes/s"], rel=1e-2)  # printed with 3 digits
    finally:
        sim.close()


def test_channels_are_shared_memory_only_between_workers_of_one_host():
    """The partitions of a TCP cluster talk through shared memory when every worker is on one host (and
    the Dask config allows it), else over TCP; a UCX cluster keeps UCX."""
    import dask

    from dsnn.exchange import shm
    from dsnn.runners.cluster.graph import channel_scheme

    one_host = ["tcp://10.0.0.5:40001", "tcp://10.0.0.5:40002"]
    two_hosts = ["tcp://10.0.0.5:40001", "tcp://10.0.0.6:40001"]
    with dask.config.set({"dsnn.shared-memory": True}):  # the default, whatever a client fixture left set
        assert channel_scheme(one_host) == ("shm" if shm.available() else "tcp")
        assert channel_scheme(two_hosts) == "tcp"
        assert channel_scheme(["ucx://10.0.0.5:40001", "ucx://10.0.0.5:40002"]) == "ucx"
    with dask.config.set({"dsnn.shared-memory": False}):
        assert channel_scheme(one_host) == "tcp"


def test_channels_are_mpi_only_where_every_partition_has_a_rank_of_its_own():
    """Workers on several hosts that are distinct MPI ranks (a dask-mpi launch, see tests/launch/test_mpi.py
    for the run) talk MPI; workers of one host keep shared memory; a worker without a rank, two partitions
    on one worker, UCX comms or the Dask config keep the other channels."""
    import dask

    from dsnn.exchange import shm
    from dsnn.runners.cluster.graph import channel_scheme

    two_hosts = ["tcp://10.0.0.5:40001", "tcp://10.0.0.6:40001"]
    ranks = {two_hosts[0]: 2, two_hosts[1]: 3}
    assert channel_scheme(two_hosts, ranks) == "mpi"
    one_host = ["tcp://10.0.0.5:40001", "tcp://10.0.0.5:40002"]
    one_host_ranks = {one_host[0]: 2, one_host[1]: 3}
    with dask.config.set({"dsnn.shared-memory": True}):  # the default, whatever a client fixture left set
        assert channel_scheme(one_host, one_host_ranks) == ("shm" if shm.available() else "mpi")
    with dask.config.set({"dsnn.shared-memory": False}):
        assert channel_scheme(one_host, one_host_ranks) == "mpi"
    assert channel_scheme(two_hosts, {two_hosts[0]: 2, two_hosts[1]: None}) == "tcp"
    assert channel_scheme(two_hosts, {two_hosts[0]: 2, two_hosts[1]: 2}) == "tcp"
    assert channel_scheme([two_hosts[0], two_hosts[0]], ranks) != "mpi"  # a rank holds one partition
    ucx = ["ucx://10.0.0.5:40001", "ucx://10.0.0.6:40001"]
    assert channel_scheme(ucx, {ucx[0]: 2, ucx[1]: 3}) == "ucx"
    with dask.config.set({"dsnn.mpi-channels": False}):
        assert channel_scheme(two_hosts, ranks) == "tcp"


def test_a_checkpoint_moves_between_the_cluster_and_this_process_bit_for_bit(client, brunel, tmp_path):
    """In-process 2 partitions, 60 ms, checkpoint; restored on the cluster on 3 partitions (collective),
    60 ms more, checkpoint (each worker writes its partitions' files); restored on the cluster on 2
    partitions (p2p), 30 ms, checkpoint; restored in this process on 1 partition, 30 ms more: the spikes of
    the uninterrupted 180 ms run."""
    full = brunel.network(scale=0.1, seed=11).build(partitions=2)
    full.run(180.0)
    want = full.spikes()
    net = brunel.network(scale=0.1, seed=11)
    first = net.build(partitions=2)
    first.run(60.0)
    path = first.checkpoint(tmp_path / "a")
    for partitions, exchange, t, name in ((3, "collective", 60.0, "b"), (2, "p2p", 30.0, "c")):
        on_cluster = dsnn.restore(net, path, client=client, partitions=partitions, exchange=exchange)
        try:
            assert on_cluster.exchange == exchange and on_cluster.n_partitions == partitions
            on_cluster.run(t)
            path = on_cluster.checkpoint(tmp_path / name)
        finally:
            on_cluster.close()
    last = dsnn.restore(net, path, partitions=1)
    assert last.time == 150.0
    last.run(30.0)
    assert len(want) > 1000 and (want["time"] > 150.0).sum() > 100
    assert last.spikes().equals(want)


def test_strangers_at_a_partitions_port_are_dropped_and_change_nothing(client, brunel):
    """Over tcp channels: a connection that says nothing, one whose hello claims to be partition 1 without
    the build's secret, and one sending garbage reach partition 0's port; the run's spikes are still the
    in-process run's."""
    import socket

    from dsnn.exchange.framing import HEADER, hello, split_address

    if client.expected_channels != "tcp":
        pytest.skip("tcp channels only (shared memory and ucx are covered by their own checks)")
    net = brunel.network(scale=0.1, seed=17)
    sim = net.build(client, partitions=2, exchange="p2p")
    try:
        _, host, port = split_address(sim.info()[0]["address"])
        silent = socket.create_connection((host, port))
        impostor = socket.create_connection((host, port))
        head, parts = hello(1, b"\x00" * 32)
        impostor.sendall(HEADER.pack(*head) + b"".join(bytes(a) for a in parts))
        garbage = socket.create_connection((host, port))
        garbage.sendall(b"GET / HTTP/1.1\r\n\r\n" * 10)
        time.sleep(0.5)
        sim.run(100.0)
        ref = brunel.network(scale=0.1, seed=17).build(partitions=2)
        ref.run(100.0)
        assert len(ref.spikes()) > 500
        assert sim.spikes().equals(ref.spikes())
        for stranger in (silent, impostor, garbage):
            stranger.close()
    finally:
        sim.close()


@pytest.mark.parametrize("shared_memory", [True, False])
def test_a_tls_cluster_builds_and_gives_the_in_process_spikes(brunel, shared_memory):
    """LocalCluster(security=True): tls:// comms with temporary certificates. The partitions' channels on
    its one host are shared memory (nothing leaves the host) or, with shared memory off, TCP with TLS under
    the cluster's certificates; the spikes are the in-process run's, and a plain (not TLS) stranger at a
    partition's port is dropped."""
    import socket

    import dask

    from dsnn.exchange.framing import split_address

    pytest.importorskip("cryptography")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, security=True, dashboard_address=None,
                                       processes=True)
    client = distributed.Client(cluster)
    try:
        assert all(w.startswith("tls://") for w in client.scheduler_info()["workers"])
        with dask.config.set({"dsnn.shared-memory": shared_memory}):
            net = brunel.network(scale=0.1, seed=23)
            sim = net.build(client, partitions=2, exchange="collective")
        try:
            assert {i["channels"] for i in sim.info()} == ({"shm"} if shared_memory else {"tls"})
            if not shared_memory:
                _, host, port = split_address(sim.info()[0]["address"])
                stranger = socket.create_connection((host, port))
                stranger.sendall(b"\x00" * 200)
            sim.run(100.0)
            ref = brunel.network(scale=0.1, seed=23).build(partitions=2)
            ref.run(100.0)
            assert len(ref.spikes()) > 500 and sim.spikes().equals(ref.spikes())
            if not shared_memory:
                stranger.close()
        finally:
            sim.close()
    finally:
        client.close()
        cluster.close()


def test_tls_clusters_pick_shared_memory_mpi_or_tls_channels():
    import dask

    from dsnn.exchange import shm
    from dsnn.runners.cluster.graph import channel_scheme

    with dask.config.set({"dsnn.shared-memory": True}):  # the default, whatever a client fixture left set
        if shm.available():
            assert channel_scheme(["tls://10.0.0.1:1", "tls://10.0.0.1:2"]) == "shm"
        assert channel_scheme(["tls://10.0.0.1:1", "tls://10.0.0.2:2"]) == "tls"
        ranks = {"tls://10.0.0.1:1": 2, "tls://10.0.0.2:2": 3}
        assert channel_scheme(["tls://10.0.0.1:1", "tls://10.0.0.2:2"], ranks) == "mpi"


def test_a_progress_poll_of_a_lost_worker_is_dropped_not_raised():
    """The progress bar's counters polls are best effort: a poll whose actor's worker is gone (its future
    raises, or the call itself is refused) returns nothing, so that the run's own call reports the loss
    naming the partition (and recover=True can act on it)."""
    from dsnn.runners.cluster.runner import ClusterRunner

    class Failed:
        def done(self):
            return True

        def result(self):
            raise OSError("Unable to contact Actor's worker")

    class Lost:
        def counters(self):
            return Failed()

    class Refusing:
        def counters(self):
            raise ValueError("Worker holding Actor was lost")

    runner = ClusterRunner(None, [Lost(), Lost()], ["tcp://a:1", "tcp://b:2"], {})
    assert runner.poll_counters(True) is None  # sent
    assert runner.poll_counters(False) is None  # answered with errors: dropped
    assert runner._polls == []
    runner = ClusterRunner(None, [Refusing()], ["tcp://a:1"], {})
    assert runner.poll_counters(True) is None and runner._polls == []
