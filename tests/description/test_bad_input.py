"""Argument validation: every bad input is rejected, at once, naming what is wrong.

Each bad-input case asserts ``ValueError``/``TypeError`` with a message that
names the offending parameter, and that a rejected ``create``/``connect``
leaves the network as it was ("nothing half-built"). Valid edge cases are
checked to be accepted, with a property of what was built.

"""

from __future__ import annotations

import math

import numpy as np
import pytest

import dsnn

NAN = float("nan")
INF = float("inf")

ERRORS = (ValueError, TypeError)


# --------------------------------------------------------------------- helpers
def small_net(n: int = 5, dt: float = 0.1):
    """A network with one small neuron population and one of every device."""
    net = dsnn.Network(seed=12345, dt=dt)
    pops = {
        "E": net.create("iaf_psc_exp", n, label="E"),
        "pg": net.create("poisson_generator", params={"rate": 8000.0}),
        "dc": net.create("dc_generator", params={"amplitude": 100.0}),
        "sg": net.create("spike_generator", params={"spike_times": [1.0, 2.0]}),
        "sr": net.create("spike_recorder"),
        "vm": net.create("voltmeter", params={"interval": 0.1}),
    }
    return net, pops


def snapshot(net):
    return len(net.populations), len(net.projections), net.n_nodes


# ====================================================================== Network
@pytest.mark.parametrize("kwargs, match", [
    pytest.param({"dt": 0}, r"\bdt\b", id="dt=0"),
    pytest.param({"dt": 0.0}, r"\bdt\b", id="dt=0.0"),
    pytest.param({"dt": -0.1}, r"\bdt\b", id="dt=-0.1"),
    pytest.param({"dt": 1e-7}, r"\bdt\b", id="dt=1e-7 (below 1 us)"),
    pytest.param({"dt": 0.00015}, r"\bdt\b", id="dt=0.15 us (not whole us)"),
    pytest.param({"dt": NAN}, r"\bdt\b", id="dt=nan"),
    pytest.param({"dt": INF}, r"\bdt\b", id="dt=inf"),
    pytest.param({"dt": "0.1"}, r"\bdt\b", id="dt=str"),
    pytest.param({"dt": True}, r"\bdt\b", id="dt=bool"),
    pytest.param({"dt": None}, r"\bdt\b", id="dt=None"),
    pytest.param({"seed": -1}, r"\bseed\b", id="seed=-1"),
    pytest.param({"seed": "x"}, r"\bseed\b", id="seed=str"),
    pytest.param({"seed": 1.5}, r"\bseed\b", id="seed=float"),
    pytest.param({"seed": True}, r"\bseed\b", id="seed=bool"),
    pytest.param({"seed": None}, r"\bseed\b", id="seed=None"),
    pytest.param({"seed": 2**63}, r"\bseed\b", id="seed=2**63"),
])
def test_network_rejects(kwargs, match):
    with pytest.raises(ERRORS, match=match):
        dsnn.Network(**kwargs)


@pytest.mark.parametrize("kwargs", [
    {"seed": 0}, {"seed": 2**63 - 1}, {"seed": np.int64(7)}, {"dt": 1.0}, {"dt": 0.001}, {"dt": 1},
    {"dt": np.float64(0.25)},
])
def test_network_accepts_edges(kwargs):
    net = dsnn.Network(**kwargs)
    assert isinstance(net.dt, float) and net.dt > 0


# ======================================================================= create
CREATE_BAD = [
    # model
    pytest.param("hh_psc_alpha", 1, None, r"\bmodel\b", id="unknown model"),
    pytest.param("IAF_PSC_EXP", 1, None, r"\bmodel\b", id="model wrong case"),
    pytest.param(None, 1, None, r"\bmodel\b", id="model=None"),
    # n
    pytest.param("iaf_psc_exp", 0, None, r"\bn\b", id="n=0"),
    pytest.param("iaf_psc_exp", -3, None, r"\bn\b", id="n<0"),
    pytest.param("iaf_psc_exp", 2.5, None, r"\bn\b", id="n float"),
    pytest.param("iaf_psc_exp", 2.0, None, r"\bn\b", id="n whole float"),
    pytest.param("iaf_psc_exp", True, None, r"\bn\b", id="n bool"),
    pytest.param("iaf_psc_exp", "3", None, r"\bn\b", id="n str"),
    pytest.param("iaf_psc_exp", None, None, r"\bn\b", id="n None"),
    pytest.param("spike_recorder", 2, None, r"\bn\b.*spike_recorder", id="spike_recorder n=2"),
    pytest.param("voltmeter", 2, None, r"\bn\b.*voltmeter", id="voltmeter n=2"),
    # params container / unknown names
    pytest.param("iaf_psc_exp", 1, [("tau_m", 10.0)], r"\bparams\b", id="params not a dict"),
    pytest.param("iaf_psc_exp", 1, {"tau_x": 10.0}, r"tau_x", id="unknown parameter"),
    pytest.param("iaf_psc_exp", 1, {"V_min": -80.0}, r"V_min", id="iaf_psc_alpha-only param on exp"),
    pytest.param("poisson_generator", 1, {"amplitude": 1.0}, r"amplitude", id="dc param on poisson"),
    # time constants and capacitance
    *[pytest.param("iaf_psc_exp", 1, {name: v}, rf"\b{name}\b", id=f"{name}={v}")
      for name in ("tau_m", "C_m", "tau_syn_ex", "tau_syn_in")
      for v in (-1.0, 0.0, NAN, INF)],
    pytest.param("iaf_psc_alpha", 1, {"tau_m": -INF}, r"\btau_m\b", id="alpha tau_m=-inf"),
    pytest.param("iaf_psc_alpha", 1, {"tau_syn_ex": 0.0}, r"\btau_syn_ex\b", id="alpha tau_syn_ex=0"),
    # refractory period
    pytest.param("iaf_psc_exp", 1, {"t_ref": -0.1}, r"\bt_ref\b", id="t_ref<0"),
    pytest.param("iaf_psc_exp", 1, {"t_ref": NAN}, r"\bt_ref\b", id="t_ref=nan"),
    pytest.param("iaf_psc_exp", 1, {"t_ref": INF}, r"\bt_ref\b", id="t_ref=inf"),
    # voltages
    pytest.param("iaf_psc_exp", 1, {"V_reset": -55.0}, r"V_reset.*V_th", id="V_reset == V_th"),
    pytest.param("iaf_psc_exp", 1, {"V_reset": -50.0}, r"V_reset.*V_th", id="V_reset > V_th"),
    pytest.param("iaf_psc_exp", 1, {"V_th": -80.0}, r"V_reset.*V_th", id="V_th below default V_reset"),
    pytest.param("iaf_psc_alpha", 1, {"V_reset": -40.0, "V_th": -50.0}, r"V_reset.*V_th", id="alpha V_reset>V_th"),
    pytest.param("iaf_psc_alpha", 1, {"V_min": -60.0}, r"\bV_min\b", id="alpha V_min > V_reset"),
    pytest.param("iaf_psc_alpha", 1, {"V_min": NAN}, r"\bV_min\b", id="alpha V_min=nan"),
    pytest.param("iaf_psc_alpha", 1, {"V_min": INF}, r"\bV_min\b", id="alpha V_min=+inf"),
    pytest.param("iaf_psc_exp", 1, {"V_th": NAN}, r"\bV_th\b", id="V_th=nan"),
    pytest.param("iaf_psc_exp", 1, {"E_L": INF}, r"\bE_L\b", id="E_L=inf"),
    pytest.param("iaf_psc_exp", 1, {"I_e": NAN}, r"\bI_e\b", id="I_e=nan"),
    pytest.param("iaf_psc_exp", 1, {"V_m": NAN}, r"\bV_m\b", id="V_m=nan"),
    pytest.param("iaf_psc_exp", 1, {"I_syn_ex": -INF}, r"\bI_syn_ex\b", id="I_syn_ex=-inf"),
    # non-number values
    pytest.param("iaf_psc_exp", 1, {"tau_m": "10"}, r"\btau_m\b", id="tau_m str"),
    pytest.param("iaf_psc_exp", 1, {"tau_m": True}, r"\btau_m\b", id="tau_m bool"),
    pytest.param("iaf_psc_exp", 1, {"C_m": None}, r"\bC_m\b", id="C_m None"),
    pytest.param("iaf_psc_exp", 1, {"V_th": [-55.0]}, r"\bV_th\b", id="V_th list"),
    pytest.param("iaf_psc_exp", 1, {"V_m": "rest"}, r"\bV_m\b", id="V_m str"),
    pytest.param("iaf_psc_exp", 1, {"tau_m": dsnn.random.uniform(min=5.0, max=10.0)}, r"\btau_m\b",
                 id="distribution for non-state tau_m"),
    pytest.param("iaf_psc_exp", 1, {"V_m": {"distribution": "gauss", "mu": -65.0}}, r"\bV_m\b.*distribution",
                 id="V_m unknown NEST-2 distribution"),
    pytest.param("iaf_psc_exp", 1, {"V_m": {"distribution": "normal", "mu": -65.0, "width": 1.0}}, r"width",
                 id="V_m NEST-2 unknown key"),
    # label
    pytest.param("iaf_psc_exp", 1, None, r"\blabel\b", id="label int"),
    # generators
    pytest.param("poisson_generator", 1, {"rate": -1.0}, r"\brate\b", id="rate<0"),
    pytest.param("poisson_generator", 1, {"rate": NAN}, r"\brate\b", id="rate=nan"),
    pytest.param("poisson_generator", 1, {"rate": INF}, r"\brate\b", id="rate=inf"),
    pytest.param("poisson_generator", 1, {"rate": "fast"}, r"\brate\b", id="rate str"),
    pytest.param("dc_generator", 1, {"amplitude": NAN}, r"\bamplitude\b", id="amplitude=nan"),
    pytest.param("poisson_generator", 1, {"start": -1.0}, r"\bstart\b", id="start<0"),
    pytest.param("poisson_generator", 1, {"start": 5.0, "stop": 1.0}, r"\bstop\b.*\bstart\b", id="stop<start"),
    pytest.param("poisson_generator", 1, {"start": 0.15}, r"\bstart\b.*dt", id="start off grid"),
    pytest.param("spike_recorder", 1, {"stop": 0.15}, r"\bstop\b.*dt", id="stop off grid"),
    pytest.param("dc_generator", 1, {"origin": 0.05}, r"\borigin\b.*dt", id="origin off grid"),
    pytest.param("dc_generator", 1, {"origin": INF}, r"\borigin\b", id="origin=inf"),
    pytest.param("spike_recorder", 1, {"stop": NAN}, r"\bstop\b", id="stop=nan"),
    # spike_generator
    pytest.param("spike_generator", 1, {"spike_times": [0.15]}, r"spike_times.*dt", id="spike_times off grid"),
    pytest.param("spike_generator", 1, {"spike_times": [0.0]}, r"spike_times", id="spike_times=0"),
    pytest.param("spike_generator", 1, {"spike_times": [-1.0]}, r"spike_times", id="spike_times<0"),
    pytest.param("spike_generator", 1, {"spike_times": [2.0, 1.0]}, r"spike_times.*sorted", id="spike_times unsorted"),
    pytest.param("spike_generator", 1, {"spike_times": [NAN]}, r"spike_times", id="spike_times nan"),
    pytest.param("spike_generator", 1, {"spike_times": [INF]}, r"spike_times", id="spike_times inf"),
    pytest.param("spike_generator", 1, {"spike_times": "abc"}, r"spike_times", id="spike_times str"),
    pytest.param("spike_generator", 1, {"spike_times": 1.0}, r"spike_times", id="spike_times scalar"),
    pytest.param("spike_generator", 1, {"spike_times": [1.0, "x"]}, r"spike_times", id="spike_times with str"),
    pytest.param("spike_generator", 1, {"spike_times": [True]}, r"spike_times",
                 id="spike_times bool"),
    pytest.param("spike_generator", 1, {"spike_times": [1.0, 2.0], "spike_multiplicities": [1]},
                 r"spike_multiplicities", id="multiplicities too short"),
    pytest.param("spike_generator", 1, {"spike_multiplicities": [1, 2]}, r"spike_multiplicities",
                 id="multiplicities without times"),
    pytest.param("spike_generator", 1, {"spike_times": [1.0], "spike_multiplicities": [-1]},
                 r"spike_multiplicities", id="multiplicity<0"),
    pytest.param("spike_generator", 1, {"spike_times": [1.0], "spike_multiplicities": [1.5]},
                 r"spike_multiplicities", id="multiplicity float"),
    pytest.param("spike_generator", 1, {"spike_times": [1.0], "spike_multiplicities": [True]},
                 r"spike_multiplicities", id="multiplicity bool"),
    pytest.param("spike_generator", 1, {"spike_times": [1.0], "spike_multiplicities": 3},
                 r"spike_multiplicities", id="multiplicities scalar"),
    # voltmeter
    pytest.param("voltmeter", 1, {"interval": 0.05}, r"\binterval\b", id="interval below dt"),
    pytest.param("voltmeter", 1, {"interval": 0.15}, r"\binterval\b.*dt", id="interval off grid"),
    pytest.param("voltmeter", 1, {"interval": 0.0}, r"\binterval\b", id="interval=0"),
    pytest.param("voltmeter", 1, {"interval": -1.0}, r"\binterval\b", id="interval<0"),
    pytest.param("voltmeter", 1, {"interval": NAN}, r"\binterval\b", id="interval=nan"),
    pytest.param("voltmeter", 1, {"interval": INF}, r"\binterval\b", id="interval=inf"),
]


@pytest.mark.parametrize("model, n, params, match", CREATE_BAD)
def test_create_rejects_and_builds_nothing(request, model, n, params, match):
    net, pops = small_net()
    before = snapshot(net)
    label = 3 if request.node.callspec.id == "label int" else None
    with pytest.raises(ERRORS, match=match):
        net.create(model, n, params, label=label)
    assert snapshot(net) == before
    # the next population continues exactly as if the failed call never happened
    nxt = net.create("iaf_psc_exp", 3)
    assert nxt.index == before[0]
    assert nxt.first == before[2] + 1
    assert list(nxt.gids) == [before[2] + 1, before[2] + 2, before[2] + 3]


def test_failed_create_keeps_gids_contiguous():
    net = dsnn.Network(seed=1)
    a = net.create("iaf_psc_exp", 4)
    for bad in ({"tau_m": -1.0}, {"nope": 1.0}, {"V_reset": 0.0}):
        with pytest.raises(ERRORS):
            net.create("iaf_psc_exp", 10, bad)
    with pytest.raises(ERRORS):
        net.create("spike_recorder", 2)
    with pytest.raises(ERRORS):
        net.create("iaf_psc_exp", 0)
    b = net.create("iaf_psc_alpha", 2)
    assert len(net.populations) == 2
    assert (a.first, b.first, b.index) == (1, 5, 1)
    assert net.n_nodes == 6 and net.n_neurons == 6


def test_create_does_not_mutate_params():
    net = dsnn.Network()
    params = {"tau_m": 20.0, "V_reset": -50.0}  # V_reset >= V_th: rejected
    with pytest.raises(ValueError, match="V_reset"):
        net.create("iaf_psc_exp", 2, params)
    assert params == {"tau_m": 20.0, "V_reset": -50.0}


@pytest.mark.parametrize("model, n, params, check", [
    ("iaf_psc_exp", 1, {"t_ref": 0.0}, lambda p: p.params["t_ref"] == 0.0),
    ("iaf_psc_exp", 2, {"V_reset": -55.0001}, lambda p: p.params["V_reset"] < p.params["V_th"]),
    ("iaf_psc_exp", np.int64(3), {"tau_m": np.float32(20.0)}, lambda p: p.n == 3 and p.params["tau_m"] == 20.0),
    ("iaf_psc_exp", 2, {"tau_m": 2.0, "tau_syn_ex": 2.0}, lambda p: p.params["tau_syn_ex"] == 2.0),
    ("iaf_psc_exp", 4, {"V_m": dsnn.random.uniform(min=-70.0, max=-60.0)},
     lambda p: isinstance(p.params["V_m"], dsnn.Distribution)),
    ("iaf_psc_exp", 4, {"V_m": {"distribution": "normal_clipped", "mu": -65.0, "sigma": 2.0, "high": -56.0}},
     lambda p: p.params["V_m"].bound == "redraw"),
    ("iaf_psc_alpha", 1, {"V_min": -70.0}, lambda p: p.params["V_min"] == p.params["V_reset"]),
    ("voltmeter", 1, {"interval": 0.1}, lambda p: p.params["interval"] == 0.1),
    ("spike_recorder", 1, {"start": 1.0, "stop": 1.0}, lambda p: p.params["stop"] == 1.0),
    ("spike_generator", 1, {"spike_times": [0.1, 0.1, 2.0], "spike_multiplicities": [0, 2, 1]},
     lambda p: p.params["spike_times"] == (0.1, 0.1, 2.0) and p.params["spike_multiplicities"] == (0, 2, 1)),
    ("spike_generator", 1, {"spike_times": np.array([0.5, 1.0])}, lambda p: p.params["spike_times"] == (0.5, 1.0)),
    ("poisson_generator", 1, {"rate": 0.0, "stop": INF}, lambda p: p.params["rate"] == 0.0),
])
def test_create_accepts_edges(model, n, params, check):
    net = dsnn.Network()
    pop = net.create(model, n, params)
    assert check(pop)


# ====================================================================== connect
def _pair(pops, pre, post):
    E = pops["E"]
    views = {"E": E, "E[0:3]": E[0:3], "E[0:2]": E[0:2], "E[0:1]": E[0:1]}
    return views.get(pre, pops.get(pre)), views.get(post, pops.get(post))


CONN_SPEC_BAD = [  # (pre, post, conn_spec, match); E has 5 neurons
    pytest.param("E", "E", {"rule": "fixed_degree"}, r"\brule\b", id="unknown rule"),
    pytest.param("E", "E", "one_to_all", r"\brule\b", id="unknown rule as string"),
    pytest.param("E", "E", {"rule": None}, r"\brule\b", id="rule None"),
    pytest.param("E", "E", {"rule": ["all_to_all"]}, r"\brule\b", id="rule unhashable"),
    pytest.param("E", "E", 5, r"conn_spec", id="conn_spec not a dict"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": 2, "weight": 1.0}, r"weight",
                 id="unknown conn_spec key (weight)"),
    pytest.param("E", "E", {"rule": "all_to_all", "indegree": 2}, r"indegree", id="key of another rule"),
    pytest.param("E", "E", {"rule": "fixed_indegree"}, r"indegree", id="missing indegree"),
    pytest.param("E", "E", {"rule": "fixed_outdegree"}, r"outdegree", id="missing outdegree"),
    pytest.param("E", "E", {"rule": "fixed_total_number"}, r"\bN\b", id="missing N"),
    pytest.param("E", "E", {"rule": "pairwise_bernoulli"}, r"\bp\b", id="missing p"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": -1}, r"indegree", id="indegree<0"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": 2.5}, r"indegree", id="indegree=2.5"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": "2"}, r"indegree", id="indegree str"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": True}, r"indegree", id="indegree bool"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": None}, r"indegree", id="indegree None"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": NAN}, r"indegree", id="indegree nan"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": INF}, r"indegree", id="indegree inf"),
    pytest.param("E", "E", {"rule": "fixed_outdegree", "outdegree": INF}, r"outdegree", id="outdegree inf"),
    pytest.param("E", "E", {"rule": "fixed_total_number", "N": INF}, r"\bN\b", id="N inf"),
    pytest.param("E", "E", {"rule": "fixed_outdegree", "outdegree": -2}, r"outdegree", id="outdegree<0"),
    pytest.param("E", "E", {"rule": "fixed_total_number", "N": 3.5}, r"\bN\b", id="N=3.5"),
    pytest.param("E[0:3]", "E", {"rule": "fixed_indegree", "indegree": 4, "allow_multapses": False},
                 r"indegree", id="indegree > sources without multapses"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": 5, "allow_multapses": False,
                            "allow_autapses": False}, r"indegree", id="indegree = n without multapses/autapses"),
    pytest.param("E", "E[0:3]", {"rule": "fixed_outdegree", "outdegree": 4, "allow_multapses": False},
                 r"outdegree", id="outdegree > targets without multapses"),
    pytest.param("E[0:1]", "E[0:1]", {"rule": "fixed_indegree", "indegree": 1, "allow_autapses": False},
                 r"indegree", id="indegree from only itself without autapses"),
    pytest.param("E[0:1]", "E[0:2]", {"rule": "fixed_indegree", "indegree": 1, "allow_autapses": False},
                 r"indegree|autapses", id="indegree partial overlap: a target with only itself as source"),
    pytest.param("E[0:2]", "E[0:1]", {"rule": "fixed_outdegree", "outdegree": 1, "allow_autapses": False},
                 r"outdegree|autapses", id="outdegree partial overlap: a source with only itself as target"),
    pytest.param("E", "E", {"rule": "fixed_total_number", "N": 3, "allow_multapses": False},
                 r"allow_multapses", id="fixed_total_number without multapses"),
    pytest.param("E[0:1]", "E[0:1]", {"rule": "fixed_total_number", "N": 1, "allow_autapses": False},
                 r"allow_autapses", id="fixed_total_number self-only without autapses"),
    pytest.param("E", "E", {"rule": "pairwise_bernoulli", "p": 1.5}, r"\bp\b", id="p>1"),
    pytest.param("E", "E", {"rule": "pairwise_bernoulli", "p": -0.1}, r"\bp\b", id="p<0"),
    pytest.param("E", "E", {"rule": "pairwise_bernoulli", "p": NAN}, r"\bp\b", id="p nan"),
    pytest.param("E", "E", {"rule": "pairwise_bernoulli", "p": "0.5"}, r"\bp\b", id="p str"),
    pytest.param("E", "E", {"rule": "all_to_all", "allow_autapses": "no"}, r"allow_autapses", id="autapses str"),
    pytest.param("E", "E", {"rule": "all_to_all", "allow_autapses": 0}, r"allow_autapses", id="autapses int"),
    pytest.param("E", "E", {"rule": "fixed_indegree", "indegree": 1, "allow_multapses": None},
                 r"allow_multapses", id="multapses None"),
    pytest.param("E", "E[0:3]", {"rule": "one_to_one"}, r"one_to_one", id="one_to_one unequal sizes"),
    pytest.param("pg", "E", "one_to_one", r"one_to_one", id="one_to_one generator to 5 neurons"),
    # recorders
    pytest.param("E", "sr", {"rule": "fixed_indegree", "indegree": 1}, r"all_to_all", id="recorder non all_to_all"),
    pytest.param("vm", "E", {"rule": "pairwise_bernoulli", "p": 0.5}, r"all_to_all", id="voltmeter non all_to_all"),
]


@pytest.mark.parametrize("pre, post, conn_spec, match", CONN_SPEC_BAD)
def test_connect_conn_spec_rejects_and_builds_nothing(pre, post, conn_spec, match):
    net, pops = small_net()
    a, b = _pair(pops, pre, post)
    before = snapshot(net)
    with pytest.raises(ERRORS, match=match):
        net.connect(a, b, conn_spec, {"weight": 10.0, "delay": 1.0} if pre not in ("vm",) and post != "sr" else None)
    assert snapshot(net) == before


SYN_SPEC_BAD = [
    pytest.param({"delay": 0.05}, r"\bdelay\b.*dt", id="delay below dt"),
    pytest.param({"delay": 0.0}, r"\bdelay\b", id="delay=0"),
    pytest.param({"delay": -1.0}, r"\bdelay\b", id="delay<0"),
    pytest.param({"delay": 0.15}, r"\bdelay\b.*multiple", id="delay off grid (0.15, dt 0.1)"),
    pytest.param({"delay": 1.05}, r"\bdelay\b.*multiple", id="delay off grid (1.05)"),
    pytest.param({"delay": NAN}, r"\bdelay\b", id="delay nan"),
    pytest.param({"delay": INF}, r"\bdelay\b", id="delay inf"),
    pytest.param({"delay": "1.0"}, r"\bdelay\b", id="delay str"),
    pytest.param({"delay": True}, r"\bdelay\b", id="delay bool"),
    pytest.param({"delay": dsnn.random.normal(mean=1.5, std=0.1)}, r"\bdelay\b", id="delay normal unbounded"),
    pytest.param({"delay": dsnn.random.uniform(min=0.05, max=2.0)}, r"\bdelay\b", id="delay uniform min<dt"),
    pytest.param({"delay": dsnn.random.exponential(beta=1.0)}, r"\bdelay\b", id="delay exponential from 0"),
    pytest.param({"delay": dsnn.random.lognormal(mean=0.0, std=0.5)}, r"\bdelay\b", id="delay lognormal from 0"),
    pytest.param({"delay": dsnn.math.clip(dsnn.random.normal(mean=1.0, std=1.0), min=0.05)}, r"\bdelay\b",
                 id="delay clipped at 0.05"),
    pytest.param({"delay": dsnn.math.redraw(dsnn.random.normal(mean=1.0, std=1.0), max=3.0)}, r"\bdelay\b",
                 id="delay redraw without min"),
    pytest.param({"delay": {"distribution": "normal_clipped", "mu": 1.5, "sigma": 0.5, "low": 0.0}},
                 r"\bdelay\b", id="delay NEST-2 normal_clipped low=0"),
    pytest.param({"weight": NAN}, r"\bweight\b", id="weight nan"),
    pytest.param({"weight": INF}, r"\bweight\b", id="weight inf"),
    pytest.param({"weight": -INF}, r"\bweight\b", id="weight -inf"),
    pytest.param({"weight": "54.96"}, r"\bweight\b", id="weight str"),
    pytest.param({"weight": True}, r"\bweight\b", id="weight bool"),
    pytest.param({"weight": None}, r"\bweight\b", id="weight None"),
    pytest.param({"weight": [1.0, 2.0]}, r"\bweight\b", id="weight list"),
    pytest.param({"weight": 2.0**31}, r"\bweight\b", id="weight 2**31"),
    pytest.param({"weight": -3e9}, r"\bweight\b", id="weight -3e9"),
    pytest.param({"weight": dsnn.random.uniform(min=3e9, max=3.0001e9)}, r"\bweight\b",
                 id="weight distribution beyond 2**31"),
    pytest.param({"weight": {"distribution": "gauss"}}, r"\bweight\b.*distribution", id="weight NEST-2 unknown dist"),
    pytest.param({"weight": {"distribution": "normal", "mu": 1.0, "sd": 1.0}}, r"\bsd\b", id="weight NEST-2 bad key"),
    pytest.param({"weight": {"distribution": "normal", "mu": 1.0, "sigma": -1.0}}, r"\bsigma\b|\bstd\b",
                 id="weight NEST-2 sigma<0"),
    pytest.param({"weight": {"distribution": "normal_clipped", "mu": 0.0, "sigma": 1.0, "low": 5.0, "high": 4.0}},
                 r"\bmin\b|\blow\b", id="weight NEST-2 low>high"),
    pytest.param({"weight": {"distribution": "exponential", "lambda": 0.0}}, r"\blambda\b", id="weight lambda=0"),
    pytest.param({"weight": {"distribution": "normal", "mu": 1.0}}, r"'normal' needs 'sigma'", id="weight no sigma"),
    pytest.param({"weight": {"distribution": "lognormal_clipped", "low": 0.0}}, r"needs 'mu' and 'sigma'",
                 id="weight lognormal without parameters"),
    pytest.param({"weight": {"distribution": "uniform", "low": 0.0}}, r"'uniform' needs 'high'",
                 id="weight uniform no high"),
    pytest.param({"weight": {"distribution": "uniform_clipped", "low": 0.0, "high": 1.0}}, r"distribution",
                 id="weight NEST-2 uniform_clipped"),
    pytest.param({"wieght": 1.0}, r"wieght", id="unknown syn_spec key"),
    pytest.param({"synapse_model": "stdp_synapse", "weight": -5.0}, r"Wmax", id="stdp weight of the other sign"),
    pytest.param({"synapse_model": "stdp_synapse", "tau_plus": -1.0}, r"tau_plus", id="stdp tau_plus < 0"),
    pytest.param({"synapse_model": "stdp_synapse", "Wmax": 0.0}, r"Wmax", id="stdp Wmax 0"),
    pytest.param({"synapse_model": "stdp_synapse", "lambda": "a"}, r"lambda", id="stdp lambda str"),
    pytest.param({"synapse_model": "stdp_synapse", "tau_minus": 20.0}, r"tau_minus", id="stdp tau_minus (neuron's)"),
    pytest.param({"synapse_model": "stdp_synapse", "weight": dsnn.random.normal(mean=1.0, std=1.0)}, r"Wmax",
                 id="stdp weights that may change sign"),
    pytest.param("tsodyks_synapse", r"synapse_model", id="syn_spec string other model"),
    pytest.param({"receptor_type": 1}, r"receptor_type", id="receptor_type=1"),
    pytest.param({"receptor_type": "0"}, r"receptor_type", id="receptor_type str"),
    pytest.param([("weight", 1.0)], r"syn_spec", id="syn_spec not a dict"),
]


@pytest.mark.parametrize("syn_spec, match", SYN_SPEC_BAD)
@pytest.mark.parametrize("pre", ["E", "sg"])
def test_connect_syn_spec_rejects_and_builds_nothing(pre, syn_spec, match):
    net, pops = small_net()
    before = snapshot(net)
    with pytest.raises(ERRORS, match=match):
        net.connect(pops[pre], pops["E"], {"rule": "fixed_indegree", "indegree": 2}, syn_spec)
    assert snapshot(net) == before


WIRING_BAD = [  # (pre, post, syn_spec, match)
    pytest.param("pg", "sr", None, r"spike_recorder.*device.*poisson_generator", id="record spikes of a generator"),
    pytest.param("sg", "sr", None, r"spike_recorder.*device.*spike_generator", id="record spikes of spike_gen"),
    pytest.param("vm", "pg", None, r"voltmeter.*device.*poisson_generator", id="voltmeter on a generator"),
    pytest.param("vm", "sr", None, r"spike_recorder", id="voltmeter to spike_recorder"),
    pytest.param("sr", "E", None, r"pre=spike_recorder", id="spike_recorder as pre"),
    pytest.param("E", "vm", None, r"post=voltmeter", id="voltmeter as post"),
    pytest.param("E", "pg", {"weight": 1.0}, r"\bpost\b.*poisson_generator", id="neurons to a generator"),
    pytest.param("pg", "dc", None, r"\bpost\b.*dc_generator", id="generator to generator"),
    pytest.param("sg", "sg", None, r"\bpost\b.*spike_generator", id="spike_gen to itself"),
    pytest.param("E", "sr", {"weight": 2.0}, r"syn_spec", id="syn_spec on a recorder connection"),
    pytest.param("vm", "E", {"delay": 1.0}, r"syn_spec", id="syn_spec on a voltmeter connection"),
]


@pytest.mark.parametrize("pre, post, syn_spec, match", WIRING_BAD)
def test_connect_wiring_rejects_and_builds_nothing(pre, post, syn_spec, match):
    net, pops = small_net()
    before = snapshot(net)
    with pytest.raises(ERRORS, match=match):
        net.connect(pops[pre], pops[post], None, syn_spec)
    assert snapshot(net) == before


@pytest.mark.parametrize("which, make, match", [
    pytest.param("pre", lambda other, E: (other, E), r"\bpre\b.*another Network", id="pre from another Network"),
    pytest.param("post", lambda other, E: (E, other), r"\bpost\b.*another Network", id="post from another Network"),
    pytest.param("pre", lambda other, E: (other[0:2], E), r"\bpre\b.*another Network", id="view of another Network"),
    pytest.param("pre", lambda other, E: ("E", E), r"\bpre\b.*Population", id="pre a string"),
    pytest.param("pre", lambda other, E: (list(E.gids), E), r"\bpre\b.*Population", id="pre a gid list"),
    pytest.param("post", lambda other, E: (E, None), r"\bpost\b.*Population", id="post None"),
])
def test_connect_foreign_or_non_population(which, make, match):
    net, pops = small_net()
    other = dsnn.Network(seed=12345).create("iaf_psc_exp", 5)
    pre, post = make(other, pops["E"])
    before = snapshot(net)
    with pytest.raises(ERRORS, match=match):
        net.connect(pre, post)
    assert snapshot(net) == before
    assert len(other.network.projections) == 0


def test_failed_connects_leave_projection_indices_contiguous():
    net, pops = small_net()
    E = pops["E"]
    p0 = net.connect(E, E, {"rule": "fixed_indegree", "indegree": 2}, {"weight": 1.0, "delay": 1.0})
    bad = [
        ({"rule": "fixed_indegree", "indegree": -1}, None),
        ({"rule": "fixed_indegree", "indegree": 2}, {"delay": 0.15}),
        ({"rule": "fixed_indegree", "indegree": 2}, {"weight": NAN}),
        ({"rule": "nope"}, None),
        (None, {"synapse_model": "stdp_synapse", "Wmax": -1.0}),
    ]
    for conn_spec, syn_spec in bad:
        with pytest.raises(ERRORS):
            net.connect(E, E, conn_spec, syn_spec)
        assert len(net.projections) == 1
    with pytest.raises(ERRORS):
        net.connect(pops["pg"], pops["sr"])
    p1 = net.connect(pops["pg"], E, syn_spec={"weight": 5.0, "delay": 1.0})
    assert (p0.index, p1.index) == (0, 1)
    assert [p.index for p in net.projections] == [0, 1]
    # and the network still builds and runs with exactly the accepted projections
    sim = net.build()
    conns = sim.connections()
    assert len(conns) == 5 * 2
    sim.run(1.0)


# ==================================================== valid connect edge cases
def _build_conns(n, conn_spec, syn_spec=None, pre=slice(None), post=slice(None), dt=0.1):
    net = dsnn.Network(seed=7, dt=dt)
    E = net.create("iaf_psc_exp", n)
    proj = net.connect(E[pre], E[post], conn_spec, syn_spec)
    sim = net.build(partitions=2 if n > 1 else 1)
    return E, sim.connections(proj)


def test_delay_exactly_dt_accepted():
    _, c = _build_conns(3, "all_to_all", {"weight": 2.0, "delay": 0.1})
    assert len(c) == 9 and np.allclose(c.delay, 0.1)


def test_delay_exactly_dt_accepted_fine_dt():
    _, c = _build_conns(2, "all_to_all", {"delay": 0.001}, dt=0.001)
    assert len(c) == 4 and np.allclose(c.delay, 0.001)


def test_delay_distribution_bounded_at_dt_accepted():
    d = dsnn.math.redraw(dsnn.random.normal(mean=0.3, std=0.5), min=0.1, max=2.0)
    _, c = _build_conns(6, {"rule": "fixed_indegree", "indegree": 5}, {"delay": d})
    assert len(c) == 30
    assert (c.delay >= 0.1 - 1e-12).all() and (c.delay <= 2.0 + 1e-12).all()
    assert np.allclose(np.round(c.delay / 0.1) * 0.1, c.delay)


def test_delay_uniform_from_dt_and_clip_at_dt_accepted():
    _, c = _build_conns(4, "all_to_all", {"delay": dsnn.random.uniform(min=0.1, max=0.5)})
    assert len(c) == 16 and (c.delay >= 0.1 - 1e-12).all()
    _, c = _build_conns(4, "all_to_all", {"delay": dsnn.math.clip(dsnn.random.normal(mean=0.1, std=1.0), min=0.1)})
    assert len(c) == 16 and (c.delay >= 0.1 - 1e-12).all()


@pytest.mark.parametrize("p, autapses, expected", [(0.0, True, 0), (1.0, True, 25), (1.0, False, 20), (0, True, 0),
                                                   (1, True, 25)])
def test_pairwise_bernoulli_p_edges(p, autapses, expected):
    _, c = _build_conns(5, {"rule": "pairwise_bernoulli", "p": p, "allow_autapses": autapses})
    assert len(c) == expected
    if not autapses:
        assert (c.source != c.target).all()


def test_indegree_equal_to_source_size_without_multapses():
    E, c = _build_conns(5, {"rule": "fixed_indegree", "indegree": 5, "allow_multapses": False,
                            "allow_autapses": True})
    assert len(c) == 25
    per_target = c.groupby("target").source.apply(lambda s: sorted(s))
    assert all(v == list(E.gids) for v in per_target)


def test_indegree_n_minus_1_without_multapses_or_autapses():
    _, c = _build_conns(5, {"rule": "fixed_indegree", "indegree": 4, "allow_multapses": False,
                            "allow_autapses": False})
    assert len(c) == 20
    assert (c.source != c.target).all()
    assert (c.groupby("target").source.nunique() == 4).all()


def test_indegree_from_subset_equal_to_its_size():
    E, c = _build_conns(6, {"rule": "fixed_indegree", "indegree": 3, "allow_multapses": False},
                        pre=slice(0, 3), post=slice(3, 6))
    assert len(c) == 9
    assert set(c.source) == {1, 2, 3} and set(c.target) == {4, 5, 6}


def test_indegree_with_multapses_may_exceed_sources():
    _, c = _build_conns(4, {"rule": "fixed_indegree", "indegree": 7}, pre=slice(0, 2))
    assert len(c) == 4 * 7 and set(c.source) <= {1, 2}


def test_outdegree_equal_to_target_size_without_multapses():
    _, c = _build_conns(4, {"rule": "fixed_outdegree", "outdegree": 4, "allow_multapses": False})
    assert len(c) == 16
    assert (c.groupby("source").target.nunique() == 4).all()


def test_fixed_total_number_and_zero_degrees():
    _, c = _build_conns(4, {"rule": "fixed_total_number", "N": 11})
    assert len(c) == 11
    for spec in ({"rule": "fixed_indegree", "indegree": 0}, {"rule": "fixed_outdegree", "outdegree": 0},
                 {"rule": "fixed_total_number", "N": 0}, {"rule": "fixed_indegree", "indegree": 2.0}):
        _, c = _build_conns(3, spec)
        assert len(c) == (6 if spec.get("indegree") == 2.0 else 0)


def test_one_to_one_equal_sizes_and_single_neuron_autapse():
    _, c = _build_conns(6, "one_to_one", pre=slice(0, 3), post=slice(3, 6))
    assert list(zip(c.source, c.target)) == [(1, 4), (2, 5), (3, 6)]
    _, c = _build_conns(1, {"rule": "fixed_indegree", "indegree": 1})
    assert list(zip(c.source, c.target)) == [(1, 1)]


def test_weight_edges_accepted():
    _, c = _build_conns(2, "all_to_all", {"weight": -(2.0**31 - 1.0), "receptor_type": 0,
                                          "synapse_model": "static_synapse"})
    assert len(c) == 4 and (c.weight < 0).all()
    _, c = _build_conns(2, "all_to_all", {"weight": dsnn.random.uniform(min=-1.0, max=1.0)})
    assert len(c) == 4 and (c.weight.abs() <= 1.0).all()
    _, c = _build_conns(2, "all_to_all", "static_synapse")
    assert np.allclose(c.weight, 1.0) and np.allclose(c.delay, 1.0)


def test_spike_generator_and_recorders_accepted():
    net = dsnn.Network(seed=3)
    E = net.create("iaf_psc_exp", 2, {"V_th": -69.0})
    sg = net.create("spike_generator", params={"spike_times": [0.1, 0.5], "spike_multiplicities": [1, 0]})
    sr = net.create("spike_recorder")
    vm = net.create("voltmeter", params={"interval": 0.1})
    proj = net.connect(sg, E, syn_spec={"weight": 1000.0, "delay": 0.1})
    net.connect(E, sr, "all_to_all")
    net.connect(vm, E[0:1])
    sim = net.build(partitions=2)
    assert len(sim.connections(proj)) == 2
    sim.run(2.0)
    v = sim.voltages(vm)
    assert len(v) == 20 and set(v.sender) == {1}
    assert set(sim.spikes(sr).sender) == {1, 2}


# ======================================================================== build
def _net_with(n=5):
    net = dsnn.Network(seed=1)
    E = net.create("iaf_psc_exp", n)
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": 2}, {"weight": 1.0, "delay": 1.0})
    return net


@pytest.mark.parametrize("kwargs, match", [
    pytest.param({"exchange": "bogus"}, r"\bexchange\b", id="exchange bogus"),
    pytest.param({"exchange": None}, r"\bexchange\b", id="exchange None"),
    pytest.param({"partitions": 0}, r"\bpartitions\b", id="partitions=0"),
    pytest.param({"partitions": -2}, r"\bpartitions\b", id="partitions<0"),
    pytest.param({"partitions": 6}, r"\bpartitions\b", id="partitions > neurons"),
    pytest.param({"partitions": 2.0}, r"\bpartitions\b", id="partitions float"),
    pytest.param({"partitions": True}, r"\bpartitions\b", id="partitions bool"),
    pytest.param({"partitions": None}, r"\bpartitions\b", id="partitions None"),
    pytest.param({"partitions": [2, 2]}, r"\bpartition sizes\b.*add up", id="sizes sum < neurons"),
    pytest.param({"partitions": [3, 3]}, r"\bpartition sizes\b.*add up", id="sizes sum > neurons"),
    pytest.param({"partitions": [0, 5]}, r"\bpartition sizes\b", id="size 0"),
    pytest.param({"partitions": [2.5, 2.5]}, r"\bpartition sizes\b", id="size float"),
    pytest.param({"partitions": []}, r"\bpartition sizes\b", id="no sizes"),
    pytest.param({"partitions": "ab"}, r"\bpartition", id="sizes str"),
])
def test_build_rejects(kwargs, match):
    net = _net_with(5)
    before = snapshot(net)
    with pytest.raises(ERRORS, match=match):
        net.build(**kwargs)
    assert snapshot(net) == before
    # a failed build leaves the network buildable
    assert net.build(partitions=[2, 3]).decomposition.sizes() == [2, 3]


@pytest.mark.parametrize("devices", [[], ["poisson_generator"], ["spike_recorder", "voltmeter"]])
def test_build_without_neurons(devices):
    net = dsnn.Network()
    for d in devices:
        net.create(d)
    with pytest.raises(ValueError, match=r"no neurons"):
        net.build()


@pytest.mark.parametrize("partitions, sizes", [(5, [1] * 5), (1, [5]), (np.int64(2), [3, 2]), ((4, 1), [4, 1]),
                                               (np.array([1, 4]), [1, 4])])
def test_build_partition_edges(partitions, sizes):
    sim = _net_with(5).build(partitions=partitions, exchange="collective")
    assert sim.decomposition.sizes() == sizes
    assert len(sim.connections()) == 10


# ========================================================================== run
@pytest.fixture(scope="module")
def sim_and_pops():
    net, pops = small_net(3)
    net.connect(pops["E"], pops["sr"])
    net.connect(pops["vm"], pops["E"])
    return net.build(), pops


@pytest.mark.parametrize("t, match", [
    pytest.param(-1.0, r"\bt\b", id="t<0"),
    pytest.param(NAN, r"\bt\b", id="t nan"),
    pytest.param(INF, r"\bt\b", id="t inf"),
    pytest.param(0.15, r"\bt\b.*multiple of dt", id="t off grid"),
    pytest.param(0.05, r"\bt\b.*multiple of dt", id="t below dt"),
    pytest.param("1.0", r"\bt\b", id="t str"),
    pytest.param(True, r"\bt\b", id="t bool"),
    pytest.param(None, r"\bt\b", id="t None"),
])
def test_run_rejects(sim_and_pops, t, match):
    sim, _ = sim_and_pops
    step, time = sim.step, sim.time
    with pytest.raises(ERRORS, match=match):
        sim.run(t)
    assert (sim.step, sim.time) == (step, time)


def test_run_edges(sim_and_pops):
    sim, _ = sim_and_pops
    t0 = sim.time
    sim.run(0.0)
    assert sim.time == t0
    sim.run(0.1)
    assert math.isclose(sim.time, t0 + 0.1)
    sim.run(np.float64(0.2))
    assert math.isclose(sim.time, t0 + 0.3)


@pytest.mark.parametrize("method, dev, match", [
    pytest.param("spikes", "vm", r"spike_recorder", id="spikes(voltmeter)"),
    pytest.param("spikes", "E", r"spike_recorder", id="spikes(neurons)"),
    pytest.param("spikes", "pg", r"spike_recorder", id="spikes(generator)"),
    pytest.param("spikes", "str", r"spike_recorder", id="spikes(str)"),
    pytest.param("spikes", "foreign", r"spike_recorder", id="spikes(other network's recorder)"),
    pytest.param("voltages", "sr", r"voltmeter", id="voltages(spike_recorder)"),
    pytest.param("voltages", "E", r"voltmeter", id="voltages(neurons)"),
    pytest.param("voltages", "foreign_vm", r"voltmeter", id="voltages(other network's voltmeter)"),
])
def test_results_reject_wrong_device(sim_and_pops, method, dev, match):
    sim, pops = sim_and_pops
    other, other_pops = small_net(3)
    target = {"str": "sr", "foreign": other_pops["sr"], "foreign_vm": other_pops["vm"]}.get(dev)
    target = pops.get(dev, target)
    with pytest.raises(ERRORS, match=match):
        getattr(sim, method)(target)


@pytest.mark.parametrize("projection", [
    pytest.param("x", id="projection str"),
    pytest.param(3, id="projection int"),
])
def test_connections_rejects_non_projection(sim_and_pops, projection):
    sim, _ = sim_and_pops
    with pytest.raises(ERRORS, match=r"projection"):
        sim.connections(projection)


def test_connections_rejects_foreign_projection():
    net = _net_with(4)
    sim = net.build()
    other = _net_with(4)
    with pytest.raises(ERRORS, match=r"projection"):
        sim.connections(other.projections[0])


# =================================================================== population
@pytest.mark.parametrize("item, exc, match", [
    pytest.param(slice(None, None, 2), ERRORS, r"\bstep\b", id="E[::2]"),
    pytest.param(slice(0, 4, 2), ERRORS, r"\bstep\b", id="E[0:4:2]"),
    pytest.param(slice(None, None, -1), ERRORS, r"\bstep\b", id="E[::-1]"),
    pytest.param(slice(3, 3), ERRORS, r"empty", id="E[3:3]"),
    pytest.param(slice(4, 2), ERRORS, r"empty", id="E[4:2]"),
    pytest.param(slice(7, 9), ERRORS, r"empty", id="E[7:9] beyond end"),
    pytest.param("a", ERRORS, r"indices", id="E['a']"),
    pytest.param(1.0, ERRORS, r"indices", id="E[1.0]"),
    pytest.param(True, ERRORS, r"indices", id="E[True]"),
    pytest.param(None, ERRORS, r"indices", id="E[None]"),
    # out-of-range integers raise IndexError on purpose: iteration (list(E)) relies on it
    pytest.param(5, IndexError, r"index 5 out of range", id="E[5]"),
    pytest.param(-6, IndexError, r"index -6 out of range", id="E[-6]"),
    pytest.param(10**20, IndexError, r"out of range", id="E[1e20]"),
])
def test_population_indexing_rejects(item, exc, match):
    net = dsnn.Network()
    E = net.create("iaf_psc_exp", 5)
    with pytest.raises(exc, match=match):
        E[item]


def test_population_indexing_edges():
    net = dsnn.Network()
    net.create("poisson_generator")
    E = net.create("iaf_psc_exp", 5)
    assert list(E[1:3].gids) == [3, 4]
    assert list(E[-1].gids) == [6] and list(E[np.int64(0)].gids) == [2]
    assert list(E[2:100].gids) == [4, 5, 6]
    assert list(E[1:4][1:2].gids) == [4] and E[1:4][1:2].root is E
    assert [p.first for p in E] == [2, 3, 4, 5, 6]
    assert len(E[0:5:1]) == 5


# ================================================================ distributions
@pytest.mark.parametrize("make, match", [
    pytest.param(lambda: dsnn.random.uniform(min=1.0, max=1.0), r"\bmin\b.*\bmax\b", id="uniform min == max"),
    pytest.param(lambda: dsnn.random.uniform(min=2.0, max=1.0), r"\bmin\b.*\bmax\b", id="uniform min > max"),
    pytest.param(lambda: dsnn.random.uniform(min=NAN, max=1.0), r"\bmin\b", id="uniform min nan"),
    pytest.param(lambda: dsnn.random.uniform(min=0.0, max=INF), r"\bmax\b", id="uniform max inf"),
    pytest.param(lambda: dsnn.random.uniform(min="0", max=1.0), r"\bmin\b", id="uniform min str"),
    pytest.param(lambda: dsnn.random.normal(mean=0.0, std=-1.0), r"\bstd\b", id="normal std<0"),
    pytest.param(lambda: dsnn.random.normal(mean=NAN, std=1.0), r"\bmean\b", id="normal mean nan"),
    pytest.param(lambda: dsnn.random.normal(mean=0.0, std=INF), r"\bstd\b", id="normal std inf"),
    pytest.param(lambda: dsnn.random.normal(mean=True, std=1.0), r"\bmean\b", id="normal mean bool"),
    pytest.param(lambda: dsnn.random.lognormal(mean=0.0, std=-0.5), r"\bstd\b", id="lognormal std<0"),
    pytest.param(lambda: dsnn.random.exponential(beta=0.0), r"\bbeta\b", id="exponential beta=0"),
    pytest.param(lambda: dsnn.random.exponential(beta=-1.0), r"\bbeta\b", id="exponential beta<0"),
    pytest.param(lambda: dsnn.random.exponential(beta=None), r"\bbeta\b", id="exponential beta None"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.normal(mean=0.0, std=1.0), min=100.0, max=101.0),
                 r"interval", id="redraw ~zero mass"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.normal(mean=0.0, std=1.0), min=40.0),
                 r"interval", id="redraw far tail, no max"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.uniform(min=0.0, max=1.0), min=2.0, max=3.0),
                 r"interval", id="redraw outside uniform support"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.exponential(beta=1.0), max=-1.0),
                 r"interval", id="redraw exponential below 0"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.normal(mean=5.0, std=0.0), min=-1.0, max=1.0),
                 r"interval", id="redraw point mass outside"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.lognormal(mean=0.0, std=0.0), min=2.0, max=3.0),
                 r"interval", id="redraw lognormal point mass outside"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.normal(), min=1.0, max=0.0), r"\bmin\b.*\bmax\b",
                 id="redraw min > max"),
    pytest.param(lambda: dsnn.math.clip(dsnn.random.normal(), min=NAN), r"\bmin\b", id="clip min nan"),
    pytest.param(lambda: dsnn.math.clip(dsnn.random.normal(), min=1.0, max=1.0), r"\bmin\b.*\bmax\b",
                 id="clip min == max"),
    pytest.param(lambda: dsnn.math.redraw(dsnn.random.normal(), min="a"), r"\bmin\b", id="redraw min str"),
    pytest.param(lambda: dsnn.math.redraw(1.0, min=0.0), r"first argument", id="redraw a float"),
    pytest.param(lambda: dsnn.math.clip(dsnn.math.redraw(dsnn.random.normal(), min=0.0), max=1.0),
                 r"first argument", id="clip a bounded distribution"),
])
def test_distribution_rejects(make, match):
    with pytest.raises(ERRORS, match=match):
        make()


def test_redraw_lognormal_point_mass_inside_accepted():
    d = dsnn.math.redraw(dsnn.random.lognormal(mean=0.0, std=0.0), min=0.5, max=2.0)
    assert d.support() == (0.5, 2.0)


def test_distribution_edges_accepted():
    assert dsnn.random.normal(mean=0.0, std=0.0).support() == (-INF, INF)
    assert dsnn.math.redraw(dsnn.random.normal(mean=0.0, std=0.0), min=-1.0, max=1.0).support() == (-1.0, 1.0)
    assert dsnn.math.redraw(dsnn.random.normal(mean=0.0, std=1.0), min=4.0).support() == (4.0, INF)
    assert dsnn.math.clip(dsnn.random.exponential(beta=2.0), max=1.0).support() == (0.0, 1.0)
    assert dsnn.random.uniform(min=-1, max=np.float32(1.0)).support() == (-1.0, 1.0)
