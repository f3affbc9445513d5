"""Weak and strong scaling on this machine, a cost model fitted to them, and its projection to 128–1,024 GPUs.

Run from the repository root::

    python benchmarks/scaling.py                      # points 1,2,4,8: ~4 minutes on 2 cores, peak ~4 GB
    python benchmarks/scaling.py --quick              # tiny networks, points 1,2: a smoke run (~15 s)
    python benchmarks/scaling.py --points 1,2 --time 200
    python benchmarks/scaling.py --from-json benchmarks/results/scaling-2026-11-24.json   # refit, no runs
    python benchmarks/scaling.py --no-run             # the same, from the newest results/scaling-*.json

Other options: ``--repeats N`` (runs per point, the fastest kept; default
2, ``--quick`` 1), ``--probe-intervals N``, ``--calibration-scale S``
(default 10, ``--quick`` 0: none), ``--hpc-rate HZ`` and ``--mam-rate HZ``
(rates used in the projection), ``--gpu-ns-per-event``,
``--gpu-latency-us``, ``--gpu-bandwidth-gbs``, ``--gpu-build-factor``,
``--sw-us-per-message``, ``--gpu-imbalance`` (the GPU assumptions below).
A run writes ``benchmarks/results/scaling-<date>.json`` (``--quick``:
``scaling-<date>-quick.json``) with every measured figure, the fitted
constants, the residuals and the projection; ``--from-json``/``--no-run``
only print (the options of the projection apply to them too).

The fit and the projection are importable (pure functions of the measured
JSON and of the fitted constants)::

    import json
    from benchmarks.scaling import fit, gpu_assumptions, projection, project_hpc, project_multi_area
    c = fit(json.load(open("benchmarks/results/scaling-2026-11-24.json")))
    gpu = gpu_assumptions(c)                      # GPU constants (see below)
    project_hpc(1024, c, gpu, rate_hz=7.5)        # {"construction_s": ..., "rtf": ..., parts ...}

What is measured
----------------
Each point P is a fresh ``distributed.LocalCluster(n_workers=P,
threads_per_worker=1, dashboard_address=None)``: P single-threaded worker
processes, one partition each. This machine has 2 cores, so **P = 4 and 8
oversubscribe the cores** (2 and 4 processes per core, time-shared): their
wall times measure the machine, not the method, and the output and the JSON
flag them (``oversubscribed``). Other users' processes share the machine
too (the JSON records the load average). On every new cluster a tiny copy
of both models is built and run first (the workers load the numba kernels),
then each point is built and run ``--repeats`` times (default 2): the
fastest simulation is kept with its timers, and the fastest construction.

- Weak scaling: ``examples/hpc_benchmark.py`` with ``network(scale=s,
  indegree_scale=k, partitions=P)`` (``scale`` is per partition: 11,250·s
  neurons each), default s = 0.2 (2,250 neurons per partition) and the
  study's full in-degree (k = 1: 9,000 + 2,250 per neuron; 25.3 M synapses
  per partition), collective exchange (the model's ``EXCHANGE``), 500 ms.
- Strong scaling: ``examples/multi_area.py`` with ``n_areas=8, scale=0.02``
  (12,352 neurons, ~1.0 M synapses; more areas where the largest P is above
  8) whatever P, placed by the model's ``placement(net, P)`` (the 8 areas
  dealt out in order: 8, 4, 2, 1 areas per partition), point-to-point
  exchange (its ``EXCHANGE``), 300 ms.
- In-process references: each model at every P built with ``client=None``
  (every partition in this process, one after the other: no
  oversubscription, no transport): the partitions' summed compute.
- Latency probe (at every P > 1, both exchange modes): the ring network of
  ``benchmarks/exchange.py`` (10 neurons per partition, min delay 0.1 ms),
  2,000 intervals: the per-interval cost of the exchange with next to no
  compute.
- Calibration: hpc_benchmark at scale 10 (112,500 neurons, 1.27e9
  synapses: one GPU's share in the study) on one partition in-process,
  300 ms (~1 minute to build, ~4 GB): its rate after 100 ms is the
  projection's, its build time per synapse the projected construction's.

For each point: construction wall time (``net.build``), simulation wall time
(``sim.run``), RTF (simulation wall time / simulated time), per partition
the actors' ``sim.timers`` (seconds in update, deliver, exchange, wait),
neurons, images, synapses and spikes (from the partitions' counters; no
spike recorder, ``record=False``), messages and payload bytes sent; in all
``sim.exchanged_bytes()`` (payload) and ``sim.exchanged_bytes(headers=True)``
(with the 56-byte message headers); intervals = ceil(T / min delay), the
min delay being ``net.min_delay_steps · net.dt``.

Synaptic events (a proxy): for every projection from neurons,
events = (spikes of its source population / that population's size) ×
(its synapses onto the partition), summed over projections. The synapses per
partition are the rule's expectation (fixed in-degree: K × targets there;
fixed total number: N × the share of targets there; ...), checked against
the partitions' actual synapse counts (``synapses_expected`` vs
``synapses``). Exact in expectation where sources are drawn uniformly
(fixed in-degree, fixed total number), so within a population every neuron
has the same mean out-degree onto the partition. Received spikes per
partition: collective, every other partition's spikes (all are filtered
through the image map); p2p, the other partitions' spikes × images /
(neurons not on the partition) (images assumed as active as the mean).

The cost model (all of it an assumption; the residuals show how well it fits)
-----------------------------------------------------------------------------
Compute of partition p over a run, one process on a core of its own:

    compute_p = c_neuron·U_p + c_pop·B_p·I + c_syn·E_p + c_rx·R_p + c_proj·G_p·D_p

U: neuron updates (neurons × steps; includes the Poisson input, drawn per
neuron and step), B: neuron populations on p (per-interval kernel calls),
E: synaptic events delivered, R: spikes received (routing and the
collective's image filter), G: projections with targets on p (delivery
loops over the synapse groups), I: intervals, D: intervals in which p has
spikes to deliver (expected, spikes arriving as a Poisson process:
I·(1 − exp(−(own + received spikes)/I)); the multi-area model at this size
has fewer than one spike per interval). Update time is fitted on [U, B·I],
delivery time on [E, R, G·D], on the per-partition timers of the
1-partition cluster points and the in-process references (their
"exchange" timer, routing and filtering, counted as delivery).

Simulation wall time of a cluster point (P > 1):

    T_sim = ov(P) · (kappa · max_p compute_p · (1 + beta) + alpha_mode · m(P) · I) + bytes_rx / bandwidth
    ov(P) = max(1, P / cores)

kappa: how much slower a partition computes while others run at once (the
cores' shared caches and memory bandwidth, other processes), fitted on the
compute timers of the points with 2 <= P <= cores; ov(P) assumes that
oversubscribed processes share the cores evenly. m(P): messages a
partition sends per interval (collective: ceil(log2 P) Bruck rounds; p2p:
its peers). alpha (seconds per message, one per exchange mode) is fitted on
the probe at 2 <= P <= cores from its exchange + wait timers (the partition
waiting least, per interval; benchmarks/exchange.py's 59 / 95 µs where no
such probe ran). beta: the rest of the wall time at 2 <= P <= cores as a
share of the busiest partition's compute (waiting for a partition that a
busier interval or another process delayed); imbalance enters otherwise
only through max_p, and its growth with P (arXiv:2602.23274) is not
modelled. The loopback bandwidth is not identifiable from these points (a
few kB per interval): assumed 1 GB/s. Not modelled either: the client's
per-run cost (its calls to the actors, polled every 50 ms: ~0.1 s a run,
which shows in the residuals of the tiny ``--quick`` runs).

Construction (wall time of ``net.build``):

    construction = k0 + k_task · tasks + ov · (k_syn · S_max + k_img · I_max + k_proj · G_max)

tasks: the Dask tasks and actor calls of the construction graph
(7P + pairs of partitions with needed neurons: dsnn-need-p-q has one task
per pair), S_max / I_max / G_max: synapses / images / projections of the
busiest partition, ov = max(1, P/cores). Fitted on every cluster point and
the in-process references (these with sums over partitions and no k0 or
tasks: no Dask).

Every fit is ``numpy.linalg.lstsq`` with rows weighted by 1/measured (so
relative errors count); a constant that comes out negative is dropped (set
to 0) and the fit redone; the output lists the dropped ones.

The projection to GPUs (pure functions of the fitted constants:
:func:`project_hpc`, :func:`project_multi_area`, :func:`gpu_assumptions`)
------------------------------------------------------------------------------
- GPU compute = g × the CPU constants (c_syn, c_neuron, c_rx): one speed-up
  factor g for all per-event, per-neuron and per-spike work, calibrated on
  the H100 figure in ``benchmarks/RESULTS.md`` (Brunel, full scale, one
  H100: 0.18 s per simulated second; 12,500 neurons, 15.625e6 synapses,
  38.41 spikes/s, so 6.0e8 events and 1.25e8 neuron updates per second),
  after subtracting the per-interval overhead below; ``--gpu-ns-per-event``
  sets g·c_syn directly instead. Not measured at the study's 112,500
  neurons per GPU.
- GPU per-interval overhead: 48.4 µs per neuron population and interval
  (RESULTS.md: the microcircuit at scale 0.1 on one H100, latency-bound,
  3.87 s per simulated second = 0.387 ms per 0.1 ms interval for its 8
  populations; assumed proportional to the populations). Delivery is one
  fused launch there, so no per-projection term.
- Messages: latency per message = network latency (default 2 µs,
  InfiniBand) + dsnn's software cost per message (default: alpha fitted
  here over loopback TCP, which includes the loopback's own latency, so an
  upper bound for the software part); the collective takes ceil(log2 P)
  rounds, p2p one message per peer (in sequence).
- Bandwidth: 25 GB/s per GPU (default); 16 bytes per spike (gid and step
  as int64) + 56 bytes per message; the collective brings every other
  GPU's spikes to every GPU.
- hpc_benchmark (weak): 112,500 neurons per GPU (11,250 × 10), in-degree
  11,250, min delay 1.5 ms, 2 populations; rate: measured here in a
  calibration run of one GPU's share (hpc_benchmark at scale 10 = 112,500
  neurons, 1.27e9 synapses, on one partition in-process, 300 ms; the rate
  after the first 100 ms; ``--calibration-scale``, 0 to skip: then the
  largest weak point's rate), or ``--hpc-rate``. The calibration run also
  enters the fits as an in-process point (its construction and compute at
  the study's per-GPU size, ~4 GB). Images per GPU: the expected distinct remote
  sources, (N − n)·(1 − exp(−n·K/N)).
- multi-area (strong, 32 areas): 4.13 M neurons, 24.2e9 synapses, min delay
  0.1 ms (NEST's benchmark page), areas of equal size, ceil(32/P) areas
  (8 populations each) on the busiest GPU, every GPU a peer of every other
  (our model's all-to-all area graph; Schmidt et al.'s is sparser); rate
  3.25 spikes/s (the full-scale microcircuit's mean, ``--mam-rate``); images:
  every neuron of the other areas' projecting populations (L23E, L5E, L6E:
  51.7 % of a microcircuit's neurons).
- Each GPU has a host of its own: kappa = 1 and ov = 1; beta = 0 by
  default (``--gpu-imbalance``), since the beta fitted here mostly measures
  this shared 2-core machine.
- Construction on a GPU: k_syn, k_img and k_proj measured here × a build
  factor; where the calibration run exists, its build time / its synapses
  replaces k_syn (one GPU's share, 1.27e9 synapses, built on one core:
  the per-synapse cost grows with the partition, so k_syn fitted on the
  small points underestimates it; ``--fitted-k-syn`` keeps k_syn). Build
  factor (default 1: dsnn draws every partition on its host's CPU, then
  copies it to the GPU; RESULTS.md's full-scale microcircuit took 158 s to
  build on the H100 machine against 91-182 s here), plus k0 + k_task ·
  tasks with tasks = 7P + P(P − 1) (all pairs need each other in both
  models: the P² need tasks are extrapolated from P <= 8). Projections on
  the busiest GPU: 4 (hpc_benchmark); multi-area, per area 8·8 local +
  8·3·(areas − 1) cortico-cortical (our model's structure).
- The study's figures (``shared/REFERENCES.md``): hpc_benchmark s = 10 on
  128 → 1,024 A100s, construction 1.5 → 2.6 s and RTF 9.2 → 56.6 (the
  intermediate GPU counts are interpolated log-linearly in P and marked ~);
  multi-area strong scaling on 8/16/24/32 GPUs 98.9/74.8/68.7/65.5 s and
  RTF 27.2/19.0/15.9/14.6, metastable on 32 GPUs 55.5 s and RTF 14.5. The
  study ran A100s; the GPU constants here come from an H100.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BYTES_PER_SPIKE = 16  # payload: (gid or slot, step) as two int64
HEADER_BYTES = 56  # per message (dsnn.exchange.channels)
LOCAL_BANDWIDTH = 1e9  # B/s over loopback TCP: an assumption (not identifiable here)
#: per-message cost (s) measured by benchmarks/exchange.py (2 partitions, tcp), used where no P = 2 point ran
EXCHANGE_PY_ALPHA = {"p2p": 59e-6, "collective": 95e-6}


# ============================================================================ configuration

@dataclasses.dataclass(frozen=True)
class Series:
    """One scaling series: a model file, its parameters, the simulated time (ms)."""

    name: str  # "weak" or "strong"
    file: str
    params: dict
    time_ms: float


def series(quick: bool, time_ms: float | None, max_points: int) -> list:
    """The weak (hpc_benchmark) and strong (multi-area) series; ``time_ms`` overrides both times."""
    areas = max(8, max_points)
    hpc, mam = "examples/hpc_benchmark.py", "examples/multi_area.py"
    if quick:
        weak = Series("weak", hpc, {"scale": 0.02, "indegree_scale": 0.05, "record": False}, 100.0)
        strong = Series("strong", mam, {"n_areas": areas, "scale": 0.005, "t_presim": 0.0, "record": False}, 50.0)
    else:
        weak = Series("weak", hpc, {"scale": 0.2, "indegree_scale": 1.0, "record": False}, 500.0)
        strong = Series("strong", mam, {"n_areas": areas, "scale": 0.02, "t_presim": 0.0, "record": False}, 300.0)
    if time_ms is not None:
        weak, strong = (dataclasses.replace(s, time_ms=float(time_ms)) for s in (weak, strong))
    return [weak, strong]


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def oversubscription(P: int, n_cores: int) -> float:
    """ov(P) = max(1, P / cores): how many partitions share a core."""
    return max(1.0, P / n_cores)


# ============================================================================ measuring

def _module(path: str):
    from dsnn.cli import load_model

    return load_model(ROOT / path)


def _network(s: Series, module, P: int):
    """The series' network for P partitions (hpc_benchmark's ``scale`` is per partition)."""
    params = dict(s.params, partitions=P) if s.name == "weak" else dict(s.params)
    return module.network(**params)


def _layout(module, net, P: int):
    placement = getattr(module, "placement", None)
    return placement(net, P) if placement else P


def expected_synapses(rule, n_pre: int, n_post: int, n_post_p: np.ndarray) -> np.ndarray:
    """Expected synapses of a projection onto each partition, from its rule (``n_post_p``: its targets there)."""
    v = rule.value
    share = n_post_p / max(n_post, 1)
    return {"fixed_indegree": lambda: v * n_post_p, "fixed_total_number": lambda: v * share,
            "fixed_outdegree": lambda: v * n_pre * share, "all_to_all": lambda: n_pre * n_post_p.astype(float),
            "one_to_one": lambda: n_post_p.astype(float),
            "pairwise_bernoulli": lambda: v * n_pre * n_post_p}[rule.name]() * 1.0


def partition_features(net, bounds, pop_spikes: dict) -> dict:
    """Per partition (arrays): populations there, projections into it, expected synapses and synaptic events.

    ``bounds``: the decomposition's bounds in the neuron order; ``pop_spikes``:
    spikes per population index over the run. Loops over projections only.
    """
    lo, hi = np.asarray(bounds[:-1]), np.asarray(bounds[1:])
    start, offset = {}, 0
    for pop in net.neuron_populations:
        start[pop.index] = offset
        offset += pop.n

    def targets_on(pop):
        first = start[pop.root.index] + pop.first - pop.root.first
        return np.clip(np.minimum(hi, first + pop.n) - np.maximum(lo, first), 0, None)

    P = lo.shape[0]
    populations = np.sum([targets_on(p) > 0 for p in net.neuron_populations], axis=0)
    events, synapses, projections = np.zeros(P), np.zeros(P), np.zeros(P, dtype=int)
    for proj in net.projections:
        if proj.kind != "synapse" or not proj.pre.spec.is_neuron:
            continue
        n_post_p = targets_on(proj.post)
        syn = expected_synapses(proj.rule, proj.pre.n, proj.post.n, n_post_p)
        root = proj.pre.root
        events += pop_spikes.get(root.index, 0) / root.n * syn
        synapses += syn
        projections += n_post_p > 0
    return {"populations": populations.tolist(), "projections": projections.tolist(),
            "synapses_expected": synapses.tolist(), "events": events.tolist()}


def received_spikes(exchange: str, spikes, neurons, images) -> list:
    """Spikes each partition receives: collective, all others'; p2p, others' × images / remote neurons."""
    spikes, neurons, images = (np.asarray(a, dtype=float) for a in (spikes, neurons, images))
    others = spikes.sum() - spikes
    if exchange == "collective":
        return others.tolist()
    remote = np.maximum(neurons.sum() - neurons, 1.0)
    return (others * np.minimum(images / remote, 1.0)).tolist()


def _record(s: Series, net, sim, P: int, exchange: str, build_s: float, run_s: float, n_cores: int,
            per: dict, pop_spikes: dict, in_process: bool) -> dict:
    """The figures of one point, in all and per partition (``per``: lists by partition)."""
    steps = int(round(s.time_ms / net.dt))
    interval_steps = net.min_delay_steps
    n_int = math.ceil(steps / interval_steps)
    per.update(partition_features(net, sim.decomposition.bounds, pop_spikes))
    per["neuron_steps"] = [n * steps for n in per["neurons"]]
    per["received"] = received_spikes(exchange, per["spikes"], per["neurons"], per["images"])
    spikes = int(sum(per["spikes"]))
    rec = {"series": s.name, "model": Path(s.file).stem, "partitions": P, "in_process": in_process,
           "oversubscribed": (not in_process) and P > n_cores, "cores": n_cores, "exchange": exchange,
           "params": s.params, "time_ms": s.time_ms, "dt_ms": net.dt, "min_delay_steps": interval_steps,
           "interval_ms": interval_steps * net.dt, "intervals": n_int, "neurons": int(net.n_neurons),
           "synapses": int(sum(per["synapses"])), "synapses_expected": float(sum(per["synapses_expected"])),
           "spikes": spikes, "rate_hz": spikes / net.n_neurons / (s.time_ms / 1000.0),
           "events": float(sum(per["events"])), "construction_s": build_s, "simulation_s": run_s,
           "rtf": run_s / (s.time_ms / 1000.0), "per_partition": per}
    return rec


def _pop_spikes(dicts) -> dict:
    """Spikes per population index, summed over the partitions' ``population_spikes`` dicts."""
    out: dict = {}
    for d in dicts:
        for i, n in d.items():
            out[int(i)] = out.get(int(i), 0) + int(n)
    return out


def _timed(net, client, module, P: int, exchange: str, t_ms: float, settle_ms: float = 0.0) -> tuple:
    """(simulation, construction s, simulation s, spikes in the first ``settle_ms``) of one build and a run
    of ``t_ms`` (in two calls where ``settle_ms`` > 0)."""
    t0 = time.perf_counter()
    sim = net.build(client, partitions=_layout(module, net, P), exchange=exchange)
    t1 = time.perf_counter()
    settled = 0
    if settle_ms > 0:
        sim.run(settle_ms, progress=False)
        settled = sim.spike_count
    sim.run(t_ms - settle_ms, progress=False)
    return sim, t1 - t0, time.perf_counter() - t1, settled


def measure_cluster(client, s: Series, P: int, n_cores: int, repeats: int = 2) -> dict:
    """Build and run the series' network ``repeats`` times on the P workers of ``client``; the figures of
    the fastest simulation (construction: the fastest build), every repeat's times under ``repeats``."""
    module = _module(s.file)
    exchange = getattr(module, "EXCHANGE", "p2p")
    best, times = None, []
    for _ in range(repeats):
        net = _network(s, module, P)
        sim, build_s, run_s, _ = _timed(net, client, module, P, exchange, s.time_ms)
        times.append({"construction_s": build_s, "simulation_s": run_s})
        if best is None or run_s < best[3]:
            counters, info = sim.counters(), sim.info()
            payload, wire = sim.exchanged_bytes(), sim.exchanged_bytes(headers=True)
            pairs = sum(sum(1 for n in c.values() if n > 0) for c in sim.build_info["need_counts"].values())
            best = (net, sim, (counters, info, payload, wire, pairs), run_s)
        sim.close()
    net, sim, (counters, info, payload, wire, pairs), run_s = best
    per = {"neurons": [i["n_local"] for i in info], "images": [i["n_images"] for i in info],
           "synapses": [i["n_synapses"] for i in info], "spikes": [int(c["spikes"]) for c in counters],
           "messages": [int(c["messages_sent"]) for c in counters],
           "bytes_sent": [int(c["bytes_sent"]) for c in counters],
           "timers": [{k: float(v) for k, v in c["timers"].items()} for c in counters]}
    build_s = min(t["construction_s"] for t in times)
    rec = _record(s, net, sim, P, exchange, build_s, run_s, n_cores, per,
                  _pop_spikes(c["populations"] for c in counters), False)
    rec.update(bytes=int(payload), wire_bytes=int(wire), messages=int(sum(per["messages"])), pairs=int(pairs),
               tasks=7 * P + int(pairs), repeats=times)
    return rec


def measure_in_process(s: Series, P: int, n_cores: int, settle_ms: float = 0.0) -> dict:
    """The same network on P partitions in this process (``client=None``): the partitions' summed compute;
    with ``settle_ms``, also the rate after the first ``settle_ms`` (``rate_hz_settled``)."""
    module = _module(s.file)
    exchange = getattr(module, "EXCHANGE", "p2p")
    net = _network(s, module, P)
    sim, build_s, run_s, settled = _timed(net, None, module, P, exchange, s.time_ms, settle_ms)
    parts = sim.partitions
    per = {"neurons": [int(p.n_local) for p in parts], "images": [int(p.image_gids.shape[0]) for p in parts],
           "synapses": [int(p.n_synapses) for p in parts], "spikes": [int(p.spike_count) for p in parts]}
    rec = _record(s, net, sim, P, exchange, build_s, run_s, n_cores, per,
                  _pop_spikes(p.population_spikes() for p in parts), True)
    rec.update(timers_total={k: float(v) for k, v in sim.timers.items()}, bytes=0, wire_bytes=0, messages=0,
               pairs=0, tasks=0)
    if settle_ms > 0:
        rec["rate_hz_settled"] = (rec["spikes"] - settled) / net.n_neurons / ((s.time_ms - settle_ms) / 1000.0)
        rec["settle_ms"] = settle_ms
    return rec


def calibration_series(scale: float) -> Series:
    """hpc_benchmark at ``scale`` (10: the study's 112,500 neurons per GPU) on one partition, 300 ms."""
    return Series("calibration", "examples/hpc_benchmark.py", {"scale": scale, "indegree_scale": 1.0,
                                                               "record": False}, 300.0)


def ring_network(P: int):
    """benchmarks/exchange.py's probe: P populations of 10 neurons, each projecting to the next, min delay
    0.1 ms (one step per interval): the exchange's cost with next to no compute."""
    import dsnn

    net = dsnn.Network(seed=1, dt=0.1)
    pops = [net.create("iaf_psc_exp", 10) for _ in range(P)]
    for i, a in enumerate(pops):
        net.connect(a, pops[(i + 1) % P], {"rule": "fixed_indegree", "indegree": 2}, {"weight": 1.0, "delay": 0.1})
    return net


def latency_probe(client, P: int, n_cores: int, intervals: int) -> list:
    """Per exchange mode: µs per interval of wall time, of exchange + wait (the partition waiting least, and
    the mean), of update, and messages per partition and interval, on the ring network."""
    rows = []
    for mode in ("p2p", "collective"):
        sim = ring_network(P).build(client, partitions=[10] * P, exchange=mode)
        sim.run(5.0, progress=False)
        before = sim.counters()
        t0 = time.perf_counter()
        sim.run(round(intervals * 0.1, 1), progress=False)
        wall = time.perf_counter() - t0
        after = sim.counters()
        sim.close()

        def delta(key):
            return np.array([a["timers"][key] - b["timers"][key] for a, b in zip(after, before)]) / intervals * 1e6

        ex = delta("exchange") + delta("wait")
        rows.append({"partitions": P, "exchange": mode, "intervals": intervals, "oversubscribed": P > n_cores,
                     "cores": n_cores, "wall_us": wall / intervals * 1e6, "exchange_wait_us_min": float(ex.min()),
                     "exchange_wait_us_mean": float(ex.mean()), "update_us": float(delta("update").mean()),
                     "messages_per_interval": sum(a["messages_sent"] - b["messages_sent"]
                                                  for a, b in zip(after, before)) / intervals / P})
    return rows


def warm_up(client, P: int) -> None:
    """Build and run tiny copies of both models on the P workers (``client=None``: in this process): the
    numba kernels load there."""
    for s in series(True, 5.0, P):
        module = _module(s.file)
        net = _network(dataclasses.replace(s, params=dict(s.params, n_areas=max(2, P)) if s.name == "strong"
                                           else s.params), module, P)
        sim = net.build(client, partitions=_layout(module, net, P), exchange=getattr(module, "EXCHANGE", "p2p"))
        sim.run(s.time_ms, progress=False)
        if client is not None:
            sim.close()


def _quiet_port_warning() -> None:
    """LocalCluster warns that the default dashboard port is taken even with ``dashboard_address=None``."""
    import warnings

    warnings.filterwarnings("ignore", message=".*Port 8787 is already in use.*")


def measure(points: list, quick: bool, time_ms: float | None, repeats: int = 2, probe_intervals: int = 2000,
            calibration_scale: float = 10.0, log=print) -> dict:
    """Every point of both series on fresh local clusters (with the latency probe), then the in-process
    references at every P, and (``calibration_scale`` > 0) hpc_benchmark at that scale on one partition
    in-process (its rate after 100 ms is the projection's)."""
    from distributed import Client, LocalCluster

    _quiet_port_warning()
    n_cores = cores()
    todo = series(quick, time_ms, max(points))
    out = {"date": datetime.date.today().isoformat(), "machine": platform.platform(), "cores": n_cores,
           "quick": quick, "points": points, "repeats": repeats,
           "oversubscribed_points": [P for P in points if P > n_cores],
           "note": f"P > {n_cores} oversubscribes the {n_cores} cores: P single-threaded worker processes share them",
           "series": {s.name: dataclasses.asdict(s) for s in todo}, "weak": [], "strong": [], "in_process": [],
           "probe": [], "load_average": []}
    for P in points:
        t0 = time.perf_counter()
        with LocalCluster(n_workers=P, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            warm_up(client, P)
            if P > 1:
                out["probe"].extend(latency_probe(client, P, n_cores, probe_intervals))
            for s in todo:
                rec = measure_cluster(client, s, P, n_cores, repeats)
                out[s.name].append(rec)
                log(f"  {s.name:6s} P={P}{' (oversubscribed)' if rec['oversubscribed'] else ''}: "
                    f"construction {rec['construction_s']:.2f} s, simulation {rec['simulation_s']:.2f} s")
        out["load_average"].append({"partitions": P, "load_1min": os.getloadavg()[0]})
        log(f"  P={P} done in {time.perf_counter() - t0:.0f} s (load average {os.getloadavg()[0]:.1f})")
    warm_up(None, max(points))
    for P in points:
        for s in todo:
            rec = measure_in_process(s, P, n_cores)
            out["in_process"].append(rec)
            log(f"  {s.name:6s} in-process P={P}: construction {rec['construction_s']:.2f} s, "
                f"simulation {rec['simulation_s']:.2f} s")
    if calibration_scale > 0:
        rec = measure_in_process(calibration_series(calibration_scale), 1, n_cores, settle_ms=100.0)
        out["in_process"].append(rec)
        log(f"  calibration (hpc_benchmark scale {calibration_scale:g}, 1 partition in-process): construction "
            f"{rec['construction_s']:.1f} s, simulation {rec['simulation_s']:.1f} s, "
            f"{rec['rate_hz_settled']:.2f} spikes/s after 100 ms")
    return out


# ============================================================================ fitting

def _lstsq(A, y) -> tuple:
    """Least squares (``numpy.linalg.lstsq``) with rows weighted by 1/y, so that relative errors count; a
    column whose coefficient comes out negative (a cost cannot be) is dropped and the fit redone.
    Returns (coefficients, dropped column indices)."""
    A, y = np.asarray(A, dtype=float), np.asarray(y, dtype=float)
    w = 1.0 / np.maximum(np.abs(y), 1e-3 * max(float(np.abs(y).max()), 1e-12))
    keep = list(range(A.shape[1]))
    coef = np.zeros(A.shape[1])
    while keep:
        sub = np.linalg.lstsq(A[:, keep] * w[:, None], y * w, rcond=None)[0]
        if (sub >= 0).all():
            coef[keep] = sub
            break
        keep.pop(int(np.argmin(sub)))
    return coef, [i for i in range(A.shape[1]) if i not in keep]


def _cluster_points(results: dict) -> list:
    return [r for name in ("weak", "strong") for r in results[name]]


def input_intervals(n_int: int, spikes, received) -> np.ndarray:
    """Expected intervals in which a partition delivers any spike (its own or received ones), spikes
    arriving as a Poisson process: I · (1 - exp(-(own + received) / I))."""
    lam = (np.asarray(spikes, dtype=float) + np.asarray(received, dtype=float)) / n_int
    return n_int * -np.expm1(-lam)


def _features(rec: dict) -> tuple:
    """Per partition and run: (U, B·I, E, R, G·D) as arrays (D: intervals with spikes to deliver)."""
    pp, n_int = rec["per_partition"], rec["intervals"]
    U, E, R = (np.asarray(pp[k], dtype=float) for k in ("neuron_steps", "events", "received"))
    B = np.asarray(pp["populations"], dtype=float) * n_int
    G = np.asarray(pp["projections"], dtype=float) * input_intervals(n_int, pp["spikes"], R)
    return U, B, E, R, G


def compute_rows(rec: dict) -> tuple:
    """([U, B·I] rows, update s, [E, R, G·D] rows, deliver s) of a point: per partition on a cluster, one
    summed row in-process (its "exchange" timer, routing and filtering, counted as delivery)."""
    U, B, E, R, G = _features(rec)
    upd, dlv = np.stack([U, B], 1), np.stack([E, R, G], 1)
    if rec["in_process"]:
        t = rec["timers_total"]
        return upd.sum(0)[None], np.array([t["update"]]), dlv.sum(0)[None], np.array([t["deliver"] + t["exchange"]])
    timers = rec["per_partition"]["timers"]
    return upd, np.array([t["update"] for t in timers]), dlv, np.array([t["deliver"] for t in timers])


def model_compute(rec: dict, c: dict) -> np.ndarray:
    """Seconds of compute per partition over the run, one process per core (the fitted constants)."""
    U, B, E, R, G = _features(rec)
    return c["c_neuron_s"] * U + c["c_pop_s"] * B + c["c_syn_s"] * E + c["c_rx_s"] * R + c["c_proj_s"] * G


def fit_compute(results: dict) -> dict:
    """c_neuron, c_pop (update) and c_syn, c_rx, c_proj (deliver), seconds per unit, by least squares on the
    1-partition cluster points and the in-process references."""
    rows = [compute_rows(r) for r in _cluster_points(results) if r["partitions"] == 1]
    rows += [compute_rows(r) for r in results["in_process"]]
    Au, yu, Ad, yd = (np.concatenate([row[i] for row in rows]) for i in range(4))
    cu, du = _lstsq(Au, yu)
    cd, dd = _lstsq(Ad, yd)
    names = ("c_neuron_s", "c_pop_s"), ("c_syn_s", "c_rx_s", "c_proj_s")
    return {**dict(zip(names[0], map(float, cu))), **dict(zip(names[1], map(float, cd))),
            "compute_rows": int(len(yu)), "dropped": [names[0][i] for i in du] + [names[1][i] for i in dd]}


def _concurrent(results: dict) -> list:
    """Cluster points with 2 <= P <= cores: concurrent, not oversubscribed."""
    return [r for r in _cluster_points(results) if 2 <= r["partitions"] <= r["cores"]]


def fit_concurrency(results: dict, c: dict) -> dict:
    """kappa: measured compute timers (update + deliver) of concurrent partitions / the model's single-process
    compute, by least squares (1 where there is no such point)."""
    pts = _concurrent(results)
    if not pts:
        return {"kappa": 1.0}
    x = np.concatenate([model_compute(r, c) for r in pts])
    y = np.concatenate([[t["update"] + t["deliver"] for t in r["per_partition"]["timers"]] for r in pts])
    return {"kappa": float(_lstsq(x[:, None], y)[0][0])}


def messages_per_interval(exchange: str, P: int, peers: float | None = None) -> float:
    """Messages a partition sends per interval: ceil(log2 P) Bruck rounds, or its p2p peers (default P - 1)."""
    if P <= 1:
        return 0.0
    if exchange == "collective":
        return float(math.ceil(math.log2(P)))
    return float(P - 1 if peers is None else peers)


def fit_latency(results: dict) -> dict:
    """alpha per message for each exchange mode (s): least squares of the probe's smallest exchange + wait
    per interval on messages per interval, at 2 <= P <= cores; benchmarks/exchange.py's figure where no
    such probe ran."""
    out = {}
    for mode in ("collective", "p2p"):
        rows = [r for r in results.get("probe", []) if r["exchange"] == mode and 2 <= r["partitions"] <= r["cores"]]
        if rows:
            coef, _ = _lstsq([[r["messages_per_interval"]] for r in rows], [r["exchange_wait_us_min"] * 1e-6
                                                                            for r in rows])
            out[f"alpha_{mode}_s"], out[f"alpha_{mode}_from"] = float(coef[0]), f"probe, P={rows[0]['partitions']}"
        else:
            out[f"alpha_{mode}_s"], out[f"alpha_{mode}_from"] = EXCHANGE_PY_ALPHA[mode], "benchmarks/exchange.py"
    return out


def _latency_s(rec: dict, c: dict) -> float:
    """Seconds of messages over the run of a cluster point: alpha · messages per partition."""
    return c[f"alpha_{rec['exchange']}_s"] * rec["messages"] / rec["partitions"]


def fit_imbalance(results: dict, c: dict) -> dict:
    """beta: wall time beyond kappa · compute_max + messages, as a share of kappa · compute_max, at the
    concurrent points (waiting for a partition delayed by other processes or a busier interval)."""
    pts = _concurrent(results)
    if not pts:
        return {"beta": 0.0}
    x = [c["kappa"] * model_compute(r, c).max() for r in pts]
    y = [r["simulation_s"] - c["kappa"] * model_compute(r, c).max() - _latency_s(r, c)
         - r["wire_bytes"] / r["partitions"] / LOCAL_BANDWIDTH for r in pts]
    return {"beta": float(_lstsq(np.array(x)[:, None], np.array(y))[0][0])}


CONSTRUCTION_KEYS = ("k0_s", "k_task_s", "k_syn_s", "k_img_s", "k_proj_s")


def construction_row(rec: dict) -> list:
    """[1, tasks, ov·S_max, ov·I_max, ov·G_max] of a cluster point (busiest partition's synapses, images,
    projections; ov = max(1, P/cores)); [0, 0, S, I, G] (sums over the partitions) in-process."""
    pp = rec["per_partition"]
    if rec["in_process"]:
        return [0.0, 0.0, float(sum(pp["synapses"])), float(sum(pp["images"])), float(sum(pp["projections"]))]
    ov = oversubscription(rec["partitions"], rec["cores"])
    return [1.0, float(rec["tasks"]), ov * max(pp["synapses"]), ov * max(pp["images"]), ov * max(pp["projections"])]


def fit_construction(results: dict) -> dict:
    """k0 (s), k_task (s/task), k_syn (s/synapse), k_img (s/image), k_proj (s/projection) by least squares
    on every point."""
    recs = _cluster_points(results) + results["in_process"]
    coef, dropped = _lstsq([construction_row(r) for r in recs], [r["construction_s"] for r in recs])
    return {**dict(zip(CONSTRUCTION_KEYS, map(float, coef))), "construction_rows": len(recs),
            "construction_dropped": [CONSTRUCTION_KEYS[i] for i in dropped]}


def fit(results: dict) -> dict:
    """Every fitted constant (seconds per unit; kappa and beta dimensionless)."""
    c = fit_compute(results)
    c.update(fit_concurrency(results, c))
    c.update(fit_latency(results))
    c.update(fit_imbalance(results, c))
    construction = fit_construction(results)
    c["dropped"] = c["dropped"] + construction.pop("construction_dropped")
    c.update(construction)
    return c


def model_point(rec: dict, c: dict) -> dict:
    """The model's construction and simulation seconds for a measured point (its own features)."""
    compute = model_compute(rec, c)
    construction = float(np.dot(construction_row(rec), [c[k] for k in CONSTRUCTION_KEYS]))
    if rec["in_process"]:
        return {"construction_s": construction, "simulation_s": float(compute.sum())}
    P = rec["partitions"]
    if P == 1:
        return {"construction_s": construction, "simulation_s": float(compute.max())}
    ov = oversubscription(P, rec["cores"])
    sim = ov * (c["kappa"] * compute.max() * (1.0 + c["beta"]) + _latency_s(rec, c)) \
        + rec["wire_bytes"] / P / LOCAL_BANDWIDTH
    return {"construction_s": construction, "simulation_s": float(sim)}


def residuals(results: dict, c: dict) -> list:
    """Per point: measured and modelled construction and simulation seconds, relative residuals."""
    out = []
    for rec in _cluster_points(results) + results["in_process"]:
        m = model_point(rec, c)
        out.append({"series": rec["series"], "partitions": rec["partitions"], "in_process": rec["in_process"],
                    "oversubscribed": rec["oversubscribed"],
                    **{f"{k}_{w}": v for k in ("construction_s", "simulation_s")
                       for w, v in (("measured", rec[k]), ("model", m[k]))},
                    "construction_residual": m["construction_s"] / rec["construction_s"] - 1,
                    "simulation_residual": m["simulation_s"] / rec["simulation_s"] - 1})
    return out


def probe_residuals(results: dict, c: dict) -> list:
    """The probe's smallest exchange + wait per interval against alpha · messages · ov(P) (µs)."""
    return [dict(r, model_us=c[f"alpha_{r['exchange']}_s"] * r["messages_per_interval"] * 1e6
                 * (oversubscription(r["partitions"], r["cores"]) if r["partitions"] > r["cores"] else 1.0))
            for r in results.get("probe", [])]


# ============================================================================ projection (pure functions)

#: the H100 figures of benchmarks/RESULTS.md the GPU constants are derived from
H100_BRUNEL = {"s_per_s": 0.18, "neurons": 12_500, "synapses": 15_625_000, "rate_hz": 38.41, "populations": 2,
               "interval_ms": 1.5, "dt_ms": 0.1}
H100_MICROCIRCUIT = {"s_per_s": 3.87, "interval_ms": 0.1, "populations": 8}  # scale 0.1: latency-bound

#: the study's figures (shared/REFERENCES.md): GPUs -> (construction s, RTF); None: interpolated
STUDY_HPC = {128: (1.5, 9.2), 256: None, 512: None, 1024: (2.6, 56.6)}
STUDY_MAM = {8: (98.9, 27.2), 16: (74.8, 19.0), 24: (68.7, 15.9), 32: (65.5, 14.6)}
STUDY_MAM_METASTABLE_32 = (55.5, 14.5)

HPC_NEURONS_PER_GPU = 112_500  # 11,250 x s, s = 10
HPC_INDEGREE = 11_250
HPC_INTERVAL_MS = 1.5
MAM_NEURONS = 4.13e6
MAM_SYNAPSES = 24.2e9
MAM_AREAS = 32
MAM_INTERVAL_MS = 0.1
#: full-scale microcircuit: sum(N_i r_i) / sum(N_i) over REFERENCES.md's table (spikes/s)
MAM_RATE_HZ = 3.25
#: share of a microcircuit's neurons in the populations that project to other areas (L23E + L5E + L6E)
MAM_SOURCE_FRACTION = (20_683 + 4_850 + 14_395) / 77_169
MAM_SOURCE_POPULATIONS = ("L23E", "L5E", "L6E")


@dataclasses.dataclass(frozen=True)
class GPU:
    """GPU-side constants of the projection (seconds and bytes); see the module docstring."""

    s_per_event: float
    s_per_neuron_step: float
    s_per_received_spike: float
    s_per_population_interval: float
    latency_s: float = 2e-6
    bandwidth_Bps: float = 25e9
    build_factor: float = 1.0
    sw_s_per_message: dict = dataclasses.field(default_factory=dict)  # mode -> s
    imbalance: float = 0.0  # beta on the GPUs: extra waiting as a share of the busiest GPU's compute
    s_per_synapse_built: float | None = None  # replaces the fitted k_syn (e.g. from the calibration run)


def gpu_assumptions(c: dict, ns_per_event: float | None = None, latency_us: float = 2.0,
                    bandwidth_gbs: float = 25.0, build_factor: float = 1.0,
                    sw_us_per_message: float | None = None, imbalance: float = 0.0,
                    s_per_synapse_built: float | None = None) -> GPU:
    """GPU constants from the fitted CPU constants ``c`` and the H100 figures (module docstring).

    g (the GPU's speed-up on events, neuron updates and received spikes) is
    chosen so that the model gives the H100's Brunel time; ``ns_per_event``
    fixes g·c_syn instead. ``sw_us_per_message`` (µs) replaces the fitted
    per-message software cost, ``s_per_synapse_built`` the fitted k_syn.
    """
    mc = H100_MICROCIRCUIT
    per_pop = mc["s_per_s"] / (1000.0 / mc["interval_ms"]) / mc["populations"]
    b = H100_BRUNEL
    steps_per_s = 1000.0 / b["dt_ms"]
    events = b["neurons"] * b["rate_hz"] * b["synapses"] / b["neurons"]
    overhead = per_pop * b["populations"] * 1000.0 / b["interval_ms"]
    cpu = max(c["c_syn_s"], 0.0) * events + max(c["c_neuron_s"], 0.0) * b["neurons"] * steps_per_s
    if not (cpu > 0 and c["c_syn_s"] > 0):
        raise ValueError("gpu_assumptions: the fitted c_syn and c_neuron give no compute to scale (both 0?)")
    g = (b["s_per_s"] - overhead) / cpu if ns_per_event is None else ns_per_event * 1e-9 / c["c_syn_s"]
    sw = {m: (c[f"alpha_{m}_s"] if sw_us_per_message is None else sw_us_per_message * 1e-6)
          for m in ("collective", "p2p")}
    return GPU(s_per_event=g * max(c["c_syn_s"], 0.0), s_per_neuron_step=g * max(c["c_neuron_s"], 0.0),
               s_per_received_spike=g * max(c["c_rx_s"], 0.0), s_per_population_interval=per_pop,
               latency_s=latency_us * 1e-6, bandwidth_Bps=bandwidth_gbs * 1e9, build_factor=build_factor,
               sw_s_per_message=sw, imbalance=imbalance, s_per_synapse_built=s_per_synapse_built)


def construction_tasks(P: int) -> int:
    """Tasks and actor calls of dsnn's construction graph where every pair of partitions needs each other."""
    return 7 * P + P * (P - 1)


def project_construction(c: dict, gpu: GPU, P: int, synapses: float, images: float, projections: float) -> dict:
    """Construction seconds on P GPUs for the busiest GPU's synapses, images and projections: the fixed and
    task part, and the per-synapse, per-image and per-projection parts (× the build factor)."""
    fixed = c["k0_s"] + c["k_task_s"] * construction_tasks(P)
    k_syn = c["k_syn_s"] if gpu.s_per_synapse_built is None else gpu.s_per_synapse_built
    parts = {"construction_synapses_s": k_syn * synapses, "construction_images_s": c["k_img_s"] * images,
             "construction_projections_s": c["k_proj_s"] * projections}
    parts = {k: gpu.build_factor * v for k, v in parts.items()}
    return {"construction_s": fixed + sum(parts.values()), "construction_tasks_s": fixed, **parts}


def project_interval(gpu: GPU, mode: str, interval_ms: float, events: float, neuron_steps: float,
                     received: float, populations: float, messages: float) -> dict:
    """Seconds per interval on the busiest GPU (compute, messages, bytes) and the RTF they give."""
    compute = (1.0 + gpu.imbalance) * (gpu.s_per_event * events + gpu.s_per_neuron_step * neuron_steps
                                       + gpu.s_per_received_spike * received
                                       + gpu.s_per_population_interval * populations)
    msg = messages * (gpu.latency_s + gpu.sw_s_per_message[mode])
    msg_network = messages * gpu.latency_s
    bytes_s = (received * BYTES_PER_SPIKE + messages * HEADER_BYTES) / gpu.bandwidth_Bps
    total = compute + msg + bytes_s
    return {"compute_ms": compute * 1e3, "messages_ms": msg * 1e3, "bytes_ms": bytes_s * 1e3,
            "rtf": total / (interval_ms * 1e-3),
            "rtf_network_latency_only": (compute + msg_network + bytes_s) / (interval_ms * 1e-3)}


def project_hpc(P: int, c: dict, gpu: GPU, rate_hz: float, neurons_per_gpu: int = HPC_NEURONS_PER_GPU,
                indegree: int = HPC_INDEGREE, interval_ms: float = HPC_INTERVAL_MS) -> dict:
    """hpc_benchmark weak scaling on P GPUs (collective exchange): construction seconds and RTF."""
    n, N = float(neurons_per_gpu), float(neurons_per_gpu) * P
    synapses = n * indegree
    images = (N - n) * (1.0 - math.exp(-n * indegree / N)) if P > 1 else 0.0
    per_int = rate_hz * interval_ms * 1e-3  # spikes per neuron and interval
    out = {"gpus": P, "neurons": N, "synapses": synapses * P}
    out.update(project_construction(c, gpu, P, synapses, images, projections=4))
    out.update(project_interval(gpu, "collective", interval_ms, events=synapses * per_int,
                                neuron_steps=n * interval_ms / 0.1, received=(N - n) * per_int, populations=2,
                                messages=messages_per_interval("collective", P)))
    return out


def project_multi_area(P: int, c: dict, gpu: GPU, rate_hz: float = MAM_RATE_HZ, neurons: float = MAM_NEURONS,
                       synapses: float = MAM_SYNAPSES, areas: int = MAM_AREAS,
                       interval_ms: float = MAM_INTERVAL_MS, source_fraction: float = MAM_SOURCE_FRACTION) -> dict:
    """The multi-area model on P GPUs (p2p exchange, ceil(areas/P) areas on the busiest): construction, RTF."""
    k = math.ceil(areas / P)
    n, syn = neurons / areas * k, synapses / areas * k
    images = source_fraction * (neurons - n)
    per_int = rate_hz * interval_ms * 1e-3
    out = {"gpus": P, "areas_per_gpu": k, "neurons": neurons, "synapses": synapses}
    projections = k * (8 * 8 + 8 * len(MAM_SOURCE_POPULATIONS) * (areas - 1))  # local, cortico-cortical
    out.update(project_construction(c, gpu, P, syn, images, projections))
    out.update(project_interval(gpu, "p2p", interval_ms, events=syn * per_int, neuron_steps=n * interval_ms / 0.1,
                                received=images * per_int, populations=8 * k,
                                messages=messages_per_interval("p2p", P)))
    return out


def study_hpc(P: int) -> tuple:
    """The study's (construction s, RTF) for hpc_benchmark s = 10 on P GPUs, log-linear in P between the
    published ends where not published; (figures, interpolated?)."""
    if STUDY_HPC.get(P):
        return STUDY_HPC[P], False
    (c0, r0), (c1, r1) = STUDY_HPC[128], STUDY_HPC[1024]
    x = math.log2(P / 128) / 3.0
    return (c0 + x * (c1 - c0), r0 * (r1 / r0) ** x), True


def projection(c: dict, gpu: GPU, hpc_rate_hz: float, mam_rate_hz: float = MAM_RATE_HZ) -> dict:
    """Projected figures beside the study's for both models."""
    hpc = []
    for P in (128, 256, 512, 1024):
        row = project_hpc(P, c, gpu, hpc_rate_hz)
        (sc, sr), interp = study_hpc(P)
        hpc.append(dict(row, study_construction_s=sc, study_rtf=sr, study_interpolated=interp))
    mam = []
    for P, (sc, sr) in STUDY_MAM.items():
        mam.append(dict(project_multi_area(P, c, gpu, mam_rate_hz), study_construction_s=sc, study_rtf=sr,
                        study_interpolated=False))
    sc, sr = STUDY_MAM_METASTABLE_32
    mam.append(dict(project_multi_area(32, c, gpu, mam_rate_hz), study_construction_s=sc, study_rtf=sr,
                    study_interpolated=False, label="32 metastable"))
    return {"hpc_benchmark": hpc, "multi_area": mam, "gpu": dataclasses.asdict(gpu),
            "hpc_rate_hz": hpc_rate_hz, "mam_rate_hz": mam_rate_hz}


# ============================================================================ printing

def _mean_timers(rec: dict) -> dict:
    if rec["in_process"]:
        return dict(rec["timers_total"], wait=0.0)
    t = rec["per_partition"]["timers"]
    return {k: sum(x[k] for x in t) / len(t) for k in ("update", "deliver", "exchange", "wait")}


def print_series(title: str, recs: list) -> None:
    print(f"\n{title}")
    print(f"{'P':>3s}{'ovs':>4s}{'neurons':>9s}{'synapses':>13s}{'spikes':>9s}{'Hz':>6s}{'events':>11s}{'intv':>6s}"
          f"{'build s':>8s}{'sim s':>7s}{'RTF':>7s}{'upd':>6s}{'dlv':>6s}{'exch':>6s}{'wait':>6s}"
          f"{'payload B':>11s}{'wire B':>10s}{'msgs':>7s}")
    for r in recs:
        t = _mean_timers(r)
        P = f"{r['partitions']}" + ("*" if r["in_process"] else "")
        print(f"{P:>3s}{'yes' if r['oversubscribed'] else '':>4s}{r['neurons']:9,d}{r['synapses']:13,d}"
              f"{r['spikes']:9,d}{r['rate_hz']:6.1f}{r['events']:11.3g}{r['intervals']:6d}"
              f"{r['construction_s']:8.2f}{r['simulation_s']:7.2f}{r['rtf']:7.2f}{t['update']:6.2f}"
              f"{t['deliver']:6.2f}{t['exchange']:6.2f}{t['wait']:6.2f}{r['bytes']:11,d}{r['wire_bytes']:10,d}"
              f"{r['messages']:7,d}")


UNITS = {"c_neuron_s": (1e9, "ns per neuron update (incl. Poisson input)"),
         "c_pop_s": (1e6, "µs per population and interval (update)"),
         "c_syn_s": (1e9, "ns per synaptic event"),
         "c_rx_s": (1e9, "ns per received spike (routing / image filter)"),
         "c_proj_s": (1e6, "µs per projection and interval (delivery)"),
         "kappa": (1.0, "× compute time when 2..cores partitions run at once"),
         "alpha_collective_s": (1e6, "µs per collective round (message)"),
         "alpha_p2p_s": (1e6, "µs per p2p message"),
         "beta": (1.0, "× compute_max of extra waiting (imbalance, other processes)"),
         "k0_s": (1.0, "s fixed per construction on a cluster"),
         "k_task_s": (1e3, "ms per construction task / actor call"),
         "k_syn_s": (1e9, "ns per synapse built (busiest partition)"),
         "k_img_s": (1e9, "ns per image neuron (busiest partition)"),
         "k_proj_s": (1e3, "ms per projection (busiest partition)")}


def print_fit(c: dict, res: list, probe: list) -> None:
    print("\nFitted constants (numpy.linalg.lstsq, rows weighted by 1/measured)")
    for k, (scale, unit) in UNITS.items():
        src = c.get(k[:-2] + "_from", "") if k.startswith("alpha_") else ""
        print(f"  {k:20s}{c[k] * scale:12.4g}  {unit}{'  [' + src + ']' if src else ''}")
    print(f"  (compute: {c['compute_rows']} rows, P = 1 and in-process; kappa, beta: 2 <= P <= cores; construction: "
          f"{c['construction_rows']} points; fitted negative, so dropped and set to 0: "
          f"{', '.join(c['dropped']) or 'none'})")
    if probe:
        print("\nLatency probe (ring of 10-neuron partitions, min delay 0.1 ms): µs per interval; model = alpha · "
              "messages · ov(P) (ov only where oversubscribed)")
        print(f"{'mode':12s}{'P':>3s}{'ovs':>4s}{'wall':>8s}{'exch+wait min':>14s}{'mean':>8s}{'update':>8s}"
              f"{'msgs':>6s}{'model':>8s}")
        for r in probe:
            ovs = "yes" if r["oversubscribed"] else ""
            print(f"{r['exchange']:12s}{r['partitions']:3d}{ovs:>4s}{r['wall_us']:8.0f}"
                  f"{r['exchange_wait_us_min']:14.0f}{r['exchange_wait_us_mean']:8.0f}{r['update_us']:8.0f}"
                  f"{r['messages_per_interval']:6.1f}{r['model_us']:8.0f}")
    print("\nResiduals (model / measured - 1; * in-process; ovs: oversubscribed, used only in the construction fit)")
    print(f"{'series':8s}{'P':>4s}{'ovs':>4s}{'build meas':>11s}{'model':>8s}{'resid':>8s}"
          f"{'sim meas':>10s}{'model':>8s}{'resid':>8s}")
    for r in res:
        P = f"{r['partitions']}" + ("*" if r["in_process"] else "")
        print(f"{r['series']:8s}{P:>4s}{'yes' if r['oversubscribed'] else '':>4s}"
              f"{r['construction_s_measured']:11.2f}{r['construction_s_model']:8.2f}{r['construction_residual']:8.0%}"
              f"{r['simulation_s_measured']:10.2f}{r['simulation_s_model']:8.2f}{r['simulation_residual']:8.0%}")


def _ratio(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def print_projection(proj: dict) -> None:
    g = proj["gpu"]
    print("\nGPU assumptions: "
          f"{g['s_per_event'] * 1e9:.3g} ns/event, {g['s_per_neuron_step'] * 1e9:.3g} ns/neuron update, "
          f"{g['s_per_received_spike'] * 1e9:.3g} ns/received spike (CPU constants × g, g from the H100 Brunel "
          f"figure), {g['s_per_population_interval'] * 1e6:.1f} µs per population and interval (H100 "
          f"microcircuit), network {g['latency_s'] * 1e6:.1f} µs + dsnn "
          f"{g['sw_s_per_message']['collective'] * 1e6:.0f} µs (collective) / "
          f"{g['sw_s_per_message']['p2p'] * 1e6:.0f} µs (p2p) per message, {g['bandwidth_Bps'] / 1e9:.0f} GB/s, "
          f"build factor {g['build_factor']:g}" + (
              f", {g['s_per_synapse_built'] * 1e9:.1f} ns per synapse built (the calibration run's build time / "
              "its synapses, one GPU's share on one core, instead of k_syn)" if g["s_per_synapse_built"] else ""))
    cols = [("GPUs", 14), ("constr study", 13), ("proj", 10), ("ratio", 9), ("RTF study", 10), ("proj", 9),
            ("ratio", 8), ("net-only", 9), ("compute", 9), ("msgs", 8), ("bytes", 8), ("k0+tasks s", 11),
            ("syn s", 9), ("img s", 9), ("proj s", 9)]
    head = "".join(f"{name:>{w}s}" for name, w in cols)
    for name, rate, title in (("hpc_benchmark", proj["hpc_rate_hz"], "hpc_benchmark weak scaling, 112,500 neurons "
                                                                      "and in-degree 11,250 per GPU, collective"),
                              ("multi_area", proj["mam_rate_hz"], "multi-area model (32 areas, 4.13 M neurons, "
                                                                  "24.2e9 synapses), p2p")):
        source = f" ({proj['hpc_rate_source']})" if name == "hpc_benchmark" else " (full-scale microcircuit mean)"
        print(f"\nProjection: {title}, {rate:.2f} spikes/s{source} (per interval: ms on the busiest GPU; "
              "~: the study's figure interpolated; net-only: RTF with the network latency alone per message)")
        if name == "hpc_benchmark" and "calibration" in proj:
            k = proj["calibration"]
            print(f"  measured here, one CPU core, {k['neurons']:,d} neurons and {k['synapses']:,d} synapses (one "
                  f"GPU's share): construction {k['construction_s']:.1f} s, RTF {k['rtf']:.1f}")
        print(head)
        for r in proj[name]:
            label = r.get("label", str(r["gpus"]))
            mark = "~" if r["study_interpolated"] else ""
            cells = [label, mark + format(r["study_construction_s"], ".1f"), format(r["construction_s"], ",.1f"),
                     _ratio(r["construction_s"] / r["study_construction_s"]), mark + format(r["study_rtf"], ".1f"),
                     format(r["rtf"], ".2f"), _ratio(r["rtf"] / r["study_rtf"]),
                     format(r["rtf_network_latency_only"], ".2f")]
            cells += [format(r[k], ".3f") for k in ("compute_ms", "messages_ms", "bytes_ms")]
            cells += [format(r[k], ",.1f") for k in ("construction_tasks_s", "construction_synapses_s",
                                                    "construction_images_s", "construction_projections_s")]
            print("".join(f"{cell:>{w}s}" for cell, (_, w) in zip(cells, cols)))


ASSUMPTIONS = [
    "interval = ov(P)·(kappa·max_p compute_p·(1 + beta) + alpha·messages) + bytes/bandwidth at P > 1; "
    "ov = max(1, P/cores) (oversubscribed processes share the cores evenly)",
    "compute_p = c_neuron·U + c_pop·populations·I + c_syn·events + c_rx·received + c_proj·projections·D "
    "(D: intervals with spikes to deliver), fitted on P = 1 and in-process runs",
    "events: spikes of each source population / its size × its synapses onto the partition (uniform sources)",
    "alpha: the probe's exchange+wait per message at P = 2 (not oversubscribed); loopback bandwidth 1 GB/s assumed",
    "construction = k0 + k_task·tasks + ov·(k_syn·synapses + k_img·images + k_proj·projections) of the busiest "
    "partition, ov = max(1, P/cores)",
    "GPU: CPU compute constants × g (g from H100 Brunel 0.18 s/s), 48.4 µs per population and interval (H100 "
    "microcircuit), per message 2 µs network + dsnn's fitted software cost alpha, 25 GB/s, build factor 1 "
    "(dsnn builds on the host CPU) with the calibration run's cost per synapse, kappa = 1, beta = 0 (dedicated "
    "GPUs; --gpu-imbalance)",
    "hpc rate: the calibration run's after 100 ms (else the largest weak point's); multi-area rate 3.25 spikes/s "
    "(full-scale microcircuit mean)",
    "no growth of imbalance with P, no memory limits, no per-run cost of the client's calls (it polls every "
    "50 ms: ~0.1 s a run); the study used A100s, g comes from an H100",
]


def report(results: dict, args) -> dict:
    """Print the tables; fit; project. Returns {fit, residuals, projection}."""
    print(f"\n{results['note']}; oversubscribed points: {results['oversubscribed_points'] or 'none'}")
    s = results["series"]
    print_series(f"Weak scaling: hpc_benchmark {s['weak']['params']} per partition, {s['weak']['time_ms']:g} ms, "
                 "collective (* in-process)", results["weak"] + [r for r in results["in_process"]
                                                                if r["series"] == "weak"])
    print_series(f"Strong scaling: multi_area {s['strong']['params']}, {s['strong']['time_ms']:g} ms, p2p "
                 "(* in-process)", results["strong"] + [r for r in results["in_process"] if r["series"] == "strong"])
    cal = [r for r in results["in_process"] if r["series"] == "calibration"]
    if cal:
        size = " (the study's size per GPU)" if cal[0]["neurons"] == HPC_NEURONS_PER_GPU else ""
        print_series(f"Calibration: hpc_benchmark {cal[0]['params']}{size} on 1 partition "
                     f"in-process, {cal[0]['time_ms']:g} ms, {cal[0]['rate_hz_settled']:.2f} spikes/s after "
                     f"{cal[0]['settle_ms']:g} ms", cal)
    print("  (update/deliver/exchange/wait: seconds, mean over partitions; events: the proxy of the docstring; "
          "intv: intervals = T / min delay)")
    for r in _cluster_points(results) + results["in_process"]:
        if abs(r["synapses_expected"] / max(r["synapses"], 1) - 1) > 0.02:
            print(f"  note: {r['series']} P={r['partitions']}: expected synapses {r['synapses_expected']:.4g} vs "
                  f"{r['synapses']:,d} built (events proxy off by as much)")
    c = fit(results)
    res = residuals(results, c)
    print_fit(c, res, probe_residuals(results, c))
    weak = sorted([r for r in results["weak"] + results["in_process"] if r["series"] == "weak"],
                  key=lambda r: r["neurons"])
    if args.hpc_rate is not None:
        hpc_rate, source = args.hpc_rate, "--hpc-rate"
    elif cal:
        hpc_rate, source = cal[0]["rate_hz_settled"], f"calibration run, {cal[0]['neurons']:,d} neurons"
    else:
        hpc_rate, source = weak[-1]["rate_hz"], f"largest weak point, {weak[-1]['neurons']:,d} neurons"
    k_syn = cal[0]["construction_s"] / cal[0]["synapses"] if cal and not args.fitted_k_syn else None
    gpu = gpu_assumptions(c, args.gpu_ns_per_event, args.gpu_latency_us, args.gpu_bandwidth_gbs,
                          args.gpu_build_factor, args.sw_us_per_message, args.gpu_imbalance, k_syn)
    proj = projection(c, gpu, hpc_rate, args.mam_rate)
    proj["hpc_rate_source"] = source
    if cal:
        proj["calibration"] = {k: cal[0][k] for k in ("neurons", "synapses", "construction_s", "simulation_s",
                                                      "rtf", "rate_hz_settled")}
    print_projection(proj)
    print("\nAssumptions of the model:")
    for a in ASSUMPTIONS:
        print(f"  - {a}")
    return {"fit": c, "residuals": res, "probe_model": probe_residuals(results, c), "projection": proj,
            "assumptions": ASSUMPTIONS}


def _newest_json() -> Path:
    found = list(RESULTS.glob("scaling-*.json"))
    if not found:
        raise SystemExit("no benchmarks/results/scaling-*.json to refit; run without --no-run first")
    return max(found, key=lambda f: f.stat().st_mtime)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default=None, help="partition counts, comma-separated (default 1,2,4,8; "
                                                        "--quick: 1,2)")
    parser.add_argument("--time", type=float, default=None, help="simulated ms of both series")
    parser.add_argument("--quick", action="store_true", help="tiny networks: a smoke run")
    parser.add_argument("--no-run", action="store_true", help="refit the newest results/scaling-*.json")
    parser.add_argument("--from-json", type=Path, default=None, help="refit this JSON instead of running")
    parser.add_argument("--hpc-rate", type=float, default=None, help="spikes/s of hpc_benchmark in the projection")
    parser.add_argument("--mam-rate", type=float, default=MAM_RATE_HZ, help="spikes/s of the multi-area model")
    parser.add_argument("--gpu-ns-per-event", type=float, default=None)
    parser.add_argument("--gpu-latency-us", type=float, default=2.0)
    parser.add_argument("--gpu-bandwidth-gbs", type=float, default=25.0)
    parser.add_argument("--gpu-build-factor", type=float, default=1.0)
    parser.add_argument("--sw-us-per-message", type=float, default=None,
                        help="dsnn's software cost per message on the GPUs (default: the fitted alpha)")
    parser.add_argument("--gpu-imbalance", type=float, default=0.0, help="beta on the GPUs")
    parser.add_argument("--fitted-k-syn", action="store_true",
                        help="project construction with the fitted k_syn, not the calibration run's cost")
    parser.add_argument("--repeats", type=int, default=None, help="runs per point, the fastest kept (default 2; "
                                                                  "--quick: 1)")
    parser.add_argument("--probe-intervals", type=int, default=2000)
    parser.add_argument("--calibration-scale", type=float, default=None,
                        help="hpc_benchmark scale of the one-partition calibration run (default 10, the study's "
                             "size per GPU; --quick: 0, none)")
    args = parser.parse_args(argv)
    if args.from_json or args.no_run:
        path = args.from_json or _newest_json()
        results = json.loads(Path(path).read_text())
        print(f"refitting {path}")
        return report(results, args)
    points = [int(p) for p in (args.points or ("1,2" if args.quick else "1,2,4,8")).split(",")]
    t0 = time.perf_counter()
    repeats = args.repeats or (1 if args.quick else 2)
    cal = args.calibration_scale if args.calibration_scale is not None else (0.0 if args.quick else 10.0)
    results = measure(points, args.quick, args.time, repeats, 500 if args.quick else args.probe_intervals, cal)
    results["measure_s"] = time.perf_counter() - t0
    results.update(report(results, args))
    out = RESULTS / f"scaling-{results['date']}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=float))
    print(f"\nwritten {out} (measured in {results['measure_s']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
