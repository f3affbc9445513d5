"""The Potjans & Diesmann (2014) cortical microcircuit in dsnn.

Eight populations (L23E, L23I, L4E, L4I, L5E, L5I, L6E, L6I) of
iaf_psc_exp neurons under 1 mm² of early sensory cortex: 77,169 neurons and
~3×10^8 synapses at full scale. Parameters and derivations follow NEST's
``Potjans_2014`` example in its last revision in nest-simulator
(pynest/examples/Potjans_2014, commit e0a0745546eb, 2025-08-22; now the
microcircuit-pd14-model project):

- connections: ``fixed_total_number`` between every pair of populations, the
  totals derived from the connection probabilities ``CONN_PROBS`` (target,
  source) as ``log(1 - p) / log((N_pre N_post - 1) / (N_pre N_post))``;
- weights: PSP 0.15 mV (doubled for L4E → L23E), g = −4, converted to pA for
  exponential currents, normal with relative std 0.1, redrawn to keep their
  sign; delays: normal, 1.5 ms (E) and 0.75 ms (I) means, relative std 0.5,
  redrawn to ≥ dt;
- background: one Poisson generator per population at 8 Hz × K_ext, all to
  all, delay 1.5 ms; initial V_m normal with the "optimized"
  population-specific means and stds;
- scaling: ``scale`` (or ``N_scaling`` / ``K_scaling`` apart) multiplies the
  neuron numbers and the in-degrees; where in-degrees shrink, weights grow by
  1/sqrt(K_scaling) and a DC input per population keeps the mean input of the
  full model (computed with the full model's rates ``FULL_MEAN_RATES``).

Published full-scale rates (NEST's example, 12 MPI processes): ``FULL_MEAN_RATES``.
Rates are measured after a transient: the spike recorder starts at
``t_presim`` (500 ms by default), as the NEST example computes them.

Model file for ``python -m dsnn run examples/microcircuit.py --time 1500
--param scale=0.1``; or run this file: ``python examples/microcircuit.py
--scale 0.1 [--partitions 2]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import dsnn

POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]

FULL_NUM_NEURONS = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])

#: spikes/s of the full-scale model, NEST's example (12 MPI processes, N_scaling = K_scaling = 1)
FULL_MEAN_RATES = np.array([0.943, 3.026, 4.368, 5.882, 7.733, 8.664, 1.096, 7.851])

#: connection probabilities, CONN_PROBS[target, source]
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
])

#: external (Poisson) in-degrees
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])

BG_RATE = 8.0  # spikes/s of each external input
PSP_EXC_MEAN = 0.15  # mV
WEIGHT_REL_STD = 0.1
G = -4.0
DELAY_EXC_MEAN, DELAY_INH_MEAN = 1.5, 0.75  # ms
DELAY_REL_STD = 0.5
DELAY_POISSON = 1.5  # ms

NEURON = {"C_m": 250.0, "tau_m": 10.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "t_ref": 2.0,
          "E_L": -65.0, "V_th": -50.0, "V_reset": -65.0}

#: initial V_m (mV), normal per population: the "optimized" values that damp the start-up burst
V0_MEAN = {"optimized": [-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43], "original": [-58.0] * 8}
V0_STD = {"optimized": [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48], "original": [10.0] * 8}

#: the exchange this model suits: its populations are densely interconnected
EXCHANGE = "collective"


def psc_over_psp(C_m: float, tau_m: float, tau_syn: float) -> float:
    """pA of an exponential current per mV of the PSP peak it causes (tau_syn != tau_m)."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / C_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def full_num_synapses() -> np.ndarray:
    """Synapses between the populations of the full model, [target, source] (float)."""
    prod = np.outer(FULL_NUM_NEURONS, FULL_NUM_NEURONS)
    return np.log(1.0 - CONN_PROBS) / np.log((prod - 1.0) / prod)


def derived(N_scaling: float = 1.0, K_scaling: float = 1.0, poisson_input: bool = True) -> dict:
    """The model's derived numbers at a scaling, as NEST's example derives them.

    Returns ``num_neurons`` (8,), ``num_synapses`` (8, 8) [target, source],
    ``ext_indegrees`` (8,), ``weights`` (8, 8) pA, ``weight_ext`` pA,
    ``DC_amp`` (8,) pA and ``poisson_rates`` (8,) spikes/s of the generators.
    """
    full = full_num_synapses()
    num_neurons = np.round(FULL_NUM_NEURONS * N_scaling).astype(int)
    num_synapses = np.round(full * N_scaling * K_scaling).astype(int)
    ext_indegrees = np.round(K_EXT * K_scaling).astype(int)
    unit = psc_over_psp(NEURON["C_m"], NEURON["tau_m"], NEURON["tau_syn_ex"])
    psp = np.zeros((8, 8))
    psp[:, 0::2], psp[:, 1::2] = PSP_EXC_MEAN, PSP_EXC_MEAN * G
    psp[0, 2] = 2.0 * PSP_EXC_MEAN  # L4E -> L23E
    weights, weight_ext = psp * unit, PSP_EXC_MEAN * unit
    tau_syn = NEURON["tau_syn_ex"]
    dc = np.zeros(8) if poisson_input else BG_RATE * K_EXT * weight_ext * tau_syn * 0.001
    if K_scaling != 1:
        indegrees = full / FULL_NUM_NEURONS[:, np.newaxis]
        input_rec = np.sum(weights * indegrees * FULL_MEAN_RATES, axis=1)
        dc = dc + 0.001 * tau_syn * (1.0 - math.sqrt(K_scaling)) * input_rec
        if poisson_input:
            dc = dc + 0.001 * tau_syn * (1.0 - math.sqrt(K_scaling)) * weight_ext * K_EXT * BG_RATE
        weights, weight_ext = weights / math.sqrt(K_scaling), weight_ext / math.sqrt(K_scaling)
    return {"num_neurons": num_neurons, "num_synapses": num_synapses, "ext_indegrees": ext_indegrees,
            "weights": weights, "weight_ext": weight_ext, "DC_amp": dc,
            "poisson_rates": BG_RATE * ext_indegrees}


def projections(d: dict):
    """The recurrent projections of derived numbers ``d``: ``(target, source, synapses, mean weight pA, mean
    delay ms)`` for every pair of populations with synapses, in NEST's example's order."""
    for i in range(8):
        for j in range(8):
            n = int(d["num_synapses"][i, j])
            if n > 0:
                yield i, j, n, float(d["weights"][i, j]), DELAY_EXC_MEAN if j % 2 == 0 else DELAY_INH_MEAN


def _scalings(scale, N_scaling, K_scaling) -> tuple[float, float]:
    return (float(scale if N_scaling is None else N_scaling), float(scale if K_scaling is None else K_scaling))


def network(scale: float = 1.0, N_scaling: float | None = None, K_scaling: float | None = None, seed: int = 55,
            t_presim: float = 500.0, record: bool = True, poisson_input: bool = True,
            V0_type: str = "optimized", prefix: str = "", net: dsnn.Network | None = None,
            background: bool = True) -> dsnn.Network:
    """The microcircuit; ``scale`` multiplies neuron numbers and in-degrees (``N_scaling`` and
    ``K_scaling`` set them apart). The spike recorder, if ``record``, starts at ``t_presim`` ms.
    Without ``poisson_input`` a DC input replaces the Poisson background (NEST's option).

    ``prefix`` is put before the population labels, ``net`` is a network to add the circuit to, and
    ``background=False`` leaves the Poisson generators out (the multi-area model builds its areas so,
    with backgrounds of its own); returns the network.
    """
    if V0_type not in V0_MEAN:
        raise ValueError(f"V0_type must be one of {sorted(V0_MEAN)}, got {V0_type!r}")
    N_scaling, K_scaling = _scalings(scale, N_scaling, K_scaling)
    if not (0 < N_scaling <= 1 and 0 < K_scaling <= 1):
        raise ValueError(f"scale, N_scaling and K_scaling must be in (0, 1], got {N_scaling}, {K_scaling}")
    d = derived(N_scaling, K_scaling, poisson_input)
    if net is None:
        net = dsnn.Network(seed=seed, dt=0.1)
    pops = []
    for i, name in enumerate(POPULATIONS):
        params = dict(NEURON, I_e=float(d["DC_amp"][i]),
                      V_m=dsnn.random.normal(V0_MEAN[V0_type][i], V0_STD[V0_type][i]))
        pops.append(net.create("iaf_psc_exp", int(d["num_neurons"][i]), params, label=prefix + name))
    for i, j, n, w, mean_delay in projections(d):
        weight = dsnn.math.redraw(dsnn.random.normal(w, abs(w) * WEIGHT_REL_STD),
                                  min=None if w < 0 else 0.0, max=0.0 if w < 0 else None)
        delay = dsnn.math.redraw(dsnn.random.normal(mean_delay, mean_delay * DELAY_REL_STD), min=net.dt)
        net.connect(pops[j], pops[i], {"rule": "fixed_total_number", "N": n}, {"weight": weight, "delay": delay})
    if poisson_input and background:
        for i, target in enumerate(pops):
            pg = net.create("poisson_generator", params={"rate": float(d["poisson_rates"][i])},
                            label=f"{prefix}{POPULATIONS[i]}-background")
            net.connect(pg, target, syn_spec={"weight": float(d["weight_ext"]), "delay": DELAY_POISSON})
    if record:
        sr = net.create("spike_recorder", params={"start": float(t_presim)}, label=f"{prefix}spikes")
        for pop in pops:
            net.connect(pop, sr)
    return net


def nest_circuit(nest, d: dict, V0_type: str = "optimized", prefix: str = "") -> dict:
    """Create the microcircuit of derived numbers ``d`` (:func:`derived`) in NEST's current kernel;
    returns ``{label: NodeCollection}``."""
    pops = {}
    for i, name in enumerate(POPULATIONS):
        pop = nest.Create("iaf_psc_exp", int(d["num_neurons"][i]), dict(NEURON, I_e=float(d["DC_amp"][i])))
        pop.V_m = nest.random.normal(mean=V0_MEAN[V0_type][i], std=V0_STD[V0_type][i])
        pops[prefix + name] = pop
    nodes = list(pops.values())
    # NEST holds at most 2**27 - 2 connections per thread and synapse model: on 2 threads the full-scale
    # model's 3e8 static synapses need a second synapse model (the same static synapse) for the inhibitory ones
    if "static_synapse_inh" not in nest.synapse_models:
        nest.CopyModel("static_synapse", "static_synapse_inh")
    for i, j, n, w, mean_delay in projections(d):
        weight = nest.math.redraw(nest.random.normal(mean=w, std=abs(w) * WEIGHT_REL_STD),
                                  min=-math.inf if w < 0 else 0.0, max=0.0 if w < 0 else math.inf)
        delay = nest.math.redraw(nest.random.normal(mean=mean_delay, std=mean_delay * DELAY_REL_STD),
                                 min=nest.resolution, max=math.inf)
        nest.Connect(nodes[j], nodes[i], {"rule": "fixed_total_number", "N": n},
                     {"synapse_model": "static_synapse_inh" if w < 0 else "static_synapse", "weight": weight,
                      "delay": delay})
    return pops


def nest_network(nest, scale: float = 1.0, N_scaling: float | None = None, K_scaling: float | None = None,
                 seed: int = 55, t_presim: float = 500.0, poisson_input: bool = True, V0_type: str = "optimized",
                 threads: int = 1):
    """The same model in NEST 3 (the reference): resets the kernel; returns (spike_recorder,
    ``{label: NodeCollection}``)."""
    N_scaling, K_scaling = _scalings(scale, N_scaling, K_scaling)
    d = derived(N_scaling, K_scaling, poisson_input)
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = seed
    pops = nest_circuit(nest, d, V0_type)
    if poisson_input:
        for i, target in enumerate(pops.values()):
            pg = nest.Create("poisson_generator", params={"rate": float(d["poisson_rates"][i])})
            nest.Connect(pg, target, "all_to_all", {"weight": float(d["weight_ext"]), "delay": DELAY_POISSON})
    sr = nest.Create("spike_recorder", params={"start": float(t_presim)})
    for pop in pops.values():
        nest.Connect(pop, sr)
    return sr, pops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--time", type=float, default=1500.0, help="ms simulated, t_presim included")
    parser.add_argument("--t-presim", type=float, default=500.0)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--seed", type=int, default=55)
    args = parser.parse_args()
    t0 = time.perf_counter()
    net = network(scale=args.scale, seed=args.seed, t_presim=args.t_presim)
    sim = net.build(partitions=args.partitions, exchange=EXCHANGE)
    t1 = time.perf_counter()
    sim.run(args.time)
    t2 = time.perf_counter()
    rates = dsnn.results.population_rates(sim.spikes(), net, args.time)
    print(f"microcircuit scale {args.scale}: {sim.n_synapses:,} synapses, built in {t1 - t0:.1f} s "
          f"(of it {sim.compile_seconds:.1f} s loading the numba kernels), {args.time:g} ms simulated in "
          f"{t2 - t1:.1f} s")
    for name, ref in zip(POPULATIONS, FULL_MEAN_RATES):
        print(f"  {name:5s} {rates[name]:7.3f} spikes/s   (full scale, published: {ref:.3f})")


if __name__ == "__main__":
    main()
