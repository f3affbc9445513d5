"""A multi-area model of cortex in dsnn, in the spirit of Schmidt et al. (2018).

Schmidt et al. (Brain Struct. Funct. 223, 2018; PLoS Comput. Biol. 14(10),
2018) model 32 areas of macaque visual cortex, each a Potjans–Diesmann
microcircuit, linked by sparse cortico-cortical projections with
distance-dependent delays; the NEST GPU study (arXiv:2512.09502) simulates
it with one area per GPU and point-to-point spike exchange. This model keeps
that structure at a size for a workstation, with simplifications stated here:

- ``n_areas`` areas (default 4) named after the first areas of the macaque
  model (``AREAS``), each the microcircuit of ``examples/microcircuit.py``
  scaled by ``scale``, populations labelled ``<area>/<population>``
  (``V1/L23E``, ...);
- cortico-cortical projections from the excitatory populations L23E, L5E and
  L6E of every area to all eight populations of every other area: each
  target neuron receives ``K_cc`` of them (× the in-degree scaling),
  split evenly over the source areas and source populations
  (``fixed_total_number``), with the microcircuit's excitatory weight and
  normal delays of mean distance / ``SPEED`` (relative std 0.5), the areas
  placed ``DISTANCE_MM`` apart along a line (Schmidt et al.: 3.5 mm/ms,
  inter-area distances of tens of mm);
- the Poisson background of each population is lowered by the mean input
  the cortico-cortical synapses bring at the full-scale microcircuit rates,
  so that each area's mean input stays that of an isolated microcircuit
  (Schmidt et al. likewise replace part of the external drive by
  cortico-cortical input).

One area per partition (``placement``) and point-to-point exchange
(``EXCHANGE``): a partition then sends only the spikes of neurons with
targets in other areas, which collective exchange would broadcast whole.

``python -m dsnn run examples/multi_area.py --partitions 4 --time 1000
--param scale=0.05`` runs it (the CLI takes ``EXCHANGE`` and ``placement``
from this file).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

import dsnn


def _microcircuit():
    name = "dsnn_example_microcircuit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("microcircuit.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # one module however often it is loaded (tests load it under this name)
        spec.loader.exec_module(module)
    return sys.modules[name]


mc = _microcircuit()

#: area names, in the order of Schmidt et al.'s model
AREAS = ["V1", "V2", "VP", "V3", "V3A", "MT", "V4t", "V4", "VOT", "MSTd", "PIP", "PO", "DP", "MIP", "MDP", "VIP",
         "LIP", "PITv", "PITd", "MSTl", "CITv", "CITd", "FEF", "TF", "AITv", "FST", "7a", "STPp", "STPa", "46",
         "AITd", "TH"]

#: excitatory populations that project to other areas
SOURCES = ["L23E", "L5E", "L6E"]

K_CC = 200  # cortico-cortical synapses per neuron at full in-degree
SPEED = 3.5  # mm/ms, conduction speed
DISTANCE_MM = 15.0  # between neighbouring areas
DELAY_REL_STD = 0.5

EXCHANGE = "p2p"


def _numbers(n_areas: int, scale: float, K_cc: float):
    """(areas, the scaled microcircuit's derived numbers, excitatory weight pA, cortico-cortical synapses
    per target neuron from each source population, their mean input in spikes/s per neuron)."""
    if not isinstance(n_areas, int) or not 2 <= n_areas <= len(AREAS):
        raise ValueError(f"n_areas must be an integer in 2..{len(AREAS)}, got {n_areas!r}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    if not K_cc >= 0:
        raise ValueError(f"K_cc must be >= 0, got {K_cc!r}")
    d = mc.derived(scale, scale)
    k_cc = int(round(K_cc * scale))  # per target neuron, from all other areas together
    # mean input the cortico-cortical synapses bring, at the full-scale rates of their sources
    source_rates = np.array([mc.FULL_MEAN_RATES[mc.POPULATIONS.index(s)] for s in SOURCES])
    return (AREAS[:n_areas], d, float(d["weights"][0, 4]), k_cc / ((n_areas - 1) * len(SOURCES)),
            k_cc * float(source_rates.mean()))


def _mean_delay(areas: list, source: str, target: str) -> float:
    """ms: the areas' distance over the conduction speed."""
    return DISTANCE_MM * abs(areas.index(source) - areas.index(target)) / SPEED


def network(n_areas: int = 4, scale: float = 0.05, K_cc: float = K_CC, seed: int = 55, t_presim: float = 500.0,
            record: bool = True) -> dsnn.Network:
    """The multi-area model: ``n_areas`` microcircuits scaled by ``scale``, linked as described above."""
    areas, d, w_exc, per_source, cc_rate = _numbers(n_areas, scale, K_cc)
    net = dsnn.Network(seed=seed, dt=0.1)
    pops = {}
    for area in areas:
        mc.network(scale=scale, t_presim=t_presim, record=False, prefix=f"{area}/", net=net, background=False)
        pops[area] = {name: p for p, name in zip(net.populations[-8:], mc.POPULATIONS)}
        for i, name in enumerate(mc.POPULATIONS):  # background, lowered by the cortico-cortical input
            rate = max(float(d["poisson_rates"][i]) - cc_rate, 0.0)
            pg = net.create("poisson_generator", params={"rate": rate}, label=f"{area}/{name}-background")
            net.connect(pg, pops[area][name], syn_spec={"weight": float(d["weight_ext"]), "delay": mc.DELAY_POISSON})
    for source_area, target_area in [(s, t) for s in areas for t in areas if s != t]:
        mean_delay = _mean_delay(areas, source_area, target_area)
        delay = dsnn.math.redraw(dsnn.random.normal(mean_delay, mean_delay * DELAY_REL_STD), min=net.dt)
        weight = dsnn.math.redraw(dsnn.random.normal(w_exc, w_exc * mc.WEIGHT_REL_STD), min=0.0)
        for target in pops[target_area].values():
            for name in SOURCES:
                n = int(round(per_source * target.n))
                if n > 0:
                    net.connect(pops[source_area][name], target, {"rule": "fixed_total_number", "N": n},
                                {"weight": weight, "delay": delay})
    if record:
        sr = net.create("spike_recorder", params={"start": float(t_presim)}, label="spikes")
        for area in areas:
            for pop in pops[area].values():
                net.connect(pop, sr)
    return net


def nest_network(nest, n_areas: int = 4, scale: float = 0.05, K_cc: float = K_CC, seed: int = 55,
                 t_presim: float = 500.0, threads: int = 1):
    """The same model in NEST 3 (the reference): resets the kernel; returns (spike_recorder,
    ``{label: NodeCollection}``)."""
    areas, d, w_exc, per_source, cc_rate = _numbers(n_areas, scale, K_cc)
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = seed
    pops = {}
    for area in areas:
        circuit = mc.nest_circuit(nest, d, prefix=f"{area}/")
        for i, target in enumerate(circuit.values()):
            pg = nest.Create("poisson_generator", params={"rate": max(float(d["poisson_rates"][i]) - cc_rate, 0.0)})
            nest.Connect(pg, target, "all_to_all", {"weight": float(d["weight_ext"]), "delay": mc.DELAY_POISSON})
        pops.update(circuit)
    for source_area, target_area in [(s, t) for s in areas for t in areas if s != t]:
        mean_delay = _mean_delay(areas, source_area, target_area)
        delay = nest.math.redraw(nest.random.normal(mean=mean_delay, std=mean_delay * DELAY_REL_STD),
                                 min=nest.resolution, max=float("inf"))
        weight = nest.math.redraw(nest.random.normal(mean=w_exc, std=w_exc * mc.WEIGHT_REL_STD), min=0.0,
                                  max=float("inf"))
        for name in mc.POPULATIONS:
            target = pops[f"{target_area}/{name}"]
            for source in SOURCES:
                n = int(round(per_source * len(target)))
                if n > 0:
                    nest.Connect(pops[f"{source_area}/{source}"], target, {"rule": "fixed_total_number", "N": n},
                                 {"synapse_model": "static_synapse", "weight": weight, "delay": delay})
    sr = nest.Create("spike_recorder", params={"start": float(t_presim)})
    for pop in pops.values():
        nest.Connect(pop, sr)
    return sr, pops


def placement(net: dsnn.Network, partitions: int) -> list:
    """One area per partition: ``partitions`` lists of populations for ``net.build`` (areas are dealt out
    in order when there are fewer partitions than areas)."""
    areas = list(dict.fromkeys(p.label.split("/")[0] for p in net.populations
                               if p.label and "/" in p.label and p.spec.kind == "neuron"))
    if not 1 <= partitions <= len(areas):
        raise ValueError(f"partitions must be in 1..{len(areas)} (one or more areas each), got {partitions}")
    bounds = np.linspace(0, len(areas), partitions + 1).round().astype(int)
    groups = [set(areas[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return [[p for p in net.populations if p.spec.kind == "neuron" and p.label.split("/")[0] in g] for g in groups]


if __name__ == "__main__":
    import time

    net = network()
    t0 = time.perf_counter()
    sim = net.build(partitions=placement(net, 4), exchange=EXCHANGE)
    t1 = time.perf_counter()
    sim.run(1000.0)
    print(f"{sim.n_synapses:,} synapses, built in {t1 - t0:.1f} s (of it {sim.compile_seconds:.1f} s loading the "
          f"numba kernels), 1 s simulated in {time.perf_counter() - t1:.1f} s")
    rates = dsnn.results.population_rates(sim.spikes(), net, 1000.0)
    for name, rate in rates.items():
        print(f"  {name:10s} {rate:7.3f} spikes/s")
