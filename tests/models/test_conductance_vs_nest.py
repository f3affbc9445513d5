"""The conductance-based and AdEx neurons (iaf_cond_exp, iaf_cond_alpha, aeif_cond_exp, aeif_cond_alpha)
against NEST 3.10, which integrates them with GSL's adaptive RKF45.

dsnn's integration is GSL 1.15's evolve/rkf45/standard-control path written
again (dsnn/models/adaptive.py) with the same float64 operations in the same
order, so the spike times are identical and V_m agrees to rounding: 0.0 mV
apart in every case here on this machine (both call the same libm exp).
:data:`V_TOLERANCE_MV` leaves room for a libm that rounds exp differently;
a wrong step-size rule, update order or coefficient shows at 1e-6 mV or more.
"""

import numpy as np
import pytest
from test_neurons_vs_nest import T, _run_dsnn, _run_nest

import dsnn

V_TOLERANCE_MV = 1e-9

_TRAIN_A = list(np.round(np.arange(3.0, 990.0, 1.3), 1))
_TRAIN_B = list(np.round(np.arange(2.0, 999.0, 2.9), 1))

# name, model parameters, dc (amplitude, start, stop), spike inputs (times, weight in nS, delay)
COND_CASES = [
    ("defaults_dc_train", {}, (500.0, 100.0, 700.0),
     [([5.0, 20.0, 20.0, 150.0, 300.5], 30.0, 1.0), ([40.0, 41.0, 310.0], -20.0, 2.5), (_TRAIN_A, 8.0, 1.5)]),
    # strong input arriving while the neuron is refractory (5 ms after each spike)
    ("input_during_refractory", {"t_ref": 5.0, "I_e": 300.0, "V_m": -60.0}, (200.0, 0.0, 1000.0),
     [(_TRAIN_A, 15.0, 2.0), (_TRAIN_B, -10.0, 1.2), ([50.0, 50.1, 50.2, 500.0], 200.0, 3.7)]),
    ("other_constants", {"tau_syn_ex": 1.5, "tau_syn_in": 5.0, "g_L": 25.0, "C_m": 150.0, "E_L": -65.0,
                         "V_th": -50.0, "V_reset": -68.0, "t_ref": 1.0, "E_in": -80.0, "V_m": -65.0},
     (600.0, 0.0, 900.0), [(_TRAIN_A, 4.0, 1.0), (_TRAIN_B, -6.0, 2.2)]),
]

ADEX_CASES = [
    # tonic spiking with adaptation (no refractory period: NEST's defaults)
    ("defaults_dc_train", {}, (800.0, 50.0, 800.0),
     [([5.0, 20.0, 20.0, 150.0, 300.5], 30.0, 1.0), ([40.0, 41.0, 310.0], -20.0, 2.5), (_TRAIN_A, 3.0, 1.5)]),
    ("refractory_and_input", {"t_ref": 2.0, "a": 2.0, "b": 40.0, "V_m": -65.0, "w": 20.0}, (1000.0, 0.0, 1000.0),
     [(_TRAIN_A, 10.0, 2.0), (_TRAIN_B, -8.0, 1.2), ([50.0, 50.1, 50.2, 500.0], 100.0, 3.7)]),
    # without the exponential term, a spike at V_th
    ("no_exponential", {"Delta_T": 0.0, "V_th": -52.0, "t_ref": 1.0}, (700.0, 100.0, 900.0),
     [(_TRAIN_B, 6.0, 1.0)]),
    # regular bursting (Naud et al. 2008, Table 1), a looser error bound
    ("bursting_loose_tolerance", {"C_m": 200.0, "g_L": 10.0, "E_L": -58.0, "V_th": -50.0, "a": 2.0, "tau_w": 120.0,
                                  "b": 100.0, "V_reset": -46.0, "V_m": -58.0, "gsl_error_tol": 1e-4},
     (210.0, 0.0, 1000.0), [(_TRAIN_A, 0.5, 1.0), (_TRAIN_B, -0.5, 1.7)]),
]


def _check(model, params, dc, inputs, nest, min_spikes):
    spikes, v = _run_dsnn(model, params, dc, inputs)
    nest_spikes, nest_v = _run_nest(nest, model, params, dc, inputs)
    assert len(nest_spikes) >= min_spikes
    np.testing.assert_array_equal(spikes.time.to_numpy(), nest_spikes.time.to_numpy())
    merged = v.merge(nest_v, on="time", how="inner")
    assert len(merged) == len(nest_v) == len(v) == int(round(T / 0.1))
    np.testing.assert_allclose(merged.V_m, merged.V_nest, rtol=0, atol=V_TOLERANCE_MV)
    return spikes, v


@pytest.mark.nest
@pytest.mark.parametrize("model", ["iaf_cond_exp", "iaf_cond_alpha"])
@pytest.mark.parametrize("name,params,dc,inputs", COND_CASES, ids=[c[0] for c in COND_CASES])
def test_iaf_cond_models_match_nest(nest, model, name, params, dc, inputs):
    """Identical spike times and V_m within :data:`V_TOLERANCE_MV` over 1 s (two runs of 500 ms), spikes
    arriving while refractory in one case."""
    spikes, v = _check(model, params, dc, inputs, nest, min_spikes=10)
    if name == "input_during_refractory":
        arrivals = np.concatenate([np.asarray(t) + d for t, _, d in inputs])
        s = spikes.time.to_numpy()[:, None]
        assert ((arrivals > s) & (arrivals <= s + params["t_ref"])).any()
        assert (v.V_m == params.get("V_reset", -60.0)).sum() > 100  # clamped while refractory


@pytest.mark.nest
@pytest.mark.parametrize("model", ["aeif_cond_exp", "aeif_cond_alpha"])
@pytest.mark.parametrize("name,params,dc,inputs", ADEX_CASES, ids=[c[0] for c in ADEX_CASES])
def test_adex_models_match_nest(nest, model, name, params, dc, inputs):
    """Identical spike times and V_m within :data:`V_TOLERANCE_MV` over 1 s: tonic, refractory, without the
    exponential term and bursting regimes."""
    spikes, v = _check(model, params, dc, inputs, nest, min_spikes=5)
    if name == "refractory_and_input":
        arrivals = np.concatenate([np.asarray(t) + d for t, _, d in inputs])
        s = spikes.time.to_numpy()[:, None]
        assert ((arrivals > s) & (arrivals <= s + params["t_ref"])).any()  # input while refractory
        assert (v.V_m == -60.0).sum() > 100  # held at V_reset while refractory
    if name == "bursting_loose_tolerance":
        isi = np.diff(spikes.time.to_numpy())
        assert isi.min() < 0.3 * isi.max()  # bursts: short and long intervals


#: dsnn's exact-conductance option against NEST, over ADEX_CASES: the median and the 99th percentile of
#: |V_m - V_m NEST| may not exceed these (measured 2026-12-01: at most 6.2e-4 and 4.4e-3 mV; the largest
#: single differences, 0.003-1.8 mV, fall on samples in a spike's upswing, where V_m climbs tens of mV within
#: a step, and are not bounded here)
EXACT_MEDIAN_MV, EXACT_P99_MV = 2e-3, 0.02


@pytest.mark.nest
@pytest.mark.parametrize("model", ["aeif_cond_exp", "aeif_cond_alpha"])
@pytest.mark.parametrize("name,params,dc,inputs", ADEX_CASES, ids=[c[0] for c in ADEX_CASES])
def test_the_exact_conductance_option_stays_close_to_nest(nest, model, name, params, dc, inputs):
    """``exact_conductances = 1`` (the conductances solved exactly, V_m and w integrated with NEST's
    tolerance on steps of dt / 2^k): as many spikes as NEST, each within one step of NEST's, and V_m within
    :data:`EXACT_MEDIAN_MV` (median) and :data:`EXACT_P99_MV` (99th percentile) of NEST's."""
    spikes, v = _run_dsnn(model, {**params, "exact_conductances": 1.0}, dc, inputs)
    nest_spikes, nest_v = _run_nest(nest, model, params, dc, inputs)
    assert len(spikes) == len(nest_spikes) >= 5
    np.testing.assert_allclose(spikes.time.to_numpy(), nest_spikes.time.to_numpy(), rtol=0, atol=0.1 + 1e-9)
    merged = v.merge(nest_v, on="time", how="inner")
    assert len(merged) == len(nest_v)
    d = np.abs(merged.V_m - merged.V_nest).to_numpy()
    assert np.median(d) <= EXACT_MEDIAN_MV and np.quantile(d, 0.99) <= EXACT_P99_MV, (np.median(d), np.quantile(d, .99))
    assert d.max() > 0.0  # another integration than NEST's, really


def _several_per_step(partitions=None, nest=None):
    """An AdEx neuron whose reset lies where the exponential term runs away at once: driven, it spikes
    several times in one 0.1 ms step until its adaptation (b = 3 nA) stops it. 20 quiet neurons beside it
    (on another partition where there are 2)."""
    params = {"V_reset": -40.0, "a": 0.0, "b": 3000.0, "tau_w": 20.0, "I_e": 1000.0}
    if nest is None:
        net = dsnn.Network(seed=1, dt=0.1)
        create, connect = net.create, net.connect
    else:
        nest.ResetKernel()
        nest.resolution = 0.1
        create, connect = nest.Create, nest.Connect
    fast = create("aeif_cond_exp", 1, params)
    create("aeif_cond_exp", 20)
    sg = create("spike_generator", 1, {"spike_times": [10.0, 25.0]})
    connect(sg, fast, syn_spec={"weight": 500.0, "delay": 1.0})
    sr = create("spike_recorder")
    connect(fast, sr)
    if nest is None:
        sim = net.build(partitions=partitions)
        sim.run(40.0)
        return sim.spikes(sr).time.round(4).tolist()
    nest.Simulate(40.0)
    return sorted(np.round(sr.events["times"], 4).tolist())


@pytest.mark.nest
def test_an_adex_neuron_spiking_several_times_in_a_step_sends_every_spike_as_nest(nest):
    want = _several_per_step(nest=nest)
    assert max(want.count(t) for t in want) >= 3  # the case really has several spikes in a step
    assert _several_per_step(partitions=1) == want


def _network(model):
    """200 neurons of ``model`` (``-exact``: an AdEx model with dsnn's exact-conductance option): excitatory
    and inhibitory random connections with heterogeneous delays and Poisson drive; the network and its spike
    recorder."""
    net = dsnn.Network(seed=7, dt=0.1)
    params = {"V_m": dsnn.random.uniform(-70.0, -55.0)}
    if model.endswith("-exact"):
        model, params["exact_conductances"] = model[:-len("-exact")], 1.0
    if model.startswith("aeif"):
        params["t_ref"] = 2.0
    pop = net.create(model, 200, params)
    noise = net.create("poisson_generator", params={"rate": 20000.0})
    net.connect(noise, pop, syn_spec={"weight": 3.0, "delay": 1.0})
    net.connect(pop[:160], pop, {"rule": "fixed_indegree", "indegree": 20},
                {"weight": 1.5, "delay": dsnn.random.uniform(0.5, 3.0)})
    net.connect(pop[160:], pop, {"rule": "fixed_indegree", "indegree": 5},
                {"weight": -6.0, "delay": dsnn.random.uniform(0.5, 3.0)})
    sr = net.create("spike_recorder")
    net.connect(pop, sr)
    return net, sr


def _keys(spikes):
    return np.sort(spikes.sender.to_numpy() * 10**6 + np.round(spikes.time.to_numpy() * 10).astype(np.int64))


@pytest.mark.parametrize("model", ["iaf_cond_exp", "iaf_cond_alpha", "aeif_cond_exp", "aeif_cond_alpha",
                                   "aeif_cond_alpha-exact"])
def test_a_network_of_the_model_spikes_alike_on_1_and_2_partitions(model):
    """The same spikes, bit for bit, with the network split over two worker processes."""

    def run(partitions):
        net, sr = _network(model)
        sim = net.build(partitions=partitions)
        sim.run(200.0)
        return _keys(sim.spikes(sr))

    one = run(1)
    assert one.shape[0] > 200  # the network is active
    np.testing.assert_array_equal(run(2), one)


@pytest.mark.parametrize("model", ["iaf_cond_alpha", "aeif_cond_alpha", "aeif_cond_alpha-exact"])
def test_a_checkpoint_keeps_the_integration_step_and_continues_bit_for_bit(model, tmp_path):
    """Saved at 80 ms on 2 partitions, restored on 1: the same spikes as without stopping (each neuron's
    integration step size is part of its state, as in NEST)."""
    net, sr = _network(model)
    full = net.build()
    full.run(200.0)
    want = _keys(full.spikes(sr))
    net, sr = _network(model)
    sim = net.build(partitions=2)
    sim.run(80.0)
    again = dsnn.restore(net, sim.checkpoint(tmp_path / "ck"), partitions=1)
    again.run(120.0)
    got = again.spikes(sr)
    assert (got.time > 80.0).sum() > 100
    np.testing.assert_array_equal(_keys(got), want)


@pytest.mark.parametrize("model,params,match", [
    ("aeif_cond_exp", {"V_reset": 5.0}, "V_reset must be < V_peak"),
    ("aeif_cond_alpha", {"V_peak": -55.0}, "V_peak must be >= V_th"),
    ("aeif_cond_exp", {"Delta_T": -1.0}, "Delta_T"),
    ("aeif_cond_alpha", {"Delta_T": 0.1, "V_peak": 20.0}, "Delta_T must be <|would overflow"),
    ("aeif_cond_exp", {"gsl_error_tol": 0.0}, "gsl_error_tol"),
    ("aeif_cond_alpha", {"tau_w": 0.0}, "tau_w"),
    ("iaf_cond_exp", {"V_reset": -50.0}, "V_reset must be < V_th"),
    ("iaf_cond_alpha", {"tau_syn_in": -2.0}, "tau_syn_in"),
    ("iaf_cond_exp", {"C_m": 0.0}, "C_m"),
    ("iaf_cond_alpha", {"g_ex": -1.0}, "g_ex"),
    ("aeif_cond_exp", {"t_ref": -0.1}, "t_ref"),
    ("iaf_cond_exp", {"tau_m": 10.0}, "tau_m"),
    ("aeif_cond_alpha", {"exact_conductances": 0.5}, "exact_conductances must be 0 or 1"),
    ("iaf_cond_alpha", {"exact_conductances": 1.0}, "exact_conductances"),
])
def test_bad_parameters_are_refused_by_name(model, params, match):
    net = dsnn.Network()
    with pytest.raises(ValueError, match=match):
        net.create(model, 2, params)
    assert not net.populations  # nothing was created


def test_an_unstable_adex_neuron_stops_the_run_with_nest_s_message():
    """NEST stops an AdEx neuron whose V_m falls below -1000 mV; so does dsnn, with a message."""
    net = dsnn.Network(seed=1)
    n = net.create("aeif_cond_exp", 1, {"I_e": -2e6})
    sr = net.create("spike_recorder")
    net.connect(n, sr)
    sim = net.build()
    with pytest.raises(Exception, match="numerically unstable"):
        sim.run(20.0)


def test_spikes_beyond_the_buffers_stop_the_run_with_a_message():
    """An AdEx neuron without refractory period whose reset lies past the point of no return spikes at every
    integration step: more spikes than the interval's buffers hold end the run with an error, not a wrong
    count."""
    net = dsnn.Network(seed=1)
    n = net.create("aeif_cond_exp", 1, {"V_reset": -30.0, "a": 0.0, "b": 0.0, "I_e": 1000.0})
    net.connect(n, net.create("spike_recorder"))
    sim = net.build()
    with pytest.raises(Exception, match="more spikes in one interval than neurons times steps"):
        sim.run(20.0)


@pytest.mark.parametrize("exact", [False, True])
def test_the_inline_exp_changes_no_bit(exact, monkeypatch):
    """The AdEx updates compute libm's exp inline where the platform allows it (update_inline): the spikes
    and every recorded variable of a network are bit for bit those of the update that calls libm, with
    NEST's integration and with the exact-conductance option (aeif_cond_alpha; aeif_cond_exp shares the
    code but for its right-hand side, and compiling its other update would cost CI a minute)."""
    model = "aeif_cond_alpha"
    from networks import conductance_network

    from dsnn.support import glibc_math

    if not glibc_math.exact_here():
        pytest.skip("this platform's libm is not glibc's with FMA: the updates call it")
    results = []
    for inline in (True, False):
        if not inline:
            monkeypatch.setattr(glibc_math, "exact_here", lambda samples=0: False)
        net, sr, vm = conductance_network(model, exact=exact, rate=16000.0, weight=6.0)
        mm = net.create("multimeter", params={"record_from": ["V_m", "g_ex", "w"], "interval": 0.1})
        net.connect(mm, net.neuron_populations[0][:5])
        sim = net.build(partitions=2)
        sim.run(100.0)
        results.append((sim.spikes(sr), sim.voltages(vm), sim.voltages(mm)))
    assert len(results[0][0]) > 300
    for a, b in zip(*results):
        assert b.equals(a)
