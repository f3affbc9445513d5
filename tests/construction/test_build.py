"""Construction: what a partition keeps, the construction peak, and the packing of wide delays."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dsnn


def _wide_delays(seed=4):
    """fixed_total_number with normal weights and delays over 0.1-60 ms: 24-bit synapse words."""
    net = dsnn.Network(seed=seed, dt=0.1)
    E = net.create("iaf_psc_exp", 2400, {"I_e": 380.0})
    I = net.create("iaf_psc_exp", 600, {"I_e": 380.0})
    sr = net.create("spike_recorder")
    delay = dsnn.math.redraw(dsnn.random.uniform(min=0.1, max=60.0), min=0.1)
    net.connect(E, E, {"rule": "fixed_total_number", "N": 120_000},
                {"weight": dsnn.math.redraw(dsnn.random.normal(mean=20.0, std=4.0), min=0.0), "delay": delay})
    net.connect(I, E, {"rule": "fixed_indegree", "indegree": 40},
                {"weight": dsnn.math.redraw(dsnn.random.normal(mean=-80.0, std=8.0), max=0.0), "delay": delay})
    net.connect(I, I, {"rule": "pairwise_bernoulli", "p": 0.05}, {"weight": -60.0, "delay": 0.7})
    net.connect(E, sr)
    net.connect(I, sr)
    return net, sr


def test_24_bit_words_are_partition_invariant():
    """Targets and delays wider than 16 bits: same synapses and spikes on 1 and 3 partitions."""
    net, sr = _wide_delays()
    one = net.build(partitions=1)
    words = {g.packed.dtype.str + ("+8" if g.packed_hi.shape[0] else "") for g in one.partitions[0].groups}
    assert "<u2+8" in words  # the 24-bit layout is the one under test
    one.run(200.0)
    three = net.build(partitions=[1000, 1500, 500])
    three.run(200.0)
    assert three.connections().equals(one.connections())
    spikes = one.spikes(sr)
    assert len(spikes) > 1000
    assert three.spikes(sr).equals(spikes)
    conns = one.connections()
    assert conns.delay.max() > 30.0 and conns.delay.min() >= 0.1


def _held(net) -> float:
    sim = net.build(partitions=2)
    return sim.memory()["bytes_per_synapse"]


def test_bytes_per_synapse_homogeneous_and_per_synapse_weights():
    """<= 5 bytes per synapse with one weight per projection, <= 8 with a float32 weight per synapse.

    Everything the partitions keep counts (rings, neuron state, Poisson
    input), at a cortical in-degree (2,000).
    """
    def network(weight, delay):
        net = dsnn.Network(seed=1)
        E = net.create("iaf_psc_exp", 3000)
        pg = net.create("poisson_generator", params={"rate": 8000.0})
        net.connect(E, E, {"rule": "fixed_indegree", "indegree": 2000}, {"weight": weight, "delay": delay})
        net.connect(pg, E, syn_spec={"weight": 20.0})
        return net

    assert _held(network(20.0, 1.5)) <= 5.0
    normal_w = dsnn.math.redraw(dsnn.random.normal(mean=20.0, std=2.0), min=0.0)
    normal_d = dsnn.math.redraw(dsnn.random.normal(mean=1.5, std=0.75), min=0.1)
    assert _held(network(normal_w, normal_d)) <= 8.0


PEAK = textwrap.dedent("""
    import json, sys
    import dsnn
    def status_mb(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) / 1024 for l in f if l.startswith(field + ":"))
    def network(n):
        net = dsnn.Network(seed=5)
        E = net.create("iaf_psc_exp", n)
        d = dsnn.math.redraw(dsnn.random.normal(mean=1.5, std=0.75), min=0.1)
        net.connect(E, E, {"rule": "fixed_total_number", "N": 25 * n * n // 100},
                    {"weight": dsnn.math.redraw(dsnn.random.normal(mean=20.0, std=2.0), min=0.0), "delay": d})
        net.connect(E, E, {"rule": "fixed_indegree", "indegree": n // 4, "allow_multapses": False},
                    {"weight": dsnn.math.redraw(dsnn.random.normal(mean=-80.0, std=8.0), max=0.0), "delay": d})
        return net
    network(50).build()  # compile the kernels before measuring
    net = network(8000)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS: the compilation's peak is not the build's
    before = status_mb("VmRSS")
    sim = net.build()
    peak = status_mb("VmHWM")
    held = sum(v for k, v in sim.memory().items() if k != "bytes_per_synapse") / 2**20
    print(json.dumps({"peak_mb": peak - before, "held_mb": held, "synapses": sim.n_synapses}))
""")


def test_construction_peak_is_within_half_of_what_is_kept():
    """Synapses are drawn twice (count, fill) a chunk at a time, never held as lists (32M synapses)."""
    out = subprocess.run([sys.executable, "-c", PEAK], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["synapses"] == 32_000_000
    assert r["held_mb"] / r["synapses"] * 2**20 <= 8.0
    assert r["peak_mb"] <= 1.5 * r["held_mb"], r


def _mixed_rules(plastic: bool = False):
    net = dsnn.Network(seed=8, dt=0.1)
    E = net.create("iaf_psc_exp", 1500)
    I = net.create("iaf_psc_alpha", 500)
    pg = net.create("poisson_generator", params={"rate": 5000.0})
    normal = dsnn.math.redraw(dsnn.random.normal(mean=20.0, std=5.0), min=0.0, max=40.0)
    delay = dsnn.math.redraw(dsnn.random.normal(mean=1.5, std=0.5), min=0.5, max=3.0)
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": 300}, {"weight": 20.0, "delay": 1.5})
    net.connect(E, I, {"rule": "fixed_total_number", "N": 200_000}, {"weight": normal, "delay": delay})
    net.connect(I, E, {"rule": "pairwise_bernoulli", "p": 0.1}, {"weight": -60.0, "delay": delay})
    net.connect(I, I, {"rule": "all_to_all"}, {"weight": -5.0, "delay": 0.8})
    net.connect(E[:500], I, {"rule": "one_to_one"}, {"weight": normal})
    net.connect(I, E, {"rule": "fixed_outdegree", "outdegree": 200, "allow_multapses": False}, {"weight": -30.0})
    net.connect(pg, E, syn_spec={"weight": 20.0})
    if plastic:
        net.connect(E, E, {"rule": "fixed_indegree", "indegree": 200},
                    {"synapse_model": "stdp_synapse", "weight": 10.0, "delay": 2.0})
        net.connect(E, I, {"rule": "pairwise_bernoulli", "p": 0.1},
                    {"synapse_model": "tsodyks2_synapse", "weight": normal, "delay": delay})
    return net


@pytest.mark.parametrize("partitions, plastic", [(1, False), (3, False), (3, True)])
def test_memory_estimate_matches_what_is_built(partitions, plastic):
    """Expected synapses within 2% (random rules) and bytes within 10% of the built partitions."""
    net = _mixed_rules(plastic)
    est = net.memory_estimate(partitions)
    sim = net.build(partitions=partitions)
    assert len(est) == len(sim.partitions) == partitions
    for e, part in zip(est, sim.partitions):
        assert e["synapses"] == pytest.approx(part.n_synapses, rel=0.02)
        held = sum(part.nbytes().values())
        assert e["bytes"] == pytest.approx(held, rel=0.10)


def test_network_too_big_for_this_process_is_refused_with_the_estimate(monkeypatch):
    """2e10 synapses (~140 GB) on a host with 64 GiB available (patched: the same on any machine)."""
    monkeypatch.setattr("dsnn.construction.estimate.host_available_bytes", lambda: 64.0 * 2**30)
    net = dsnn.Network(seed=1)
    E = net.create("iaf_psc_exp", 2_000_000)
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": 10_000},
                {"weight": dsnn.random.normal(mean=20.0, std=2.0)})
    with pytest.raises(MemoryError, match=r"needs an estimated 1[0-9]{2}\.[0-9]+ GiB on this process "
                                          r"\(partition 0: 2e\+10 synapses at 7\.0 bytes each.* more than the "
                                          r"64\.00 GiB it has"):
        net.build()
    est = net.memory_estimate(4)
    assert len(est) == 4 and sum(e["synapses"] for e in est) == 2e10


@pytest.mark.parametrize("how", ["never kept", "dropped part way"])
def test_synapses_kept_from_the_first_pass_are_the_synapses_drawn_again(monkeypatch, how):
    """Where memory allows, the count pass keeps its chunks for the fill pass instead of drawing them again:
    the same rows, weights and delays as drawing twice (never keeping; keeping until the budget runs out
    part way through a projection), plastic and static, on 1 and 2 partitions."""
    from dsnn.construction import build, estimate

    net = _mixed_rules(plastic=True)
    for partitions in (1, 2):
        kept = net.build(partitions=partitions)
        if how == "never kept":
            monkeypatch.setattr(build, "KEEP_PARTITION_SHARE", 0.0)
        else:  # every projection starts keeping and stops once it holds ~1% of the partition's size (~90 kB)
            monkeypatch.setattr(estimate, "expected_synapses", lambda proj, pieces: 1.0)
            monkeypatch.setattr(build, "KEEP_PARTITION_SHARE", 0.01)
        drawn = net.build(partitions=partitions)
        monkeypatch.undo()
        for a, b in zip(kept.partitions, drawn.partitions):
            assert len(a.groups) == len(b.groups)
            for ga, gb in zip(a.groups, b.groups):
                for name in ("row_ptr", "packed", "packed_hi", "weights"):
                    x, y = getattr(ga, name), getattr(gb, name)
                    assert (x is None) == (y is None)
                    if x is not None:
                        np.testing.assert_array_equal(x, y)
                assert (ga.shift, ga.dmask, ga.d0, ga.wfix) == (gb.shift, gb.dmask, gb.d0, gb.wfix)
