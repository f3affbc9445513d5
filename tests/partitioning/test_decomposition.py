"""balanced_sizes: blocks of the neuron order with equal expected work, worked out by hand from the
documented per-neuron costs; the same spikes and weights on such blocks; what is refused."""

import numpy as np
import pytest

import dsnn
from dsnn.partitioning.decomposition import INPUT_WORK, NEURON_WORK, PLASTIC_WORK, neuron_work


def _network(plastic: bool, n_e: int = 800, n_i: int = 200):
    """E then I, fixed in-degrees of 40 from E (plastic onto E where asked) and 10 from I, one Poisson input
    per neuron: hpc_benchmark's layout in small."""
    net = dsnn.Network(seed=11)
    E = net.create("iaf_psc_alpha", n_e, {"tau_minus": 30.0, "V_m": dsnn.random.uniform(-70.0, -55.0)}, label="E")
    I = net.create("iaf_psc_alpha", n_i, {"V_m": dsnn.random.uniform(-70.0, -55.0)}, label="I")  # noqa: E741
    pg = net.create("poisson_generator", params={"rate": 9000.0})
    stdp = {"synapse_model": "stdp_pl_synapse_hom", "alpha": 0.0513, "lambda": 0.1, "mu": 0.4, "tau_plus": 15.0}
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": 40},
                {"weight": 20.0, "delay": 1.5, **(stdp if plastic else {})})
    net.connect(E, I, {"rule": "fixed_indegree", "indegree": 40}, {"weight": 20.0, "delay": 1.5})
    net.connect(I, E + I, {"rule": "fixed_indegree", "indegree": 10}, {"weight": -100.0, "delay": 1.5})
    net.connect(pg, E + I, syn_spec={"weight": 20.0, "delay": 1.5})
    sr = net.create("spike_recorder")
    net.connect(E + I, sr)
    return net, sr


def test_equal_costs_give_equal_blocks():
    net, _ = _network(plastic=False)
    assert dsnn.balanced_sizes(net, 2) == [500, 500]
    for P in (3, 7):
        sizes = dsnn.balanced_sizes(net, P)
        assert sum(sizes) == 1000 and max(sizes) - min(sizes) <= 1
    assert dsnn.balanced_sizes(net, 1) == [1000]


def test_plastic_targets_get_smaller_blocks_of_equal_work():
    net, _ = _network(plastic=True)
    e_work = NEURON_WORK + INPUT_WORK + 40 * PLASTIC_WORK + 10  # plastic from E, static from I
    i_work = NEURON_WORK + INPUT_WORK + 40 + 10
    assert neuron_work(net) == [(0, 800, e_work), (800, 1000, i_work)]
    half = (800 * e_work + 200 * i_work) / 2
    assert dsnn.balanced_sizes(net, 2) == [round(half / e_work), 1000 - round(half / e_work)]
    for P in (2, 3, 4, 7):  # each block's work within one neuron's of an equal share
        sizes = dsnn.balanced_sizes(net, P)
        assert sum(sizes) == 1000 and min(sizes) >= 1
        bounds = np.cumsum([0, *sizes])
        work = [min(b, 800) * e_work + max(b - 800, 0) * i_work for b in bounds]
        assert np.all(np.abs(np.diff(work) - work[-1] / P) <= e_work)


def test_one_neuron_each_at_least():
    net = dsnn.Network()
    a = net.create("iaf_psc_alpha", 3)
    b = net.create("iaf_psc_alpha", 3)
    net.connect(a, b, {"rule": "all_to_all"}, {"weight": 1.0, "delay": 1.0,
                                                "synapse_model": "stdp_synapse"})
    sizes = dsnn.balanced_sizes(net, 6)
    assert sizes == [1] * 6


@pytest.mark.parametrize("bad,error,words", [(0, ValueError, "between 1 and"), (1001, ValueError, "between 1 and"),
                                             (2.0, TypeError, "must be an int"), (True, TypeError, "must be an int")])
def test_bad_partitions_are_refused_by_name(bad, error, words):
    net, _ = _network(plastic=True)
    with pytest.raises(error, match=words) as info:
        dsnn.balanced_sizes(net, bad)
    assert "partitions" in str(info.value)


def test_balanced_blocks_give_the_same_spikes_and_weights():
    results = []
    for layout in ("one", "balanced"):
        net, sr = _network(plastic=True)
        proj = net.projections[0]
        sim = net.build(partitions=1 if layout == "one" else dsnn.balanced_sizes(net, 3))
        sim.run(200.0)
        results.append((sim.spikes(sr), sim.connections(proj)))
        sim.close()
    (s1, c1), (s2, c2) = results
    assert len(s1) > 500
    assert s1.equals(s2) and c1.equals(c2)
