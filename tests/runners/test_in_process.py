"""The in-process runner: partition invariance, continuation, recording, threads, failures."""

import time

import numpy as np
import pytest

import dsnn


def _brunel_run(brunel, partitions, exchange="p2p", t=500.0, split=None):
    net = brunel.network(scale=0.2, seed=99)
    sim = net.build(partitions=partitions, exchange=exchange)
    if split:
        for chunk in split:
            sim.run(chunk)
    else:
        sim.run(t)
    return sim.spikes(net.populations[-1]), sim.connections(), sim


@pytest.fixture(scope="module")
def reference(brunel):
    spikes, conns, sim = _brunel_run(brunel, 1)
    assert len(spikes) > 10_000  # the network is active
    assert len(conns) == sim.n_synapses > 0
    return spikes, conns


@pytest.mark.parametrize("partitions,exchange", [
    (2, "p2p"), (3, "p2p"), (3, "collective"), (5, "p2p"), (5, "collective"),
    ([1, 1999, 500], "p2p"), ([1300, 7, 1193], "collective"),
])
def test_partition_invariance(brunel, reference, partitions, exchange):
    """Same synapses and bitwise identical spikes over 500 ms, whatever the partitioning."""
    ref_spikes, ref_conns = reference
    spikes, conns, sim = _brunel_run(brunel, partitions, exchange)
    assert len(sim.partitions) == (partitions if isinstance(partitions, int) else len(partitions))
    assert conns.equals(ref_conns)
    assert spikes.equals(ref_spikes)


def test_partitions_really_exchange_spikes(brunel):
    """With several partitions, most synapses have remote (image) sources."""
    _, _, sim = _brunel_run(brunel, 4, t=50.0)
    assert all(p.image_gids.shape[0] > 0 for p in sim.partitions)
    assert [i["out_peers"] for i in sim.info()] == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]
    assert all(c["bytes_sent"] > 0 for c in sim.counters())  # through the in-memory channels


def test_run_continues_where_it_stopped(brunel, reference):
    ref_spikes, _ = reference
    spikes, _, sim = _brunel_run(brunel, 2, split=[100.0, 0.1, 149.9, 250.0])
    assert sim.time == pytest.approx(500.0)
    assert spikes.equals(ref_spikes)


def test_spike_recorder_window_and_senders():
    net = dsnn.Network(seed=3, dt=0.1)
    n = net.create("iaf_psc_exp", 20, {"I_e": 400.0})
    sr = net.create("spike_recorder", params={"start": 50.0, "stop": 80.0})
    sr_all = net.create("spike_recorder")
    net.connect(n[5:10], sr)
    net.connect(n, sr_all)
    sim = net.build(partitions=3)
    sim.run(100.0)
    part = sim.spikes(sr)
    full = sim.spikes(sr_all)
    assert set(part.sender) == set(range(n.first + 5, n.first + 10))
    assert part.time.min() > 50.0 and part.time.max() <= 80.0
    expected = full[(full.sender >= n.first + 5) & (full.sender < n.first + 10)
                    & (full.time > 50.0) & (full.time <= 80.0)].reset_index(drop=True)
    assert part.equals(expected)
    assert list(full.columns) == ["sender", "time", "population"]
    assert set(full.population) == {"iaf_psc_exp-0"}  # no label given: model and creation index


def test_voltmeter_interval_and_columns():
    net = dsnn.Network(seed=3, dt=0.1)
    n = net.create("iaf_psc_alpha", 4, {"I_e": 300.0})
    vm = net.create("voltmeter", params={"interval": 1.0})
    net.connect(vm, n[1:3])
    sim = net.build(partitions=2)
    sim.run(20.0)
    v = sim.voltages(vm)
    assert list(v.columns) == ["sender", "time", "V_m"]
    assert sorted(v.sender.unique()) == [n.first + 1, n.first + 2]
    np.testing.assert_allclose(np.sort(v.time.unique()), np.arange(1.0, 20.5, 1.0))
    # constant input: V_m rises monotonically from E_L towards threshold before the first spike
    first = v[v.sender == n.first + 1].V_m.to_numpy()
    assert first[0] > -70.0 and np.all(np.diff(first[:5]) > 0)


def test_initial_state_distribution_is_partition_invariant():
    def run(p):
        net = dsnn.Network(seed=11, dt=0.1)
        n = net.create("iaf_psc_exp", 50, {"V_m": dsnn.random.uniform(min=-70.0, max=-56.0), "I_e": 150.0})
        vm = net.create("voltmeter", params={"interval": 0.1})
        net.connect(vm, n)
        sim = net.build(partitions=p)
        sim.run(0.1)
        return sim.voltages(vm).V_m.to_numpy()

    one, three = run(1), run(3)
    np.testing.assert_array_equal(one, three)
    assert one.std() > 2.0  # really drawn, not constant


def _three_pops():
    net = dsnn.Network(seed=4, dt=0.1)
    a = net.create("iaf_psc_exp", 30, {"I_e": 380.0})
    b = net.create("iaf_psc_exp", 20, {"I_e": 390.0})
    net.create("poisson_generator", params={"rate": 1000.0})  # devices are not placed
    c = net.create("iaf_psc_alpha", 25, {"I_e": 400.0})
    net.connect(a, c, {"rule": "fixed_indegree", "indegree": 5}, {"weight": 20.0, "delay": 1.0})
    net.connect(c, a, {"rule": "fixed_indegree", "indegree": 5}, {"weight": -20.0, "delay": 1.0})
    return net, a, b, c


def test_explicit_placement_of_populations():
    """Populations (or slices) per partition: the partition sizes follow, and the spikes do not change."""
    net, a, b, c = _three_pops()
    sr = net.create("spike_recorder")
    for p in (a, b, c):
        net.connect(p, sr)
    sim = net.build(partitions=[[a], [b, c[0:10]], [c[10:25]]])
    assert [p.n_local for p in sim.partitions] == [30, 30, 15]
    assert list(sim.partitions[1].local_gids) == list(b.gids) + list(c.gids)[:10]
    sim.run(100.0)
    ref = net.build(partitions=1)
    ref.run(100.0)
    assert len(ref.spikes(sr)) > 20
    assert sim.spikes(sr).equals(ref.spikes(sr))


@pytest.mark.parametrize("placement,error,match", [
    (lambda a, b, c: [[b], [a], [c]], ValueError, "order they were created"),
    (lambda a, b, c: [[a], [c]], ValueError, "order they were created"),
    (lambda a, b, c: [[a, b]], ValueError, r"covers 50 of the 75 neurons"),
    (lambda a, b, c: [[a], [b, b], [c]], ValueError, "order they were created"),
    (lambda a, b, c: [[a], [b, "c"]], TypeError, r"partitions\[1\] must be a population"),
    (lambda a, b, c: [[a], [], [b, c]], TypeError, r"partitions\[1\] must be a population"),
])
def test_bad_placement_is_refused(placement, error, match):
    net, a, b, c = _three_pops()
    with pytest.raises(error, match=match):
        net.build(partitions=placement(a, b, c))


def test_placement_of_a_device_or_another_network_is_refused():
    net, a, b, c = _three_pops()
    other, *_ = _three_pops()
    pg = [p for p in net.populations if p.model == "poisson_generator"][0]
    with pytest.raises(ValueError, match="not a neuron population of this network"):
        net.build(partitions=[[a, pg], [b, c]])
    with pytest.raises(ValueError, match="not a neuron population of this network"):
        net.build(partitions=[[other.populations[0]], [b, c]])


@pytest.mark.parametrize("partitions,exchange,threads", [(2, "p2p", 2), (5, "collective", 2), (5, "p2p", 3),
                                                         (3, "collective", 3)])
def test_threads_change_no_spike(brunel, reference, partitions, exchange, threads):
    """Partitions stepped by 1..P threads (each driving a block of them) give the reference spikes."""
    net = brunel.network(scale=0.2, seed=99)
    sim = net.build(partitions=partitions, exchange=exchange, threads=threads)
    assert sim.runner.threads == threads
    sim.run(500.0)
    assert sim.spikes(net.populations[-1]).equals(reference[0])


def test_default_threads_follow_the_work_per_interval():
    from dsnn.runners.in_process import THREADED_NEURON_STEPS, default_threads

    net = dsnn.Network(seed=1)
    net.create("iaf_psc_exp", 2 * THREADED_NEURON_STEPS)
    assert default_threads(dsnn.Decomposition.of(net, 2), 1) == 2  # 20k neuron-steps each: threads pay
    assert default_threads(dsnn.Decomposition.of(net, 4), 1) == 1  # 10k each: one thread
    assert default_threads(dsnn.Decomposition.of(net, 4), 2) == 2  # 10k neurons x 2 steps, 2 cores here
    assert default_threads(dsnn.Decomposition.of(net, 1), 100) == 1


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "2"])
def test_bad_threads_are_refused(threads):
    net = dsnn.Network(seed=1)
    net.create("iaf_psc_exp", 4)
    with pytest.raises(ValueError, match="threads must be a whole number >= 1"):
        net.build(partitions=2, threads=threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_failing_partition_ends_the_run_with_its_own_error(threads):
    """The other partitions stop at once (their channels to it close); the error names the partition
    that failed, not those that lost it; the simulation then refuses to run on."""
    net = dsnn.Network(seed=2)
    E = net.create("iaf_psc_exp", 30, {"I_e": 500.0})
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": 5}, {"weight": 10.0, "delay": 1.0})
    sim = net.build(partitions=3, exchange="collective", threads=threads, timeout=60.0)
    sim.run(5.0)
    part = sim.partitions[1]
    advance = part.advance

    def failing(n_steps, device=False):
        if part.step >= 100:
            raise FloatingPointError("neuron 17 diverged")
        return advance(n_steps, device)

    part.advance = failing
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"run: partition 1 failed: FloatingPointError: neuron 17 diverged"):
        sim.run(1000.0)
    assert time.monotonic() - t0 < 10.0  # not the 60 s receive timeout
    with pytest.raises(RuntimeError, match="partition .* failed earlier"):
        sim.run(1.0)


@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_delta", "izhikevich"])
def test_voltages_and_spikes_over_a_whole_run_do_not_depend_on_partitions(model):
    """Every kernel at once (Poisson, dc and spike_generator input, random weights and delays, both
    receptor signs), V_m of five neurons at every step for 200 ms in two runs: bit for bit the same on
    1, 2 and 3 partitions, either exchange, one or two threads."""
    from networks import mixed_network

    results = []
    for partitions, exchange, threads in [(1, "p2p", 1), (3, "collective", 2), (2, "p2p", 2), (3, "p2p", 1)]:
        net, sr, vm = mixed_network(model)
        sim = net.build(partitions=partitions, exchange=exchange, threads=threads)
        sim.run(120.0)
        sim.run(80.0)
        results.append((sim.spikes(sr), sim.voltages(vm)))
    spikes, voltages = results[0]
    assert len(spikes) > 100 and len(voltages) == 5 * 2000
    assert voltages["V_m"].std() > 1.0  # the recorded neurons move
    for other_spikes, other_voltages in results[1:]:
        assert other_spikes.equals(spikes)
        assert other_voltages.equals(voltages)


def test_one_thread_time_split_counts_each_partition_its_own_work(brunel):
    """With one thread stepping 6 partitions, each partition's update, deliver and exchange are spans of
    that thread's time that do not overlap, so they add up to no more than the run's wall time; the time a
    partition waits while the thread steps the others is its wait."""
    net = brunel.network(scale=0.2, seed=3)
    sim = net.build(partitions=6, threads=1)
    t0 = time.perf_counter()
    sim.run(200.0)
    wall = time.perf_counter() - t0
    timers = sim.timers
    busy = sum(t["update"] + t["deliver"] + t["exchange"] for t in timers)
    assert 0 < busy <= wall
    assert all(t["wait"] > 0 for t in timers)


def test_build_reports_its_time_and_the_part_spent_on_kernels(brunel):
    """Kernels are loaded during the build (warm-up on the partition's own arrays), so the run does not
    compile: compile_seconds is part of build_seconds, and the run adds nothing to the process's count."""
    from dsnn.support.jit import compile_seconds

    sim = brunel.network(scale=0.05, seed=3).build(partitions=2)
    assert 0.0 <= sim.compile_seconds <= sim.build_seconds
    before = compile_seconds()
    sim.run(50.0)
    assert sim.spike_count > 0 and compile_seconds() == before


@pytest.mark.parametrize("partitions", [1, 3])
def test_counted_synaptic_events_are_the_spikes_times_their_synapses(partitions):
    """The delivery's event count (the benchmarks' ns per event) is, over all partitions, every spike
    delivered times the synapses of its source: neuron spikes (out-degree from the synapse list) and the
    spike_generator's spikes."""
    from networks import mixed_network

    net, sr, _ = mixed_network()
    sim = net.build(partitions=partitions)
    sim.run(150.0)
    conns = sim.connections()
    out_degree = conns.groupby("source").size()
    spikes = sim.spikes(sr)
    expected = int(out_degree.reindex(spikes["sender"]).fillna(0).sum())
    sg = net.populations[-3]  # the spike_generator: 4 spikes, all before 150 ms
    assert sg.model == "spike_generator"
    expected += 4 * int(out_degree.get(sg.first, 0))
    counted = sum(c["synaptic_events"] for c in sim.counters())
    assert counted == expected > 0
    assert sum(c["poisson_inputs"] for c in sim.counters()) == 420  # one connection per neuron of A and B


def test_population_spike_counts_are_exact_however_often_they_are_read(monkeypatch):
    """Spikes are counted per population when the counters are read, and folded in every FOLD_EVERY
    intervals meanwhile (a long run nobody polls holds no more): the counts equal the recorded spikes per
    population either way."""
    from networks import mixed_network

    from dsnn.backends import partition

    monkeypatch.setattr(partition, "FOLD_EVERY", 3)  # fold often
    net, sr, _ = mixed_network()
    sim = net.build(partitions=2)
    sim.run(150.0)
    spikes = sim.spikes(sr)
    by_pop = {}
    for c in sim.counters():
        for pop, n in c["populations"].items():
            by_pop[pop] = by_pop.get(pop, 0) + n
    sender = spikes["sender"].to_numpy()
    for pop in (net.populations[0], net.populations[1]):  # A and B, both recorded whole
        assert by_pop[pop.index] == int(((sender >= pop.first) & (sender < pop.first + pop.n)).sum()) > 0
    part = sim.partitions[0]  # stepped alone, nobody reading its counters
    before = part.spike_count
    for _ in range(300):
        part.advance(part.interval)
    assert part.spike_count - before > 10 and len(part._uncounted) < 3
    assert sum(part.population_spikes().values()) == part.spike_count


@pytest.mark.parametrize("partitions", [1, 3])
def test_membrane_potentials_read_and_set_between_runs(partitions):
    """V_m read now equals the voltmeter's last sample; V_m set above threshold fires those neurons in
    the next step, and a run from a set V_m equals the run of a network that started there."""
    def network(v0):
        net = dsnn.Network(seed=4)
        E = net.create("iaf_psc_exp", 9, {"I_e": 300.0, "V_m": v0})
        vm = net.create("voltmeter", params={"interval": 0.1})
        sr = net.create("spike_recorder")
        net.connect(vm, E)
        net.connect(E, sr)
        return net, E, vm, sr

    net, E, vm, sr = network(-70.0)
    sim = net.build(partitions=partitions)
    sim.run(20.0)
    v = sim.voltages(vm)
    last = v[v["time"] == 20.0].sort_values("sender")["V_m"].to_numpy()
    np.testing.assert_array_equal(sim.membrane_potentials(E), last)
    sim.set_membrane_potentials(E[0:3], -50.0)  # above V_th = -55
    sim.set_membrane_potentials(E[3:], np.linspace(-69.0, -60.0, 6))
    np.testing.assert_array_equal(sim.membrane_potentials(E)[3:], np.linspace(-69.0, -60.0, 6))
    sim.run(0.1)
    fired = sim.spikes(sr)
    assert sorted(fired.loc[fired["time"] == 20.1, "sender"]) == [E.first, E.first + 1, E.first + 2]
    with pytest.raises(ValueError, match="not neurons"):
        sim.membrane_potentials([vm.first])
    # from a state with no input in flight and no refractoriness, setting V_m is starting there
    ref_net, E2, vm2, _ = network(-61.5)
    ref = ref_net.build(partitions=1)
    ref.run(10.0)
    net3, E3, vm3, _ = network(-70.0)
    sim3 = net3.build(partitions=partitions)
    sim3.set_membrane_potentials(E3, -61.5)
    sim3.run(10.0)
    assert sim3.voltages(vm3).equals(ref.voltages(vm2))
