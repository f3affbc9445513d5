"""Weak and strong scaling on this machine, measured; the cost model fitted to it and projected to GPUs.

Run from the repository root::

    python benchmarks/scaling.py                      # points 1,2,4,8: ~5 minutes on 2 cores, peak ~4 GB
    python benchmarks/scaling.py --quick              # tiny networks, points 1,2: a smoke run (~30 s)
    python benchmarks/scaling.py --points 1,2 --time 200
    python benchmarks/scaling.py --from-json benchmarks/results/scaling-2026-11-30.json   # refit, no runs
    python benchmarks/scaling.py --no-run             # the same, from the newest results/scaling-<date>.json

Other options: ``--repeats N`` (runs per point, the fastest kept;
default 2, ``--quick`` 1), ``--probe-intervals N``, ``--calibration-scale S``
(default 10, ``--quick`` 0: none), ``--hpc-rate HZ`` and ``--mam-rate HZ``
(rates used in the projection), ``--gpu-ns-per-event``,
``--gpu-latency-us``, ``--gpu-bandwidth-gbs``, ``--gpu-build-factor``,
``--sw-us-per-message``, ``--gpu-imbalance``, ``--fitted-k-syn`` (the GPU
assumptions). A run writes ``benchmarks/results/scaling-<date>.json``
(``--quick``: ``scaling-<date>-quick.json``, not kept in git) with every
measured figure, the fitted constants, the residuals and the projection;
``--from-json``/``--no-run`` only print.

This module measures (:func:`measure`); the fit is :mod:`benchmarks.cost_model`,
the projection :mod:`benchmarks.projection`. What is measured, the cost
model and the assumptions of the projection: ``benchmarks/RESULTS.md``,
section "The scaling benchmark and its cost model".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # python benchmarks/scaling.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import cost_model, harness, projection
from dsnn.support.machine import cores

# ============================================================================ configuration

@dataclasses.dataclass(frozen=True)
class Series:
    """One scaling series: a model file, its parameters, the simulated time (ms)."""

    name: str  # "weak", "strong" or "calibration"
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


def calibration_series(scale: float) -> Series:
    """hpc_benchmark at ``scale`` (10: the study's 112,500 neurons per GPU) on one partition, 300 ms."""
    return Series("calibration", "examples/hpc_benchmark.py", {"scale": scale, "indegree_scale": 1.0,
                                                               "record": False}, 300.0)


def network(s: Series, module, P: int):
    """The series' network for P partitions (hpc_benchmark's ``scale`` is per partition)."""
    return module.network(**harness.model_params(module, s.params, P))


# ============================================================================ the features of a point

def expected_synapses(rule, n_pre: int, n_post: int, n_post_p: np.ndarray) -> np.ndarray:
    """Expected synapses of a projection onto each partition, from its rule (``n_post_p``: its targets there)."""
    v = rule.value
    share = n_post_p / max(n_post, 1)
    return {"fixed_indegree": lambda: v * n_post_p, "fixed_total_number": lambda: v * share,
            "fixed_outdegree": lambda: v * n_pre * share, "all_to_all": lambda: n_pre * n_post_p.astype(float),
            "one_to_one": lambda: n_post_p.astype(float),
            "pairwise_bernoulli": lambda: v * n_pre * n_post_p}[rule.name]() * 1.0


def partition_structure(net, bounds, pop_spikes: dict) -> dict:
    """Per partition (lists): populations there, projections into it, expected synapses and synaptic events.

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


def population_spikes(counters: list) -> dict:
    """Spikes per population index, summed over the partitions' counters."""
    out: dict = {}
    for c in counters:
        for i, n in c["populations"].items():
            out[int(i)] = out.get(int(i), 0) + int(n)
    return out


@dataclasses.dataclass
class Observed:
    """What one build and run left to read: the partitions' counters and info, the decomposition's bounds,
    the exchanged bytes (payload and wire), the pairs of partitions that need each other, and the times."""

    counters: list
    info: list
    bounds: tuple
    payload: int
    wire: int
    pairs: int
    construction_s: float
    simulation_s: float


def observe(timed: harness.Timed) -> Observed:
    """Read what a point records from a built and run simulation (before it is closed)."""
    sim = timed.sim
    build_info = getattr(sim.runner, "build_info", None)  # cluster runs: pairs that need each other
    pairs = 0 if build_info is None else build_info["pairs"]
    return Observed(sim.counters(), sim.info(), tuple(sim.decomposition.bounds), sim.exchanged_bytes(),
                    sim.exchanged_bytes(headers=True), pairs, timed.construction_s, timed.simulation_s)


def point_record(s: Series, net, P: int, exchange: str, obs: Observed, n_cores: int, in_process: bool) -> dict:
    """The figures of one point, in all and per partition (lists by partition); see RESULTS.md."""
    steps = round(s.time_ms / net.dt)
    n_int = math.ceil(steps / net.min_delay_steps)
    per = {"neurons": [i["n_local"] for i in obs.info], "images": [i["n_images"] for i in obs.info],
           "synapses": [int(i["n_synapses"]) for i in obs.info], "spikes": [int(c["spikes"]) for c in obs.counters],
           "messages": [int(c["messages_sent"]) for c in obs.counters],
           "bytes_sent": [int(c["bytes_sent"]) for c in obs.counters],
           "timers": [{k: float(v) for k, v in c["timers"].items()} for c in obs.counters]}
    per.update(partition_structure(net, obs.bounds, population_spikes(obs.counters)))
    per["neuron_steps"] = [n * steps for n in per["neurons"]]
    per["received"] = received_spikes(exchange, per["spikes"], per["neurons"], per["images"])
    spikes = int(sum(per["spikes"]))
    return {"series": s.name, "model": Path(s.file).stem, "partitions": P, "in_process": in_process,
            "oversubscribed": (not in_process) and P > n_cores, "cores": n_cores, "exchange": exchange,
            "params": s.params, "time_ms": s.time_ms, "dt_ms": net.dt, "min_delay_steps": net.min_delay_steps,
            "interval_ms": harness.interval_ms(net), "intervals": n_int, "neurons": int(net.n_neurons),
            "synapses": int(sum(per["synapses"])), "synapses_expected": float(sum(per["synapses_expected"])),
            "spikes": spikes, "rate_hz": spikes / net.n_neurons / (s.time_ms / 1000.0),
            "events": float(sum(per["events"])), "construction_s": obs.construction_s,
            "simulation_s": obs.simulation_s, "rtf": obs.simulation_s / (s.time_ms / 1000.0),
            "bytes": int(obs.payload), "wire_bytes": int(obs.wire), "messages": int(sum(per["messages"])),
            "pairs": int(obs.pairs),
            "tasks": 0 if in_process else cost_model.construction_tasks(exchange, P, obs.pairs),
            "per_partition": per}


# ============================================================================ measuring

def fastest_of(repeats: int, run_once) -> tuple:
    """``run_once()`` (returning (network, :class:`Observed`, anything)) ``repeats`` times: the result of the
    fastest simulation with the fastest construction in its :class:`Observed`, and every repeat's times."""
    best, times = None, []
    for _ in range(repeats):
        result = run_once()
        obs = result[1]
        times.append({"construction_s": obs.construction_s, "simulation_s": obs.simulation_s})
        if best is None or obs.simulation_s < best[1].simulation_s:
            best = result
    best[1].construction_s = min(t["construction_s"] for t in times)
    return best, times


def measure_cluster(client, s: Series, P: int, n_cores: int, repeats: int = 2) -> dict:
    """The series' network built and run on the P workers of ``client``, ``repeats`` times
    (:func:`fastest_of`)."""
    module = harness.load_model(s.file)
    exchange = harness.exchange_of(module)

    def run_once():
        net = network(s, module, P)
        timed = harness.build_and_run(net, client, harness.layout(module, net, P), exchange, s.time_ms)
        obs = observe(timed)
        timed.sim.close()
        return net, obs, None

    (net, obs, _), times = fastest_of(repeats, run_once)
    return dict(point_record(s, net, P, exchange, obs, n_cores, in_process=False), repeats=times)


def build_one_thread(net, module, P: int, exchange: str):
    """``net`` on P partitions in this process stepped one after the other in one thread (no transport, no
    core shared): the partitions' summed compute."""
    from dsnn.partitioning import Decomposition
    from dsnn.runners.in_process import build_in_process

    return build_in_process(net, Decomposition.of(net, harness.layout(module, net, P)), exchange, "cpu", 20.0,
                            threads=1)


def run_in_process(s: Series, module, P: int, exchange: str, settle_ms: float) -> tuple:
    """One build and run of the series' network in this process (:func:`build_one_thread`): (network,
    what it left, spikes in the first ``settle_ms`` ms)."""
    net = network(s, module, P)
    t0 = time.perf_counter()
    sim = build_one_thread(net, module, P, exchange)
    t1 = time.perf_counter()
    settled = 0
    if settle_ms > 0:
        sim.run(settle_ms, progress=False)
        settled = sim.spike_count
    sim.run(s.time_ms - settle_ms, progress=False)
    obs = observe(harness.Timed(sim, t1 - t0, time.perf_counter() - t1))
    sim.close()
    return net, obs, settled


def measure_in_process(s: Series, P: int, n_cores: int, repeats: int = 1, settle_ms: float = 0.0) -> dict:
    """The series' network on P partitions in this process, one thread, ``repeats`` times
    (:func:`fastest_of`); with ``settle_ms``, also the rate after the first ``settle_ms`` ms
    (``rate_hz_settled``)."""
    module = harness.load_model(s.file)
    exchange = harness.exchange_of(module)
    (net, obs, settled), times = fastest_of(repeats, lambda: run_in_process(s, module, P, exchange, settle_ms))
    rec = dict(point_record(s, net, P, exchange, obs, n_cores, in_process=True), repeats=times)
    if settle_ms > 0:
        rec["rate_hz_settled"] = (rec["spikes"] - settled) / net.n_neurons / ((s.time_ms - settle_ms) / 1000.0)
        rec["settle_ms"] = settle_ms
    return rec


def latency_probe(client, P: int, n_cores: int, n_intervals: int) -> list:
    """Per exchange mode, the ring network's µs per interval (:func:`benchmarks.harness.interval_probe`):
    wall, exchange + wait (the partition waiting least, and the mean), update, and messages per partition."""
    rows = []
    for mode in ("p2p", "collective"):
        r = harness.interval_probe(client, P, mode, n_intervals)
        rows.append({"partitions": P, "exchange": mode, "intervals": n_intervals, "oversubscribed": P > n_cores,
                     "cores": n_cores, "wall_us": r["wall_us"], "exchange_wait_us_min": min(r["exchange_wait_us"]),
                     "exchange_wait_us_mean": float(np.mean(r["exchange_wait_us"])),
                     "update_us": float(np.mean(r["update_us"])),
                     "messages_per_interval": float(np.mean(r["messages_per_interval"]))})
    return rows


def warm_up(client, P: int) -> None:
    """Build and run tiny copies of both models on the P workers (``client=None``: in this process), so that
    every kernel they use is loaded."""
    for s in series(True, 5.0, P):
        module = harness.load_model(s.file)
        if s.name == "strong":
            s = dataclasses.replace(s, params=dict(s.params, n_areas=max(2, P)))
        net = network(s, module, P)
        harness.warm_up(client, net, harness.layout(module, net, P), harness.exchange_of(module), s.time_ms)


def measure(points: list, quick: bool, time_ms: float | None, repeats: int = 2, probe_intervals: int = 2000,
            calibration_scale: float = 10.0, log=print) -> dict:
    """Every point of both series on a fresh local cluster each (with the latency probe), then the
    in-process references at every P (each ``repeats`` times, the fastest kept), and
    (``calibration_scale`` > 0) hpc_benchmark at that scale on one partition in-process, once (its rate
    after 100 ms is the projection's)."""
    n_cores = cores()
    todo = series(quick, time_ms, max(points))
    out = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(), "cores": n_cores,
           "quick": quick, "points": points, "repeats": repeats,
           "oversubscribed_points": [P for P in points if P > n_cores],
           "note": f"P > {n_cores} oversubscribes the {n_cores} cores: P single-threaded worker processes share them",
           "series": {s.name: dataclasses.asdict(s) for s in todo}, "weak": [], "strong": [], "in_process": [],
           "probe": [], "load_average": [], "cluster_start_s": {}}
    for P in points:
        t0 = time.perf_counter()
        with harness.fresh_cluster(P) as cluster:
            out["cluster_start_s"][str(P)] = cluster.start_s
            warm_up(cluster.client, P)
            if P > 1:
                out["probe"].extend(latency_probe(cluster.client, P, n_cores, probe_intervals))
            for s in todo:
                rec = measure_cluster(cluster.client, s, P, n_cores, repeats)
                out[s.name].append(rec)
                log(f"  {s.name:6s} P={P}{' (oversubscribed)' if rec['oversubscribed'] else ''}: "
                    f"construction {rec['construction_s']:.2f} s, simulation {rec['simulation_s']:.2f} s")
        out["load_average"].append({"partitions": P, "load_1min": os.getloadavg()[0]})
        log(f"  P={P} done in {time.perf_counter() - t0:.0f} s (load average {os.getloadavg()[0]:.1f})")
    warm_up(None, max(points))
    for P in points:
        for s in todo:
            rec = measure_in_process(s, P, n_cores, repeats)
            out["in_process"].append(rec)
            log(f"  {s.name:6s} in-process P={P}: construction {rec['construction_s']:.2f} s, "
                f"simulation {rec['simulation_s']:.2f} s")
    if calibration_scale > 0:
        rec = measure_in_process(calibration_series(calibration_scale), 1, n_cores, settle_ms=100.0)  # once: ~4 GB
        out["in_process"].append(rec)
        log(f"  calibration (hpc_benchmark scale {calibration_scale:g}, 1 partition in-process): construction "
            f"{rec['construction_s']:.1f} s, simulation {rec['simulation_s']:.1f} s, "
            f"{rec['rate_hz_settled']:.2f} spikes/s after 100 ms")
    return out


# ============================================================================ report

def time_split(rec: dict) -> dict:
    """Seconds in update, deliver, exchange and wait: the mean over the partitions of a cluster point, the
    sum of an in-process one (one thread: its exchange timer holds the other partitions' compute)."""
    timers = rec["per_partition"]["timers"]
    if rec["in_process"]:
        return {k: sum(t[k] for t in timers) for k in ("update", "deliver", "exchange", "wait")}
    return harness.mean_timers(timers)


def print_series(title: str, recs: list) -> None:
    print(f"\n{title}")
    print(f"{'P':>3s}{'ovs':>4s}{'neurons':>9s}{'synapses':>13s}{'spikes':>9s}{'Hz':>6s}{'events':>11s}{'intv':>6s}"
          f"{'build s':>8s}{'sim s':>7s}{'RTF':>7s}{'upd':>6s}{'dlv':>6s}{'exch':>6s}{'wait':>6s}"
          f"{'payload B':>11s}{'wire B':>10s}{'msgs':>7s}")
    for r in recs:
        t = time_split(r)
        P = f"{r['partitions']}" + ("*" if r["in_process"] else "")
        print(f"{P:>3s}{'yes' if r['oversubscribed'] else '':>4s}{r['neurons']:9,d}{r['synapses']:13,d}"
              f"{r['spikes']:9,d}{r['rate_hz']:6.1f}{r['events']:11.3g}{r['intervals']:6d}"
              f"{r['construction_s']:8.2f}{r['simulation_s']:7.2f}{r['rtf']:7.2f}{t['update']:6.2f}"
              f"{t['deliver']:6.2f}{t['exchange']:6.2f}{t['wait']:6.2f}{r['bytes']:11,d}{r['wire_bytes']:10,d}"
              f"{r['messages']:7,d}")


def print_measured(results: dict) -> None:
    """The measured points of both series (and the calibration run), with a note where the expected
    synapses of the events proxy are off."""
    print(f"\n{results['note']}; oversubscribed points: {results['oversubscribed_points'] or 'none'}")
    s = results["series"]
    in_process = results["in_process"]
    print_series(f"Weak scaling: hpc_benchmark {s['weak']['params']} per partition, {s['weak']['time_ms']:g} ms, "
                 "collective (* in-process, one thread)",
                 results["weak"] + [r for r in in_process if r["series"] == "weak"])
    print_series(f"Strong scaling: multi_area {s['strong']['params']}, {s['strong']['time_ms']:g} ms, p2p "
                 "(* in-process, one thread)", results["strong"] + [r for r in in_process if r["series"] == "strong"])
    cal = [r for r in in_process if r["series"] == "calibration"]
    if cal:
        size = " (the study's size per GPU)" if cal[0]["neurons"] == projection.HPC_NEURONS_PER_GPU else ""
        print_series(f"Calibration: hpc_benchmark {cal[0]['params']}{size} on 1 partition "
                     f"in-process, {cal[0]['time_ms']:g} ms, {cal[0]['rate_hz_settled']:.2f} spikes/s after "
                     f"{cal[0]['settle_ms']:g} ms", cal)
    print("  (update/deliver/exchange/wait: seconds, mean over partitions, in-process the sum; events: the proxy "
          "of RESULTS.md; intv: intervals = T / min delay)")
    for r in cost_model.cluster_points(results) + in_process:
        if abs(r["synapses_expected"] / max(r["synapses"], 1) - 1) > 0.02:
            print(f"  note: {r['series']} P={r['partitions']}: expected synapses {r['synapses_expected']:.4g} vs "
                  f"{r['synapses']:,d} built (events proxy off by as much)")


def hpc_rate(results: dict, override: float | None) -> tuple:
    """(spikes/s of hpc_benchmark for the projection, where it comes from): ``override``, else the
    calibration run's settled rate, else the largest weak point's rate."""
    cal = [r for r in results["in_process"] if r["series"] == "calibration"]
    if override is not None:
        return override, "--hpc-rate"
    if cal:
        return cal[0]["rate_hz_settled"], f"calibration run, {cal[0]['neurons']:,d} neurons"
    weak = max([r for r in results["weak"] + results["in_process"] if r["series"] == "weak"],
               key=lambda r: r["neurons"])
    return weak["rate_hz"], f"largest weak point, {weak['neurons']:,d} neurons"


def report(results: dict, args) -> dict:
    """Print the tables; fit; project. Returns {fit, residuals, probe_model, projection, assumptions}."""
    print_measured(results)
    c = cost_model.fit(results)
    res = cost_model.residuals(results, c)
    probe = cost_model.probe_residuals(results, c)
    cost_model.print_fit(c, res, probe)
    rate, source = hpc_rate(results, args.hpc_rate)
    cal = [r for r in results["in_process"] if r["series"] == "calibration"]
    k_syn = cal[0]["construction_s"] / cal[0]["synapses"] if cal and not args.fitted_k_syn else None
    gpu = projection.gpu_assumptions(c, args.gpu_ns_per_event, args.gpu_latency_us, args.gpu_bandwidth_gbs,
                                     args.gpu_build_factor, args.sw_us_per_message, args.gpu_imbalance, k_syn)
    proj = projection.projection(c, gpu, rate, args.mam_rate)
    proj["hpc_rate_source"] = source
    if cal:
        proj["calibration"] = {k: cal[0][k] for k in ("neurons", "synapses", "construction_s", "simulation_s",
                                                      "rtf", "rate_hz_settled")}
    projection.print_projection(proj)
    print("\nAssumptions of the model:")
    for a in projection.ASSUMPTIONS:
        print(f"  - {a}")
    return {"fit": c, "residuals": res, "probe_model": probe, "projection": proj,
            "assumptions": projection.ASSUMPTIONS}


def newest_json() -> Path:
    """The newest full run's benchmarks/results/scaling-<date>.json (by the date in its name); the newest
    ``--quick`` one where there is none."""
    full = sorted(harness.RESULTS.glob("scaling-????-??-??.json"))
    found = full or sorted(harness.RESULTS.glob("scaling-*.json"))
    if not found:
        raise SystemExit("no benchmarks/results/scaling-*.json to refit; run without --no-run first")
    return found[-1]


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default=None, help="partition counts, comma-separated (default 1,2,4,8; "
                                                        "--quick: 1,2)")
    parser.add_argument("--time", type=float, default=None, help="simulated ms of both series")
    parser.add_argument("--quick", action="store_true", help="tiny networks: a smoke run")
    parser.add_argument("--no-run", action="store_true", help="refit the newest results/scaling-<date>.json")
    parser.add_argument("--from-json", type=Path, default=None, help="refit this JSON instead of running")
    parser.add_argument("--hpc-rate", type=float, default=None, help="spikes/s of hpc_benchmark in the projection")
    parser.add_argument("--mam-rate", type=float, default=projection.MAM_RATE_HZ,
                        help="spikes/s of the multi-area model")
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
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse(argv)
    if args.from_json or args.no_run:
        path = args.from_json or newest_json()
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
    out = harness.write_json(f"scaling-{results['date']}{'-quick' if args.quick else ''}", results)
    print(f"\nwritten {out} (measured in {results['measure_s']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
