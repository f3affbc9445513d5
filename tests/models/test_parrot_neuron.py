"""parrot_neuron against NEST 3.10: it repeats what arrives, with its multiplicity, whatever the weights."""

import numpy as np
import pytest

import dsnn

T = 60.0

# spike_generator trains onto the parrots (times, weight, delay): coincident arrivals give multiplicities
INPUTS = [([1.0, 3.0, 3.0, 10.0, 22.5], -50.0, 1.0),  # a weight below zero still counts one spike
          ([1.0, 5.0, 10.0, 22.5, 40.0], 3.0, 1.0),
          ([2.0, 9.5, 21.0], 700.0, 1.5)]  # arrives at 11.0 with both others, at 22.5 with the first


def _simulator(seed, nest=None):
    """(network or None, create, connect) of dsnn (``nest`` None) or of a reset NEST kernel (dt 0.1 ms)."""
    if nest is None:
        net = dsnn.Network(seed=seed, dt=0.1)
        return net, net.create, net.connect
    nest.ResetKernel()
    nest.resolution = 0.1
    nest.rng_seed = seed
    return None, nest.Create, nest.Connect


def _run(partitions, nest=None):
    """The same network in dsnn (``nest`` None) or NEST: spike generators -> 2 parrots -> an iaf_psc_exp
    neuron (weight 120 pA, delay 1 ms); the parrots' spikes, the neuron's spikes and V_m."""
    net, create, connect = _simulator(1, nest)
    parrots = create("parrot_neuron", 2)
    n = create("iaf_psc_exp", 1, {"V_th": -69.0, "V_reset": -70.0, "t_ref": 0.5})
    for times, w, d in INPUTS:
        sg = create("spike_generator", 1, {"spike_times": times})
        connect(sg, parrots, syn_spec={"weight": w, "delay": d})
    connect(parrots[:1], n, syn_spec={"weight": 120.0, "delay": 1.0})
    sr_p, sr_n = create("spike_recorder"), create("spike_recorder")
    vm = create("voltmeter", 1, {"interval": 0.1})
    connect(parrots, sr_p)
    connect(n, sr_n)
    connect(vm, n)
    if nest is None:
        sim = net.build(partitions=partitions)
        sim.run(T)
        p, s, v = sim.spikes(sr_p), sim.spikes(sr_n), sim.voltages(vm)
        v = v.sort_values("time")
        return (sorted(zip(p.sender - parrots.first, p.time.round(4))), s.time.round(4).tolist(),
                dict(zip(v.time.round(4), v.V_m)))
    nest.Simulate(T)
    ep, es, ev = sr_p.events, sr_n.events, vm.events
    return (sorted(zip(np.asarray(ep["senders"]) - parrots[0].global_id, np.round(ep["times"], 4))),
            sorted(np.round(es["times"], 4).tolist()), dict(zip(np.round(ev["times"], 4), ev["V_m"])))


@pytest.mark.parametrize("partitions", [1, 2])
def test_parrots_repeat_spikes_with_their_multiplicity_as_nest(nest, partitions):
    """Identical spike times (each repeated spike a row, as NEST's recorder writes multiplicities) from the
    parrots and from the neuron they drive, and its V_m within 1e-12 mV, on 1 and 2 partitions."""
    got_p, got_n, got_v = _run(partitions)
    want_p, want_n, want_v = _run(None, nest)
    assert [t for _, t in want_p].count(11.0) == 6  # three trains arriving at once, on both parrots
    assert got_p == [(int(s), float(t)) for s, t in want_p]
    assert got_n == want_n and len(want_n) > 3
    assert len(want_v) > 500  # NEST's voltmeter lags by one min-delay slice: compare its samples
    np.testing.assert_allclose([got_v[t] for t in want_v], list(want_v.values()), rtol=0, atol=1e-12)


def _poisson_relay(rate, n_targets, partitions=1, nest=None, T=2000.0):
    """A poisson_generator -> one parrot -> ``n_targets`` parrots: the spikes of all of them."""
    net, create, connect = _simulator(3, nest)
    pg = create("poisson_generator", 1, {"rate": rate})
    source = create("parrot_neuron", 1)
    relays = create("parrot_neuron", n_targets)
    sr = create("spike_recorder")
    connect(pg, source, syn_spec={"weight": 1.0, "delay": 0.1})
    connect(source, relays, syn_spec={"weight": 1.0, "delay": 0.7})
    connect(source + relays, sr)
    if nest is None:
        sim = net.build(partitions=partitions)
        sim.run(T)
        s = sim.spikes(sr)
        return s.sender.to_numpy() - source.first, s.time.to_numpy()
    nest.Simulate(T)
    return np.asarray(sr.events["senders"]) - source[0].global_id, np.asarray(sr.events["times"])


def test_a_poisson_train_repeated_by_parrots_is_the_same_everywhere_and_as_nest_s_statistics(nest):
    """A 2,000 spikes/s Poisson train (0.2 spikes per step: coincident spikes are common) through a parrot to
    5 parrots: every relay repeats the source's train exactly, 0.7 ms later, on 1 and 3 partitions; its
    count and its steps with two or more spikes agree with NEST's within 5 standard deviations."""
    runs = [_poisson_relay(2000.0, 5, P) for P in (1, 3)]
    for (a_s, a_t), (b_s, b_t) in zip(runs, runs[1:]):
        np.testing.assert_array_equal(np.sort(a_s * 10**7 + np.round(a_t * 10)),
                                      np.sort(b_s * 10**7 + np.round(b_t * 10)))
    senders, times = runs[0]
    src = np.sort(times[senders == 0])
    src = src[src + 0.7 <= 2000.0 + 1e-9]  # what the relays repeated within the run
    for r in range(1, 6):
        np.testing.assert_allclose(np.sort(times[senders == r]), src + 0.7, atol=1e-9)

    def stats(s, t):
        steps, counts = np.unique(np.round(t[s == 0] * 10).astype(int), return_counts=True)
        return counts.sum(), (counts >= 2).sum()

    n, multi = stats(*runs[0])
    n_nest, multi_nest = stats(*_poisson_relay(2000.0, 5, nest=nest))
    lam = 2000.0 * 1e-4
    steps = 2000.0 / 0.1
    p_multi = 1 - np.exp(-lam) * (1 + lam)
    for count, expected, sd in ((n, lam * steps, np.sqrt(lam * steps)),
                                (multi, p_multi * steps, np.sqrt(p_multi * steps))):
        assert abs(count - expected) < 5 * sd
    assert abs(n - n_nest) < 5 * np.sqrt(2 * lam * steps)
    assert abs(multi - multi_nest) < 5 * np.sqrt(2 * p_multi * steps)


def test_what_a_parrot_does_not_take_is_refused():
    net = dsnn.Network()
    parrots = net.create("parrot_neuron", 3)
    E = net.create("iaf_psc_exp", 3)
    with pytest.raises(ValueError, match="takes no current"):
        net.connect(net.create("dc_generator", params={"amplitude": 10.0}), parrots)
    with pytest.raises(ValueError, match="no membrane potential to record"):
        net.connect(net.create("voltmeter"), parrots)
    with pytest.raises(ValueError, match="stdp_synapse onto it is not supported"):
        net.connect(E, parrots, syn_spec={"synapse_model": "stdp_synapse"})
    with pytest.raises(ValueError, match="mixes parrot_neuron with other neurons"):
        net.connect(E, parrots + E)
    with pytest.raises(ValueError, match="unknown parameter|V_m"):
        net.create("parrot_neuron", 1, {"V_m": -70.0})
    net.connect(E, parrots, syn_spec={"weight": -30.0})
    assert net.projections[-1].weight == 1.0  # NEST ignores weights onto parrots: each spike counts one
    sim = net.build()
    with pytest.raises(ValueError, match="a parrot_neuron has no membrane potential"):
        sim.membrane_potentials(parrots)
    with pytest.raises(ValueError, match="a parrot_neuron has no membrane potential"):
        sim.membrane_potentials([parrots.first])
