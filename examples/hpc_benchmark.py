"""NEST's hpc_benchmark balanced network with static synapses, in dsnn.

Per unit of ``scale``: NE = 9,000 excitatory and NI = 2,250 inhibitory
iaf_psc_alpha neurons. Every neuron receives CE = 9,000 excitatory and
CI = 2,250 inhibitory synapses (fixed in-degree, drawn from all excitatory /
all inhibitory neurons; autapses and multapses allowed, NEST's defaults),
independent of ``scale`` as in NEST's hpc_benchmark (``indegree_scale``
scales them, for small test networks only). Neurons: E_L = 0, C_m = 250 pF,
tau_m = 10 ms, t_ref = 0.5 ms, V_th = 20 mV, V_reset = 0 mV, tau_syn =
0.32582722403722841 ms (a PSP rise time of 1.700759 ms), initial V_m drawn
from normal(5.7 mV, 7.2 mV). Weights: J = 0.14 mV PSP peak, converted to an
alpha-current amplitude with NEST's ComputePSPnorm (J_ex = 45.61 pA),
J_in = -g J_ex with g = 5. External drive: one poisson_generator of rate
eta * nu_th * CE (eta = 1.685, nu_th = theta C_m / (J_ex CE e tau_m tau_syn))
onto every neuron with weight J_ex. All delays 1.5 ms, dt = 0.1 ms.

Sources: the parameters are those of NEST's ``hpc_benchmark.py``
(nest-simulator, ``pynest/examples/hpc_benchmark.py``; Morrison et al. 2007,
Helias et al. 2012, Kunkel et al. 2014) in the variant of the NEST GPU study
(Golosio et al. 2025, arXiv:2512.09502): static synapses everywhere (NEST's
version has STDP on E->E) and J = 0.14 mV. NEST's script forbids autapses;
here they are allowed (``allow_autapses=True``, NEST's default; pass False
for the original rule).

The in-degree does not shrink with ``scale``, so every partition needs
images of almost every neuron of the others: the model prefers the
collective exchange (``EXCHANGE``), ``net.build(partitions=P,
exchange=EXCHANGE)``. With plastic E -> E synapses an excitatory neuron
costs about four times an inhibitory one per spike received, so
``placement`` gives the partitions equal expected work
(``dsnn.balanced_sizes``) rather than equal numbers of neurons. Run:
``python examples/hpc_benchmark.py [--scale 0.2 --indegree-scale 0.1] [--time 500] [--partitions 2 [--cluster]]``
(``--cluster``: on a local Dask cluster, one worker process per partition).
"""

from __future__ import annotations

import argparse
import math
import time

import dsnn

EXCHANGE = "collective"  # the model's preferred spike exchange (see the docstring)

TAU_SYN = 0.32582722403722841  # ms; hpc_benchmark's value, PSP rise time 1.700759 ms at tau_m = 10 ms
NEURON = {"E_L": 0.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 0.5, "V_th": 20.0, "V_reset": 0.0,
          "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN, "tau_minus": 30.0}
#: NEST's hpc_benchmark.py: its E -> E synapses' power-law STDP (Morrison et al. 2007), used with plastic=True
STDP = {"synapse_model": "stdp_pl_synapse_hom", "alpha": 0.0513, "lambda": 0.1, "mu": 0.4, "tau_plus": 15.0}
V_M_MEAN, V_M_STD = 5.7, 7.2  # mV, hpc_benchmark's randomize_Vm
DELAY = 1.5  # ms, every connection
DT = 0.1  # ms


def lambert_wm1(x: float) -> float:
    """The lower branch W_{-1}(x) of Lambert's W for -1/e <= x < 0 (w e^w = x, w <= -1).

    Halley iterations from the branch-point series (x near -1/e) or the
    asymptotic series log(-x) - log(-log(-x)) (x near 0); converges to
    machine precision in a few steps.
    """
    x = float(x)
    if not -1.0 / math.e <= x < 0.0:
        raise ValueError(f"lambert_wm1: x must be in [-1/e, 0), got {x!r}")
    q = 1.0 + math.e * x
    if q <= 0.0:
        return -1.0
    if x < -0.25:
        p = -math.sqrt(2.0 * q)
        w = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p ** 3
    else:
        l1 = math.log(-x)
        l2 = math.log(-l1)
        w = l1 - l2 + l2 / l1
    for _ in range(100):
        ew = math.exp(w)
        f = w * ew - x
        w1 = w + 1.0
        if w1 == 0.0:
            break
        step = f / (ew * w1 - (w + 2.0) * f / (2.0 * w1))
        w_new = min(w - step, -1.0)
        if abs(w_new - w) <= 4 * math.ulp(w):
            w = w_new
            break
        w = w_new
    return w


def compute_psp_norm(tau_m: float, C_m: float, tau_syn: float) -> float:
    """Peak (mV) of the PSP of an alpha current of amplitude 1 pA (NEST's ComputePSPnorm).

    The alpha current (e/tau_syn) t exp(-t/tau_syn) peaks at 1 pA at t = tau_syn;
    the PSP peaks at t_max = (-W_{-1}(-exp(-1/a)/a) - 1/a) / b with
    a = tau_m/tau_syn, b = 1/tau_syn - 1/tau_m.
    """
    if tau_syn == tau_m:
        raise ValueError("compute_psp_norm: tau_syn must differ from tau_m")
    a = tau_m / tau_syn
    b = 1.0 / tau_syn - 1.0 / tau_m
    t_max = 1.0 / b * (-lambert_wm1(-math.exp(-1.0 / a) / a) - 1.0 / a)
    return (math.e / (tau_syn * C_m * b)
            * ((math.exp(-t_max / tau_m) - math.exp(-t_max / tau_syn)) / b - t_max * math.exp(-t_max / tau_syn)))


def psp_to_pA(J_mV: float, tau_m: float, tau_syn: float, C_m: float) -> float:
    """Current amplitude (pA) whose alpha PSC gives a PSP peak of J_mV."""
    return J_mV / compute_psp_norm(tau_m, C_m, tau_syn)


def parameters(scale: float = 1.0, J: float = 0.14, g: float = 5.0, eta: float = 1.685,
               indegree_scale: float = 1.0) -> dict:
    """Derived numbers: population sizes, in-degrees, weights (pA), Poisson rate (spikes/s)."""
    if not scale > 0 or not indegree_scale > 0:
        raise ValueError(f"scale and indegree_scale must be > 0, got {scale!r} and {indegree_scale!r}")
    NE, NI = int(9000 * scale), int(2250 * scale)
    CE, CI = max(1, int(9000 * indegree_scale)), max(1, int(2250 * indegree_scale))
    if NE < 1 or NI < 1:
        raise ValueError(f"scale {scale!r} leaves an empty population (NE={NE}, NI={NI})")
    J_ex = psp_to_pA(J, NEURON["tau_m"], NEURON["tau_syn_ex"], NEURON["C_m"])
    theta = NEURON["V_th"] - NEURON["E_L"]
    nu_th = theta * NEURON["C_m"] / (J_ex * CE * math.e * NEURON["tau_m"] * TAU_SYN)  # per ms
    rate = 1000.0 * eta * nu_th * CE  # spikes/s of the whole external input to one neuron
    return {"NE": NE, "NI": NI, "CE": CE, "CI": CI, "J_ex": J_ex, "J_in": -g * J_ex, "rate": rate}


def network(scale: float = 1.0, seed: int = 12345, J: float = 0.14, g: float = 5.0, eta: float = 1.685,
            indegree_scale: float = 1.0, record: bool = True, record_from: float = 0.0,
            allow_autapses: bool = True, partitions: int = 1, plastic: bool = False) -> dsnn.Network:
    """The hpc_benchmark network; build it with ``exchange=EXCHANGE``.

    ``scale`` multiplies the neuron numbers (11,250 per unit) of each of
    ``partitions`` partitions, as the NEST GPU study's weak scaling does
    (11,250 × scale neurons per GPU; pass the number of partitions you build
    with), not the in-degrees; ``indegree_scale`` multiplies the in-degrees (9,000 and
    2,250; the Poisson rate compensates, so the external drive stays the
    same). ``record``: a spike_recorder (label "spikes") on all neurons,
    recording from ``record_from`` ms on. ``plastic``: E -> E synapses with
    NEST's original power-law STDP (:data:`STDP`, stdp_pl_synapse_hom), as
    NEST's hpc_benchmark.py has them; static otherwise, as the NEST GPU
    study runs it.
    """
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise ValueError(f"partitions must be a positive integer, got {partitions!r}")
    p = parameters(scale * partitions, J, g, eta, indegree_scale)
    net = dsnn.Network(seed=seed, dt=DT)
    neuron = dict(NEURON, V_m=dsnn.random.normal(mean=V_M_MEAN, std=V_M_STD))
    E = net.create("iaf_psc_alpha", p["NE"], neuron, label="E")
    I = net.create("iaf_psc_alpha", p["NI"], neuron, label="I")
    noise = net.create("poisson_generator", params={"rate": p["rate"]})
    rule = {"allow_autapses": allow_autapses, "allow_multapses": True}
    for post in (E, I):
        plastic_here = STDP if plastic and post is E else {}
        net.connect(E, post, {"rule": "fixed_indegree", "indegree": p["CE"], **rule},
                    {"weight": p["J_ex"], "delay": DELAY, **plastic_here})
        net.connect(I, post, {"rule": "fixed_indegree", "indegree": p["CI"], **rule},
                    {"weight": p["J_in"], "delay": DELAY})
        net.connect(noise, post, syn_spec={"weight": p["J_ex"], "delay": DELAY})
    if record:
        sr = net.create("spike_recorder", params={"start": float(record_from)}, label="spikes")
        net.connect(E, sr)
        net.connect(I, sr)
    return net


def nest_network(nest, scale: float = 1.0, seed: int = 12345, J: float = 0.14, g: float = 5.0,
                 eta: float = 1.685, indegree_scale: float = 1.0, record: bool = True,
                 record_from: float = 0.0, allow_autapses: bool = True, threads: int = 1, partitions: int = 1,
                 plastic: bool = False):
    """The same network in NEST 3 (the reference): returns (spike_recorder or None, {"E": E, "I": I}).

    ``nest`` is the imported NEST module; its kernel is reset first and runs
    ``threads`` threads. Node ids are those of :func:`network` (E, I, the
    generator, the recorder).
    """
    p = parameters(scale * partitions, J, g, eta, indegree_scale)
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = DT
    nest.rng_seed = seed
    E = nest.Create("iaf_psc_alpha", p["NE"], NEURON)
    I = nest.Create("iaf_psc_alpha", p["NI"], NEURON)
    neurons = E + I
    neurons.V_m = nest.random.normal(mean=V_M_MEAN, std=V_M_STD)
    noise = nest.Create("poisson_generator", params={"rate": p["rate"]})
    sr = nest.Create("spike_recorder", params={"start": float(record_from)}) if record else None
    rule = {"allow_autapses": allow_autapses, "allow_multapses": True}
    if plastic:  # NEST takes a _hom synapse's parameters on the model
        nest.CopyModel("stdp_pl_synapse_hom", "stdp_hpc", {k: v for k, v in STDP.items() if k != "synapse_model"})
        nest.Connect(E, E, {"rule": "fixed_indegree", "indegree": p["CE"], **rule},
                     {"synapse_model": "stdp_hpc", "weight": p["J_ex"], "delay": DELAY})
    nest.Connect(E, I if plastic else neurons, {"rule": "fixed_indegree", "indegree": p["CE"], **rule},
                 {"synapse_model": "static_synapse", "weight": p["J_ex"], "delay": DELAY})
    nest.Connect(I, neurons, {"rule": "fixed_indegree", "indegree": p["CI"], **rule},
                 {"synapse_model": "static_synapse", "weight": p["J_in"], "delay": DELAY})
    nest.Connect(noise, neurons, syn_spec={"weight": p["J_ex"], "delay": DELAY})
    if record:
        nest.Connect(neurons, sr)
    return sr, {"E": E, "I": I}


def placement(net: dsnn.Network, partitions: int) -> list:
    """What ``net.build(partitions=...)`` takes: ``partitions`` blocks of equal expected work, which the
    plastic E -> E synapses make smaller on the excitatory side (equal sizes for the static network)."""
    return dsnn.balanced_sizes(net, partitions)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2, help="neurons: 11,250 per unit")
    parser.add_argument("--indegree-scale", type=float, default=0.1,
                        help="multiplies the in-degrees 9,000/2,250 (1 = NEST's hpc_benchmark)")
    parser.add_argument("--time", type=float, default=500.0, help="recorded simulated time in ms")
    parser.add_argument("--presim", type=float, default=100.0, help="unrecorded warm-up in ms")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--cluster", action="store_true",
                        help="run on a local Dask cluster, one worker process per partition")
    parser.add_argument("--exchange", choices=["p2p", "collective"], default=EXCHANGE)
    parser.add_argument("--plastic", action="store_true",
                        help="E -> E synapses with NEST's power-law STDP (stdp_pl_synapse_hom), as NEST's original")
    args = parser.parse_args(argv)
    net = network(scale=args.scale, seed=args.seed, indegree_scale=args.indegree_scale,
                  record_from=args.presim, plastic=args.plastic)
    client = None
    if args.cluster:
        client = dsnn.local_cluster(args.partitions, dashboard=False)
    t0 = time.perf_counter()
    sim = net.build(client, partitions=placement(net, args.partitions), exchange=args.exchange)
    t1 = time.perf_counter()
    sim.run(args.presim + args.time)
    t2 = time.perf_counter()
    spikes = sim.spikes()
    kind = "plastic E -> E" if args.plastic else "static"
    print(f"hpc_benchmark ({kind} synapses), scale {args.scale}, in-degree scale {args.indegree_scale}: "
          f"{net.n_neurons} neurons, {sim.n_synapses:,} synapses on {args.partitions} partition(s)"
          f"{' (Dask cluster)' if client else ''}, {args.exchange} exchange")
    print(f"  construction {t1 - t0:.2f} s (of it {sim.compile_seconds:.2f} s loading the numba kernels), "
          f"simulation of {args.presim + args.time:g} ms {t2 - t1:.2f} s "
          f"(real-time factor {(t2 - t1) / ((args.presim + args.time) / 1000):.2f})")
    for pop in net.neuron_populations:
        n = int((spikes.population == pop.label).sum())
        print(f"  {pop.label}: {n:,} spikes, {n / pop.n / (args.time / 1000.0):.2f} spikes/s "
              f"(after {args.presim:g} ms warm-up)")
    sim.close()
    if client is not None:
        client.shutdown()
    return sim, spikes


if __name__ == "__main__":
    main()
