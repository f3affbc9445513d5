"""The public names of ``import dsnn`` (docs/architecture.md, the README): each resolves, the lazy ones to
the module or object that owns them."""

from __future__ import annotations

import dsnn


def test_every_public_name_resolves():
    for name in dsnn.__all__:
        assert getattr(dsnn, name) is not None, name
    assert set(dsnn.__all__) <= set(dir(dsnn))


def test_lazy_names_are_their_owners():
    from dsnn.launch.cluster import local_cluster
    from dsnn.models import MODELS
    from dsnn.partitioning import Decomposition
    from dsnn.runners.simulation import Simulation
    from dsnn.views import dashboard, plot, results

    assert dsnn.Simulation is Simulation and dsnn.Decomposition is Decomposition
    assert dsnn.local_cluster is local_cluster and dsnn.MODELS is MODELS
    assert dsnn.results is results and dsnn.plot is plot and dsnn.dashboard is dashboard
    assert dsnn.load_run is results.load_run and dsnn.save_run is results.save_run


def test_a_built_network_is_a_simulation_and_unknown_names_fail_clearly():
    net = dsnn.Network(seed=1)
    net.create("iaf_psc_exp", 2)
    assert isinstance(net.build(), dsnn.Simulation)
    try:
        dsnn.no_such_thing
    except AttributeError as exc:
        assert "no attribute 'no_such_thing'" in str(exc)
    else:
        raise AssertionError("dsnn.no_such_thing resolved")
