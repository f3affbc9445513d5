"""Populations added together (``E + I``): NEST's NodeCollection semantics, and what is refused."""

import pytest

import dsnn

SIZES = (3, 2, 4, 5)


def _dsnn_nodes():
    net = dsnn.Network()
    return net, [net.create("iaf_psc_exp" if i % 2 else "iaf_psc_alpha", n) for i, n in enumerate(SIZES)]


def _gids(nodes) -> list:
    return list(nodes.gids)


@pytest.mark.parametrize("expr", [
    lambda p: p[2] + p[0],
    lambda p: p[0] + p[1] + p[2],
    lambda p: p[3] + p[1] + p[0],
    lambda p: (p[0] + p[2])[1:6],
    lambda p: (p[3] + p[0] + p[2])[2],
    lambda p: (p[0] + p[1] + p[2] + p[3])[2:11],
    lambda p: p[0][0:2] + p[0][2],
    lambda p: p[1][1] + p[3][1:4] + p[0][0],
    lambda p: sum([p[2], p[0]]),
], ids=["c+a", "a+b+c", "d+b+a", "slice", "index", "slice-all", "rejoined", "pieces", "sum"])
def test_concatenation_gives_nests_node_ids(nest, expr):
    """The same expression on NEST's NodeCollections and on dsnn's populations gives the same node
    ids in the same order (sorted, whatever the order of the parts)."""
    nest.ResetKernel()
    theirs = [nest.Create("iaf_psc_alpha" if i % 2 == 0 else "iaf_psc_exp", n) for i, n in enumerate(SIZES)]
    _, ours = _dsnn_nodes()
    want = expr(theirs).tolist()
    got = expr(ours)
    assert _gids(got) == want
    assert len(got) == len(want)


def test_pieces_of_one_population_that_meet_are_that_population():
    net, (a, b, c, d) = _dsnn_nodes()
    assert (a[0:2] + a[2]) is a
    assert isinstance(a[0:1] + a[2], dsnn.Collection)
    both = b + a
    assert isinstance(both, dsnn.Collection) and both.pieces == (a, b) and both.n == 5


@pytest.mark.parametrize("expr, match", [
    (lambda p: p[0] + p[0], "overlapping"),
    (lambda p: (p[0] + p[1]) + p[1][1], "overlapping"),
    (lambda p: p[0][0:2] + p[0][1:3], "overlapping"),
])
def test_overlapping_parts_are_refused_as_nest_refuses_them(nest, expr, match):
    nest.ResetKernel()
    theirs = [nest.Create("iaf_psc_alpha", n) for n in SIZES]
    with pytest.raises(Exception, match="overlapping"):
        expr(theirs)
    _, ours = _dsnn_nodes()
    with pytest.raises(ValueError, match=match):
        expr(ours)


def test_bad_additions_say_what_is_wrong():
    net, (a, b, c, d) = _dsnn_nodes()
    other = dsnn.Network().create("iaf_psc_exp", 2)
    with pytest.raises(TypeError, match="only populations concatenate"):
        a + 1
    with pytest.raises(ValueError, match="different networks"):
        a + other
    with pytest.raises(ValueError, match="step"):
        (a + c)[::2]
    with pytest.raises(IndexError):
        (a + c)[7]
    with pytest.raises(ValueError, match="empty"):
        (a + c)[4:2]


def test_connect_refuses_mixed_kinds_and_recorders_added():
    net = dsnn.Network()
    E = net.create("iaf_psc_exp", 10)
    pg = net.create("poisson_generator", params={"rate": 10.0})
    sr1, sr2 = net.create("spike_recorder"), net.create("spike_recorder")
    n_before = len(net.projections)
    with pytest.raises(ValueError, match=r"pre mixes kinds of node \(neuron, poisson\)"):
        net.connect(E + pg, E)
    with pytest.raises(ValueError, match="post must be one recorder"):
        net.connect(E, sr1 + sr2)
    assert len(net.projections) == n_before  # nothing half-added


def test_rule_sizes_are_those_of_the_whole_collection():
    """The checks of a rule count every node of a collection, and the nodes both sides share."""
    net = dsnn.Network()
    A = net.create("iaf_psc_exp", 3)
    net.create("iaf_psc_exp", 4)
    C = net.create("iaf_psc_exp", 2)
    with pytest.raises(ValueError, match="one_to_one needs pre and post of equal size, got 5 and 3"):
        net.connect(A + C, A, "one_to_one")
    # 5 sources, each target one of them: 4 distinct others at most
    with pytest.raises(ValueError, match="indegree <= 4"):
        net.connect(A + C, A + C, {"rule": "fixed_indegree", "indegree": 5, "allow_autapses": False,
                                   "allow_multapses": False})
    net.connect(A + C, A + C, {"rule": "fixed_indegree", "indegree": 4, "allow_autapses": False,
                               "allow_multapses": False})


def test_a_placement_may_name_collections():
    """partitions=[A + B, C]: A and B on partition 0; out of creation order is refused."""
    net = dsnn.Network()
    A = net.create("iaf_psc_exp", 3)
    B = net.create("iaf_psc_exp", 4)
    C = net.create("iaf_psc_exp", 2)
    sim = net.build(partitions=[A + B, [C]])
    assert [p.local_gids.tolist() for p in sim.partitions] == [[1, 2, 3, 4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="order they were created"):
        net.build(partitions=[A + C, B])
