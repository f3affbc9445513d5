"""Single neurons of each model against NEST 3.10, step for step.

A dc_generator (switched on and off) and spike_generators drive one neuron
through excitatory and inhibitory synapses with several delays; spike times
must be identical and V_m within :data:`V_TOLERANCE_MV` over 1 s at
dt = 0.1 ms.
"""

import numpy as np
import pandas as pd
import pytest

import dsnn

T = 1000.0

#: the largest difference seen over every case and model is 3.6e-14 mV (NEST 3.10): a few units in the
#: last place of |V_m| ~ 70 mV (one unit is 2**-46 mV = 1.4e-14 mV), where NEST computes a propagator
#: with other, equally exact float64 operations. 1e-12 mV leaves a margin of ~30 while any error in the
#: dynamics (a propagator, the update order, a step late) shows at 1e-3 mV or more.
V_TOLERANCE_MV = 1e-12

# name, model parameters, dc (amplitude, start, stop), spike inputs (times, weight, delay)
CASES = [
    ("defaults_dc_train", {},
     (400.0, 100.0, 700.0),
     [([5.0, 20.0, 20.0, 150.0, 300.5], 600.0, 1.0), ([40.0, 41.0, 310.0], -400.0, 2.5)]),
    ("brunel_like", {"E_L": 0.0, "V_m": 0.0, "V_th": 20.0, "V_reset": 10.0, "tau_m": 20.0,
                     "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0, "I_e": 200.0},
     (150.0, 250.0, 900.0),
     [(list(np.round(np.arange(3.0, 990.0, 7.3), 1)), 300.0, 1.5),
      (list(np.round(np.arange(10.0, 990.0, 11.1), 1)), -700.0, 0.8)]),
    # strong input arriving while the neuron is refractory (t_ref 5 ms after each spike)
    ("input_during_refractory", {"tau_m": 15.0, "C_m": 200.0, "t_ref": 5.0, "tau_syn_ex": 1.0,
                                 "tau_syn_in": 3.0, "V_th": -50.0, "V_reset": -65.0, "E_L": -65.0,
                                 "V_m": -60.0, "I_e": 50.0},
     (600.0, 0.0, 1000.0),
     [(list(np.round(np.arange(1.0, 999.0, 1.3), 1)), 900.0, 2.0),
      (list(np.round(np.arange(2.0, 999.0, 2.9), 1)), -500.0, 1.2),
      ([50.0, 50.1, 50.2, 500.0], 5000.0, 3.7)]),
    ("tau_syn_equals_tau_m", {"tau_m": 2.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0, "C_m": 100.0,
                              "t_ref": 1.0},
     (2000.0, 10.0, 990.0),
     [([30.0, 60.0, 61.0], 3000.0, 1.0), ([100.0], -2000.0, 4.0)]),
]


def _run_dsnn(model, params, dc, inputs):
    net = dsnn.Network(seed=1, dt=0.1)
    n = net.create(model, 1, params)
    amp, start, stop = dc
    gen = net.create("dc_generator", params={"amplitude": amp, "start": start, "stop": stop})
    net.connect(gen, n, syn_spec={"weight": 1.0, "delay": 1.0})
    for times, w, d in inputs:
        sg = net.create("spike_generator", params={"spike_times": times})
        net.connect(sg, n, syn_spec={"weight": w, "delay": d})
    sr = net.create("spike_recorder")
    vm = net.create("voltmeter", params={"interval": 0.1})
    net.connect(n, sr)
    net.connect(vm, n)
    sim = net.build()
    sim.run(T / 2)
    sim.run(T / 2)  # a second run goes on where the first stopped
    return sim.spikes(sr), sim.voltages(vm)


def _run_nest(nest, model, params, dc, inputs):
    nest.ResetKernel()
    nest.resolution = 0.1
    n = nest.Create(model, 1, params)
    amp, start, stop = dc
    gen = nest.Create("dc_generator", params={"amplitude": amp, "start": start, "stop": stop})
    nest.Connect(gen, n, syn_spec={"weight": 1.0, "delay": 1.0})
    for times, w, d in inputs:
        sg = nest.Create("spike_generator", params={"spike_times": times})
        nest.Connect(sg, n, syn_spec={"weight": w, "delay": d})
    sr = nest.Create("spike_recorder")
    vm = nest.Create("voltmeter", params={"interval": 0.1})
    nest.Connect(n, sr)
    nest.Connect(vm, n)
    nest.Simulate(T + 5.0)  # NEST's voltmeter reports one min-delay late: run past T
    spikes = pd.DataFrame({"time": sr.events["times"]})
    v = pd.DataFrame({"time": vm.events["times"], "V_nest": vm.events["V_m"]})
    return spikes[spikes.time <= T], v[v.time <= T]


@pytest.mark.nest
@pytest.mark.parametrize("model", ["iaf_psc_exp", "iaf_psc_alpha"])
@pytest.mark.parametrize("name,params,dc,inputs", CASES, ids=[c[0] for c in CASES])
def test_single_neuron_matches_nest(nest, model, name, params, dc, inputs):
    spikes, v = _run_dsnn(model, params, dc, inputs)
    nest_spikes, nest_v = _run_nest(nest, model, params, dc, inputs)
    # identical spike times (both compute times as steps * tics / 1000)
    assert len(nest_spikes) > 0
    np.testing.assert_array_equal(spikes.time.to_numpy(), nest_spikes.time.to_numpy())
    assert (spikes.sender == 1).all()
    # V_m sampled every step over 1 s, on identical time points
    assert len(v) == int(round(T / 0.1))
    merged = v.merge(nest_v, on="time", how="inner")
    assert len(merged) == len(nest_v) == len(v)
    np.testing.assert_allclose(merged.V_m, merged.V_nest, rtol=0, atol=V_TOLERANCE_MV)
    if name == "input_during_refractory":
        assert len(spikes) > 10  # the case really exercises refractoriness


#: iaf_psc_delta adds each weight (mV) to V_m as it is in the ring: in fixed point, 2**-32 mV, so a weight
#: such as 0.2 mV is off by up to 1.2e-10 mV per spike, which V_m accumulates over ~tau_m (3e-9 mV at ~1.4
#: spikes/ms); weights that are whole multiples of 2**-32 mV (3.0, -2.5 ...) are exact. Issue 18 asks 1e-6.
DELTA_TOLERANCE_MV = 1e-7

#: iaf_psc_delta: weights are jumps of V_m in mV
DELTA_CASES = [
    ("defaults_dc_train", {}, (400.0, 100.0, 700.0),
     [([5.0, 20.0, 20.0, 150.0, 300.5], 3.0, 1.0), ([40.0, 41.0, 310.0], -2.0, 2.5)]),
    # input while refractory dropped, or kept and added damped (refractory_input); V_min reached
    ("refractory_input_dropped", {"t_ref": 5.0, "V_min": -72.0, "I_e": 200.0}, (300.0, 0.0, 1000.0),
     [(list(np.round(np.arange(1.0, 999.0, 1.3), 1)), 2.5, 2.0),
      (list(np.round(np.arange(2.0, 999.0, 2.9), 1)), -4.0, 1.2),
      ([600.0, 600.1, 600.2, 600.3], -30.0, 1.0)]),
    ("refractory_input_kept", {"t_ref": 5.0, "V_min": -72.0, "I_e": 200.0, "refractory_input": True},
     (300.0, 0.0, 1000.0),
     [(list(np.round(np.arange(1.0, 999.0, 1.3), 1)), 2.5, 2.0),
      (list(np.round(np.arange(2.0, 999.0, 2.9), 1)), -4.0, 1.2),
      ([600.0, 600.1, 600.2, 600.3], -30.0, 1.0)]),
    ("brunel_like", {"E_L": 0.0, "V_m": 0.0, "V_th": 20.0, "V_reset": 10.0, "tau_m": 20.0, "t_ref": 2.0,
                     "C_m": 1.0, "I_e": 1.05},
     (0.3, 250.0, 900.0),
     [(list(np.round(np.arange(3.0, 990.0, 0.7), 1)), 0.2, 1.5),
      (list(np.round(np.arange(10.0, 990.0, 1.1), 1)), -0.5, 0.8)]),
]


@pytest.mark.nest
@pytest.mark.parametrize("name,params,dc,inputs", DELTA_CASES, ids=[c[0] for c in DELTA_CASES])
def test_iaf_psc_delta_matches_nest(nest, name, params, dc, inputs):
    """Identical spike times and V_m within :data:`DELTA_TOLERANCE_MV` (weights in mV); the refractory
    cases differ from each other, and reach V_min."""
    spikes, v = _run_dsnn("iaf_psc_delta", params, dc, inputs)
    nest_spikes, nest_v = _run_nest(nest, "iaf_psc_delta", params, dc, inputs)
    assert len(nest_spikes) > 0
    np.testing.assert_array_equal(spikes.time.to_numpy(), nest_spikes.time.to_numpy())
    merged = v.merge(nest_v, on="time", how="inner")
    assert len(merged) == len(nest_v) == len(v) == int(round(T / 0.1))
    np.testing.assert_allclose(merged.V_m, merged.V_nest, rtol=0, atol=DELTA_TOLERANCE_MV)
    if name.startswith("refractory_input"):
        assert (v.V_m == params["V_min"]).any()
        other = DELTA_CASES[{"refractory_input_dropped": 2, "refractory_input_kept": 1}[name]]
        assert np.abs(_run_dsnn("iaf_psc_delta", other[1], other[2], other[3])[1].V_m - v.V_m).max() > 1.0


#: izhikevich: weights in mV, currents in pA; regimes of Izhikevich (2003), Fig. 2
IZHIKEVICH_CASES = [
    ("regular_spiking", {"I_e": 10.0}, (5.0, 200.0, 700.0),
     [([5.0, 20.0, 20.0, 150.0, 300.5], 5.0, 1.0), ([40.0, 41.0, 310.0, 800.0], -10.0, 2.5)]),
    ("fast_spiking", {"a": 0.1, "d": 2.0, "I_e": 4.0}, (6.0, 100.0, 900.0),
     [(list(np.round(np.arange(3.0, 990.0, 7.3), 1)), 2.5, 1.5)]),
    ("chattering", {"c": -50.0, "d": 2.0, "I_e": 10.0, "V_m": -70.0, "U_m": -14.0}, (0.0, 0.0, 1.0),
     [(list(np.round(np.arange(10.0, 990.0, 11.1), 1)), -4.0, 0.8)]),
    ("published_scheme_and_V_min", {"consistent_integration": False, "I_e": 10.0, "V_min": -75.0},
     (0.0, 0.0, 1.0),
     [([100.0, 100.1, 100.2, 500.0], -40.0, 1.0), (list(np.round(np.arange(2.0, 999.0, 2.9), 1)), 1.5, 1.2)]),
]


@pytest.mark.nest
@pytest.mark.parametrize("name,params,dc,inputs", IZHIKEVICH_CASES, ids=[c[0] for c in IZHIKEVICH_CASES])
def test_izhikevich_matches_nest(nest, name, params, dc, inputs):
    """Identical spike times and V_m within :data:`DELTA_TOLERANCE_MV` (spikes add to V_m as in
    iaf_psc_delta); the V_min case reaches V_min."""
    spikes, v = _run_dsnn("izhikevich", params, dc, inputs)
    nest_spikes, nest_v = _run_nest(nest, "izhikevich", params, dc, inputs)
    assert len(nest_spikes) > 5
    np.testing.assert_array_equal(spikes.time.to_numpy(), nest_spikes.time.to_numpy())
    merged = v.merge(nest_v, on="time", how="inner")
    assert len(merged) == len(nest_v) == len(v) == int(round(T / 0.1))
    np.testing.assert_allclose(merged.V_m, merged.V_nest, rtol=0, atol=DELTA_TOLERANCE_MV)
    if "V_min" in params:
        assert (v.V_m == params["V_min"]).any()


@pytest.mark.nest
def test_refractory_input_case_has_input_in_refractory_period():
    """The refractory case must deliver spikes while the neuron is refractory (else it tests nothing)."""
    spikes, _ = _run_dsnn("iaf_psc_exp", CASES[2][1], CASES[2][2], CASES[2][3])
    arrivals = np.concatenate([np.asarray(t) + d for t, _, d in CASES[2][3]])
    t_ref = CASES[2][1]["t_ref"]
    in_ref = [(a > s) & (a <= s + t_ref) for s in spikes.time for a in [arrivals]]
    assert np.any(np.any(in_ref, axis=0))
