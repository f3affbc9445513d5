"""A Brunel-like balanced network of adaptive exponential integrate-and-fire neurons with conductance
synapses (aeif_cond_alpha) in dsnn.

N = 10,000 aeif_cond_alpha neurons (NEST's defaults, t_ref 2 ms), 8,000
excitatory and 2,000 inhibitory, each receiving 1,000 synapses (fixed
in-degree: 800 excitatory of w_ex = 1 nS peak conductance, 200 inhibitory of
w_in = g w_ex) and independent Poisson drive (``rate`` spikes/s, w_ex),
delay 1.5 ms: the benchmark issue 18 asks for (10,000 neurons of 1,000
synapses each), the size of Brunel's network (examples/brunel.py) with
the neuron that NEST integrates adaptively (GSL's RKF45 in every step).
Run: ``python examples/brunel_adex.py [--scale 0.2] [--time 500] [--partitions 2 [--cluster]]``.
"""

from __future__ import annotations

import argparse
import time

import dsnn

MODEL = "aeif_cond_alpha"
NEURON = {"t_ref": 2.0}


def _sizes(scale: float) -> tuple:
    NE, NI = int(8000 * scale), int(2000 * scale)
    CE, CI = max(1, int(800 * scale)), max(1, int(200 * scale))
    return NE, NI, CE, CI


def network(scale: float = 1.0, seed: int = 12345, w_ex: float = 1.0, g: float = 1.2, rate: float = 25000.0,
            delay: float = 1.5, record: bool = True, exact_conductances: bool = False) -> dsnn.Network:
    """The network; ``scale`` multiplies the neuron numbers and in-degrees (the Poisson drive stays);
    ``exact_conductances``: dsnn's option of the neuron model (the conductances solved exactly, V_m and w
    integrated adaptively), not NEST's."""
    NE, NI, CE, CI = _sizes(scale)
    net = dsnn.Network(seed=seed, dt=0.1)
    neuron = {**NEURON, "exact_conductances": float(exact_conductances)}
    E = net.create(MODEL, NE, {**neuron, "V_m": dsnn.random.uniform(-70.6, -55.0)}, label="E")
    I = net.create(MODEL, NI, {**neuron, "V_m": dsnn.random.uniform(-70.6, -55.0)}, label="I")
    noise = net.create("poisson_generator", params={"rate": rate})
    for post in (E, I):
        net.connect(E, post, {"rule": "fixed_indegree", "indegree": CE}, {"weight": w_ex, "delay": delay})
        net.connect(I, post, {"rule": "fixed_indegree", "indegree": CI}, {"weight": -g * w_ex, "delay": delay})
        net.connect(noise, post, syn_spec={"weight": w_ex, "delay": delay})
    if record:
        sr = net.create("spike_recorder", label="spikes")
        net.connect(E, sr)
        net.connect(I, sr)
    return net


def nest_network(nest, scale: float = 1.0, seed: int = 12345, w_ex: float = 1.0, g: float = 1.2,
                 rate: float = 25000.0, delay: float = 1.5, threads: int = 1, exact_conductances: bool = False):
    """The same network in NEST (the reference): returns (spike_recorder, number of neurons). ``nest`` is
    the imported NEST module; its kernel is reset first and runs ``threads`` threads. NEST has no
    ``exact_conductances``: it always integrates the conductances with V_m and w (taken and ignored, so
    that one set of parameters serves both)."""
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = seed
    NE, NI, CE, CI = _sizes(scale)
    v0 = nest.random.uniform(-70.6, -55.0)
    E = nest.Create(MODEL, NE, {**NEURON, "V_m": v0})
    I = nest.Create(MODEL, NI, {**NEURON, "V_m": v0})
    noise = nest.Create("poisson_generator", params={"rate": rate})
    sr = nest.Create("spike_recorder")
    nest.Connect(E, E + I, {"rule": "fixed_indegree", "indegree": CE}, {"weight": w_ex, "delay": delay})
    nest.Connect(I, E + I, {"rule": "fixed_indegree", "indegree": CI}, {"weight": -g * w_ex, "delay": delay})
    nest.Connect(noise, E + I, syn_spec={"weight": w_ex, "delay": delay})
    nest.Connect(E + I, sr)
    return sr, NE + NI


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--time", type=float, default=500.0, help="simulated time in ms")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--cluster", action="store_true",
                        help="run on a local Dask cluster, one worker process per partition")
    args = parser.parse_args(argv)
    net = network(scale=args.scale)
    client = dsnn.local_cluster(args.partitions, dashboard=False) if args.cluster else None
    t0 = time.perf_counter()
    sim = net.build(client, partitions=args.partitions)
    t1 = time.perf_counter()
    sim.run(args.time)
    t2 = time.perf_counter()
    spikes = sim.spikes(net.populations[-1])
    rate = len(spikes) / net.n_neurons / (args.time / 1000.0)
    print(f"Brunel-like AdEx network ({MODEL}), scale {args.scale}: {net.n_neurons} neurons, "
          f"{sim.n_synapses:,} synapses on {args.partitions} partition(s){' (Dask cluster)' if client else ''}")
    print(f"  construction {t1 - t0:.2f} s, simulation of {args.time:g} ms {t2 - t1:.2f} s "
          f"(real-time factor {(t2 - t1) / (args.time / 1000):.2f})")
    print(f"  {len(spikes):,} spikes, mean rate {rate:.2f} spikes/s")
    sim.close()
    if client is not None:
        client.shutdown()
    return sim, spikes


if __name__ == "__main__":
    main()
