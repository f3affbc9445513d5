"""Brunel's balanced random network (Brunel 2000, model A) in dsnn.

NE = 10,000 excitatory and NI = 2,500 inhibitory iaf_psc_exp neurons, each
receiving CE = 1,000 excitatory and CI = 250 inhibitory synapses (fixed
in-degree), J = 0.1 mV PSP (54.96 pA), g = 5, external Poisson drive eta = 2
(20 kHz per neuron), delay 1.5 ms. Parameters as in the benchmark of
../shared/REFERENCES.md. Run:
``python examples/brunel.py [--scale 0.2] [--time 1000] [--partitions 2 [--cluster]]``
(``--cluster``: on a local Dask cluster, one worker process per partition).
"""

from __future__ import annotations

import argparse
import time

import dsnn

NEURON = {"tau_m": 20.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5, "C_m": 250.0, "V_th": 20.0,
          "V_reset": 10.0, "t_ref": 2.0, "E_L": 0.0, "V_m": 0.0}


def psp_to_pA(J_mV: float, tau_m: float, tau_syn: float, C_m: float) -> float:
    """Current amplitude (pA) whose exponential PSC gives a PSP peak of J_mV."""
    import math

    t_max = math.log(tau_syn / tau_m) / (1 / tau_m - 1 / tau_syn)
    peak = (math.exp(-t_max / tau_m) - math.exp(-t_max / tau_syn)) / (1 / tau_syn - 1 / tau_m) / C_m
    return J_mV / peak


def network(scale: float = 1.0, seed: int = 12345, eta: float = 2.0, g: float = 5.0, J: float = 0.1,
            delay: float = 1.5, record: bool = True) -> dsnn.Network:
    """The Brunel network; ``scale`` multiplies the neuron numbers and in-degrees."""
    NE, NI = int(10000 * scale), int(2500 * scale)
    CE, CI = max(1, int(1000 * scale)), max(1, int(250 * scale))
    J_ex = psp_to_pA(J, NEURON["tau_m"], NEURON["tau_syn_ex"], NEURON["C_m"])
    theta = NEURON["V_th"] - NEURON["E_L"]
    nu_th = theta / (J * CE * NEURON["tau_m"])
    rate = 1000.0 * eta * nu_th * CE  # spikes/s of the whole external input
    net = dsnn.Network(seed=seed, dt=0.1)
    E = net.create("iaf_psc_exp", NE, NEURON, label="E")
    I = net.create("iaf_psc_exp", NI, NEURON, label="I")
    noise = net.create("poisson_generator", params={"rate": rate})
    net.connect(E, E, {"rule": "fixed_indegree", "indegree": CE}, {"weight": J_ex, "delay": delay})
    net.connect(E, I, {"rule": "fixed_indegree", "indegree": CE}, {"weight": J_ex, "delay": delay})
    net.connect(I, E, {"rule": "fixed_indegree", "indegree": CI}, {"weight": -g * J_ex, "delay": delay})
    net.connect(I, I, {"rule": "fixed_indegree", "indegree": CI}, {"weight": -g * J_ex, "delay": delay})
    net.connect(noise, E, syn_spec={"weight": J_ex, "delay": delay})
    net.connect(noise, I, syn_spec={"weight": J_ex, "delay": delay})
    if record:
        sr = net.create("spike_recorder", label="spikes")
        net.connect(E, sr)
        net.connect(I, sr)
    return net


def nest_network(nest, scale: float = 1.0, seed: int = 12345, eta: float = 2.0, g: float = 5.0,
                 J: float = 0.1, delay: float = 1.5, threads: int = 1):
    """The same network in NEST (the reference): returns (spike_recorder, number of neurons).

    ``nest`` is the imported NEST module; its kernel is reset first and runs
    ``threads`` threads.
    """
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = seed
    NE, NI = int(10000 * scale), int(2500 * scale)
    CE, CI = max(1, int(1000 * scale)), max(1, int(250 * scale))
    J_ex = psp_to_pA(J, NEURON["tau_m"], NEURON["tau_syn_ex"], NEURON["C_m"])
    rate = 1000.0 * eta * (NEURON["V_th"] - NEURON["E_L"]) / (J * CE * NEURON["tau_m"]) * CE
    E = nest.Create("iaf_psc_exp", NE, NEURON)
    I = nest.Create("iaf_psc_exp", NI, NEURON)
    noise = nest.Create("poisson_generator", params={"rate": rate})
    sr = nest.Create("spike_recorder")
    nest.Connect(E, E + I, {"rule": "fixed_indegree", "indegree": CE}, {"weight": J_ex, "delay": delay})
    nest.Connect(I, E + I, {"rule": "fixed_indegree", "indegree": CI}, {"weight": -g * J_ex, "delay": delay})
    nest.Connect(noise, E + I, syn_spec={"weight": J_ex, "delay": delay})
    nest.Connect(E + I, sr)
    return sr, NE + NI


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--time", type=float, default=500.0, help="simulated time in ms")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--cluster", action="store_true",
                        help="run on a local Dask cluster, one worker process per partition")
    parser.add_argument("--exchange", choices=["p2p", "collective"], default="p2p")
    args = parser.parse_args(argv)
    net = network(scale=args.scale)
    client = None
    if args.cluster:
        client = dsnn.local_cluster(args.partitions, dashboard=False)
    t0 = time.perf_counter()
    sim = net.build(client, partitions=args.partitions, exchange=args.exchange)
    t1 = time.perf_counter()
    sim.run(args.time)
    t2 = time.perf_counter()
    sr = [p for p in net.populations if p.model == "spike_recorder"][0]
    spikes = sim.spikes(sr)
    rate = len(spikes) / net.n_neurons / (args.time / 1000.0)
    print(f"Brunel network, scale {args.scale}: {net.n_neurons} neurons, {sim.n_synapses:,} synapses "
          f"on {args.partitions} partition(s){' (Dask cluster)' if client else ''}")
    print(f"  construction {t1 - t0:.2f} s (of it {sim.compile_seconds:.2f} s loading the numba kernels, "
          f"compiling them the first time), simulation of {args.time:g} ms {t2 - t1:.2f} s "
          f"(real-time factor {(t2 - t1) / (args.time / 1000):.2f})")
    print(f"  {len(spikes):,} spikes, mean rate {rate:.2f} spikes/s")
    sim.close()
    if client is not None:
        client.shutdown()
    return sim, spikes


if __name__ == "__main__":
    main()
