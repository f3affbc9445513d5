"""Projections from and onto populations added together (``E + I``).

A rule draws over a collection as over one group of nodes indexed in gid
order (NEST's NodeCollection). So connecting ``A + C`` where other nodes lie
between A and C must give the synapses that ``A + C`` gives where A and C are
adjacent (one run of gids, the path every single population takes), with C's
gids moved: the networks below differ only in creation order. (Rules keyed
by the target's gid are compared with the collection on the source side
only: moving a target moves its draws.)
"""

import numpy as np
import pandas as pd
import pytest

import dsnn

SIZES = {"S": 75, "A": 40, "X": 25, "C": 35, "T": 75}
W = dsnn.random.normal(mean=50.0, std=10.0)
D = dsnn.math.redraw(dsnn.random.uniform(min=0.5, max=3.0), min=0.5)


def _network(order: str):
    """Populations S, A, X, C, T created in ``order`` (S first and T last, so their gids never move)."""
    net = dsnn.Network(seed=21, dt=0.1)
    pops = {name: net.create("iaf_psc_exp", SIZES[name], label=name) for name in order}
    return net, pops


def _connections(net, partitions) -> pd.DataFrame:
    sim = net.build(partitions=partitions)
    return sim.connections()


def _moved(frame: pd.DataFrame, net_from, pops_from, pops_to) -> pd.DataFrame:
    """``frame``'s gids in the other network: each population's gids moved to where it is there."""
    shift = np.zeros(net_from.n_nodes + 1, dtype=np.int64)
    for name, pop in pops_from.items():
        shift[pop.first:pop.first + pop.n] = pops_to[name].first - pop.first
    out = frame.copy()
    for col in ("source", "target"):
        out[col] = out[col].to_numpy() + shift[out[col].to_numpy()]
    return out.sort_values(["source", "target", "delay", "weight"]).reset_index(drop=True)


CASES = [
    pytest.param("pre", {"rule": "fixed_indegree", "indegree": 7}, id="indegree"),
    pytest.param("pre", {"rule": "fixed_indegree", "indegree": 7, "allow_multapses": False}, id="indegree-distinct"),
    pytest.param("pre", {"rule": "pairwise_bernoulli", "p": 0.3}, id="bernoulli-pre"),
    pytest.param("pre", {"rule": "all_to_all"}, id="all_to_all"),
    pytest.param("pre", {"rule": "one_to_one"}, id="one_to_one-pre"),
    pytest.param("pre", {"rule": "fixed_total_number", "N": 900}, id="total-pre"),
    pytest.param("post", {"rule": "fixed_total_number", "N": 900}, id="total-post"),
    pytest.param("post", {"rule": "fixed_outdegree", "outdegree": 6}, id="outdegree"),
    pytest.param("post", {"rule": "fixed_outdegree", "outdegree": 6, "allow_multapses": False},
                 id="outdegree-distinct"),
]


@pytest.mark.parametrize("side, conn", CASES)
@pytest.mark.parametrize("syn", [{"weight": 20.0, "delay": 1.0}, {"weight": W, "delay": D}], ids=["fixed", "random"])
def test_a_collection_with_a_gap_draws_what_the_adjacent_one_draws(side, conn, syn):
    """A + C with X between them (3 partitions) against A + C adjacent (1 partition): equal synapses,
    weights and delays, C's gids moved."""
    net1, p1 = _network("SAXCT")
    net2, p2 = _network("SACXT")
    for net, p in ((net1, p1), (net2, p2)):
        both = p["A"] + p["C"]
        if side == "pre":
            net.connect(both, p["T"], conn, syn)
        else:
            net.connect(p["S"], both, conn, syn)
    got = _moved(_connections(net1, 3), net1, p1, p2)
    want = _moved(_connections(net2, 1), net2, p2, p2)
    assert len(want) > 0
    pd.testing.assert_frame_equal(got, want)
    # every synapse runs between the populations asked for
    ends = got["source"] if side == "pre" else got["target"]
    a, c = p2["A"], p2["C"]
    assert ((ends >= a.first) & (ends < c.first + c.n)).all()


@pytest.mark.parametrize("conn", [
    {"rule": "fixed_indegree", "indegree": 9, "allow_autapses": False},
    {"rule": "fixed_indegree", "indegree": 9, "allow_autapses": False, "allow_multapses": False},
    {"rule": "fixed_outdegree", "outdegree": 9, "allow_autapses": False},
    {"rule": "pairwise_bernoulli", "p": 0.5, "allow_autapses": False},
    {"rule": "all_to_all", "allow_autapses": False},
    {"rule": "fixed_total_number", "N": 3000, "allow_autapses": False},
], ids=lambda c: c["rule"] + ("-distinct" if c.get("allow_multapses") is False else ""))
def test_a_collection_onto_itself_keeps_the_rule(conn):
    """A + C onto A + C: no autapses, every end in A or C, and the rule's count per target, per source
    or in all."""
    net, p = _network("SAXCT")
    both = p["A"] + p["C"]
    net.connect(both, both, conn, {"weight": 10.0, "delay": 1.0})
    syn = _connections(net, 2)
    members = np.r_[p["A"].first:p["A"].first + p["A"].n, p["C"].first:p["C"].first + p["C"].n]
    assert np.isin(syn["source"], members).all() and np.isin(syn["target"], members).all()
    assert not (syn["source"] == syn["target"]).any()
    n = len(members)
    if conn["rule"] == "fixed_indegree":
        assert (syn.groupby("target").size().reindex(members, fill_value=0) == 9).all()
        if conn.get("allow_multapses") is False:
            assert not syn.duplicated(["source", "target"]).any()
    elif conn["rule"] == "fixed_outdegree":
        assert (syn.groupby("source").size().reindex(members, fill_value=0) == 9).all()
    elif conn["rule"] == "all_to_all":
        assert len(syn) == n * (n - 1)
    elif conn["rule"] == "fixed_total_number":
        assert len(syn) == 3000
    else:  # p = 0.5 over n (n - 1) pairs: within 5 sigma
        assert abs(len(syn) - 0.5 * n * (n - 1)) < 5 * np.sqrt(0.25 * n * (n - 1))


def _spiking_network(split: bool):
    """E and I driven by Poisson input and a dc current; as two populations added (``split``) or as one
    population of both sizes."""
    net = dsnn.Network(seed=5, dt=0.1)
    params = {"V_m": dsnn.random.uniform(-70.0, -55.0)}
    if split:
        E = net.create("iaf_psc_exp", 160, params, label="E")
        I = net.create("iaf_psc_exp", 40, params, label="I")  # noqa: E741
        nodes = E + I
    else:
        nodes = net.create("iaf_psc_exp", 200, params, label="EI")
    pg = net.create("poisson_generator", params={"rate": 9000.0})
    dc = net.create("dc_generator", params={"amplitude": 60.0, "start": 30.0})
    sr = net.create("spike_recorder")
    vm = net.create("voltmeter", params={"interval": 0.5})
    net.connect(nodes, nodes, {"rule": "fixed_indegree", "indegree": 20},
                {"weight": 40.0, "delay": dsnn.random.uniform(min=1.0, max=2.5)})
    net.connect(nodes[150:200], nodes, {"rule": "pairwise_bernoulli", "p": 0.1}, {"weight": -120.0, "delay": 1.2})
    net.connect(pg, nodes, syn_spec={"weight": 60.0, "delay": 1.0})
    net.connect(dc, nodes[100:180], syn_spec={"weight": 1.0, "delay": 1.0})
    net.connect(nodes, sr)
    net.connect(vm, nodes[155:165])
    return net, sr, vm


@pytest.mark.parametrize("partitions, exchange", [(1, "p2p"), (3, "p2p"), (4, "collective")])
def test_adjacent_populations_added_are_one_population(partitions, exchange):
    """E + I (adjacent) connected, driven, recorded and sliced as a whole gives the spikes and V_m of
    one population of both sizes, on any partitioning (the slices 150:200 and 155:165 straddle E and I)."""
    runs = []
    for split in (True, False):
        net, sr, vm = _spiking_network(split)
        sim = net.build(partitions=partitions if split else 1, exchange=exchange)
        sim.run(120.0)
        runs.append((sim.spikes(sr), sim.voltages(vm)))
    (s1, v1), (s2, v2) = runs
    assert len(s2) > 100
    pd.testing.assert_frame_equal(s1[["sender", "time"]], s2[["sender", "time"]])
    pd.testing.assert_frame_equal(v1, v2)


def test_recording_a_collection_records_each_population():
    """connect(A + C, sr) records what two recorders on A and on C record; the rates name A and C."""
    net = dsnn.Network(seed=3)
    A = net.create("iaf_psc_exp", 30, {"I_e": 400.0}, label="A")
    net.create("iaf_psc_exp", 10, {"I_e": 400.0}, label="X")
    C = net.create("iaf_psc_exp", 20, {"I_e": 420.0}, label="C")
    both, only_a, only_c = (net.create("spike_recorder") for _ in range(3))
    net.connect(A + C, both)
    net.connect(A, only_a)
    net.connect(C, only_c)
    vm = net.create("voltmeter", params={"interval": 1.0})
    net.connect(vm, C[18:] + A[:2])
    sim = net.build(partitions=2)
    sim.run(100.0)
    got = sim.spikes(both)
    want = pd.concat([sim.spikes(only_a), sim.spikes(only_c)]).sort_values(["time", "sender"])
    assert len(got) > 0
    np.testing.assert_array_equal(got[["sender", "time"]].to_numpy(), want[["sender", "time"]].to_numpy())
    assert set(sim.voltages(vm)["sender"]) == {A.first, A.first + 1, C.first + 18, C.first + 19}
    from dsnn.views.results import population_rates

    rates = population_rates(sim.spikes(), net, sim.time)
    assert set(rates) == {"A", "C"} and rates["C"] > 0


def _driven(connect_together: bool, rates=(0.0, 0.0), amplitudes=(50.0, 120.0)):
    """V_m of 50 neurons driven by two poisson_generators and two dc_generators."""
    net = dsnn.Network(seed=9)
    E = net.create("iaf_psc_exp", 50)
    pgs = [net.create("poisson_generator", params={"rate": r}) for r in rates]
    dcs = [net.create("dc_generator", params={"amplitude": a}) for a in amplitudes]
    vm = net.create("voltmeter", params={"interval": 1.0})
    for group, syn in ((pgs, {"weight": 30.0, "delay": 1.0}), (dcs, {"weight": 1.0, "delay": 1.0})):
        if connect_together:
            net.connect(group[0] + group[1], E, syn_spec=syn)
        else:
            for g in group:
                net.connect(g, E, syn_spec=syn)
    net.connect(vm, E)
    sim = net.build(partitions=2)
    sim.run(50.0)
    return sim.voltages(vm)["V_m"].to_numpy()


def test_generators_added_drive_each_with_its_own_parameters():
    """dc1 + dc2 give each connection its own generator's amplitude (V_m exactly as connecting each
    alone: fixed-point sums), and pg1 + pg2 its own generator's rate (a silent one adds nothing)."""
    np.testing.assert_array_equal(_driven(True), _driven(False))
    quiet = _driven(True, amplitudes=(0.0, 0.0))
    assert (quiet == -70.0).all()  # E_L: neither generator drives
    for rates in ((0.0, 8000.0), (8000.0, 0.0)):
        v = _driven(True, rates, amplitudes=(0.0, 0.0))
        assert v.max() > -69.0, rates
