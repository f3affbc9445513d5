"""The benchmark suite: dsnn on a local Dask cluster against NEST 3.10, for the standard models.

Run from the repository root::

    python -m benchmarks                         # every model, 3 repeats (about 15 minutes on 2 cores)
    python -m benchmarks --models brunel --repeats 5 --time 500
    python -m benchmarks --quick                 # tiny networks, 1 repeat: a smoke run (well under a minute)

Options: ``--models`` (comma-separated names of :data:`MODELS`, default all of
them, and of :data:`OPTIONAL_MODELS`: ``microcircuit_full``), ``--repeats``
(default 3), ``--time`` (ms simulated; default per model, :data:`MODELS`),
``--partitions`` (dsnn partitions = worker processes, and NEST threads;
default 2), ``--no-nest``, ``--quick``. Writes
``benchmarks/results/<date>.json`` (every run's raw values, the medians and
spreads, machine and versions) and ``benchmarks/results/<date>.md`` (the
table, also printed); ``--quick`` writes ``<date>-quick.*``; a later run
on the same day writes ``<date>-2.*``, ``-3``, ... and keeps the first.

How each model is run
---------------------
dsnn, per repeat: a fresh ``dsnn.local_cluster(P)`` (P single-threaded
worker processes whose preload imports dsnn and loads its kernels as they
start; so each worker's peak memory belongs to that repeat), its start
timed; the model built on it at once, with no build before it (the
construction a user meets), and closed; then a tiny copy of the model built
and run (every kernel of the model's own types loaded) and the model built
again with its preferred exchange (the model file's ``EXCHANGE``) and
``placement`` and simulated for T ms. In the first repeat the model is
built once more with the other exchange and simulated for T ms, to record
both exchanges' volumes (the spikes are the same).
NEST: a fresh spawned process per repeat, P threads, the model file's
``nest_network`` (:func:`benchmarks.harness.run_nest`).

The figures (each a median over the repeats, with the min–max spread)
---------------------------------------------------------------------
- start (s): dsnn: the wall time of ``dsnn.local_cluster(P)``; NEST: of
  ``import nest`` in its fresh process (no ratio).
- construction on a fresh cluster (s): dsnn: the wall time of the first
  ``net.build(client, ...)`` on the cluster just started, and of it the
  seconds its workers spent loading or compiling kernels
  (``sim.compile_seconds``); NEST: create + connect, plus ``Prepare`` and
  the first ``Run(0.1)`` (where NEST builds its presynaptic tables). The
  issue's target: Brunel <= 0.2x NEST's.
- construction, warm workers (s): the same, of the build after the warm-up.
- simulation (s): wall time to simulate T ms (NEST: the remaining T - 0.1 ms
  and ``Cleanup``); real-time factor = simulation wall time / T.
- bytes per synapse: dsnn: the bytes the partitions hold (synapses, neuron
  state, ring buffers, ...) / synapses (``sim.memory()``); NEST: the
  resident-memory increase over construction and simulation / connections.
- peak RSS per worker (MB): dsnn: the largest worker's peak resident memory
  (``ru_maxrss``, both builds and the warm-up included); NEST: the process's peak.
  Peak RSS, total: the sum over dsnn's workers (the ratio compares the memory
  either simulator needed for the network).
- mean rate (spikes/s): spikes of all neurons / neurons / T (sanity check:
  dsnn and NEST should agree within a few per cent).
- spikes per interval and exchanged bytes per interval: an interval is the
  minimum delay (``net.min_delay_steps`` steps of ``net.dt``), the period of
  the exchange; bytes are the payload the partitions sent each other
  (``sim.exchanged_bytes()``) and, "wire", with the message headers
  (``headers=True``), for p2p and collective.
- time split (s): per partition, seconds in update, deliver, exchange and
  wait (``sim.timers``), averaged over the partitions.
- per-step costs (``harness.per_step``): ns per synaptic event delivered,
  ns per neuron-step of the neuron update, ns per Poisson input per step,
  us of exchange + wait per interval, averaged over the partitions.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness


@dataclasses.dataclass(frozen=True)
class Model:
    """A benchmarked model: its file, parameters, simulated time (ms) and tiny variants."""

    file: str
    params: dict
    time_ms: float
    quick_params: dict  # tiny network: the warm-up copy, and the --quick run
    quick_time_ms: float = 50.0


#: the models; sizes and times chosen so that all of them, 3 repeats, dsnn and NEST, take about 15 minutes
#: on 2 cores (microcircuit and multi_area record from t = 0: the rates include the start-up transient)
MODELS = {
    "brunel": Model("examples/brunel.py", {"scale": 1.0}, 1000.0, {"scale": 0.02}),
    # hpc_benchmark: ``scale`` is per partition (weak scaling: 11,250 neurons on 2 partitions); in-degrees
    # 1,800 + 450 (a fifth of NEST's 9,000 + 2,250) keep NEST's run under half a minute here
    "hpc_benchmark": Model("examples/hpc_benchmark.py", {"scale": 0.5, "indegree_scale": 0.2}, 500.0,
                           {"scale": 0.02, "indegree_scale": 0.01}),
    # the same with NEST's original E -> E plasticity (stdp_pl_synapse_hom)
    "hpc_plastic": Model("examples/hpc_benchmark.py", {"scale": 0.5, "indegree_scale": 0.2, "plastic": True},
                         500.0, {"scale": 0.02, "indegree_scale": 0.01, "plastic": True}),
    "microcircuit": Model("examples/microcircuit.py", {"scale": 0.1, "t_presim": 0.0}, 1000.0,
                          {"scale": 0.01, "t_presim": 0.0}),
    # multi_area: 4 areas of scale 0.05, two per partition; 500 ms (min delay 0.1 ms: 5,000 exchanges)
    "multi_area": Model("examples/multi_area.py", {"t_presim": 0.0}, 500.0,
                        {"scale": 0.01, "t_presim": 0.0}),
    # 10,000 aeif_cond_alpha neurons of 1,000 synapses each: the adaptive integration (GSL's RKF45 in NEST,
    # the same steps in dsnn) costs ~100x a Brunel neuron update, so 200 ms
    "brunel_adex": Model("examples/brunel_adex.py", {"scale": 1.0}, 200.0, {"scale": 0.02}),
    # the same with dsnn's exact-conductance option (NEST's scheme beside it, as it has no other)
    "brunel_adex_exact": Model("examples/brunel_adex.py", {"scale": 1.0, "exact_conductances": True}, 200.0,
                               {"scale": 0.02, "exact_conductances": True}),
}

#: models run only when ``--models`` names them: the full-scale microcircuit (77,169 neurons, 3e8 synapses;
#: about 10 minutes with NEST on 2 cores, and ~15 GB for NEST)
OPTIONAL_MODELS = {
    "microcircuit_full": Model("examples/microcircuit.py", {"scale": 1.0, "t_presim": 0.0}, 500.0,
                               {"scale": 0.01, "t_presim": 0.0}),
}


# ----------------------------------------------------------------------------- dsnn on a cluster

def exchange_figures(sim, net, t_ms: float) -> dict:
    """Exchanged payload and wire bytes (in all and per interval) of ``sim`` after ``t_ms`` ms."""
    payload, wire = sim.exchanged_bytes(), sim.exchanged_bytes(headers=True)
    n = harness.intervals(net, t_ms)
    return {"bytes": payload, "wire_bytes": wire, "bytes_per_interval": payload / n,
            "wire_bytes_per_interval": wire / n}


def model_network(module, params: dict, partitions: int):
    """The model file's network for ``partitions`` partitions, and what ``net.build(partitions=...)`` takes."""
    from dsnn.description.model_files import load_network

    net = load_network(module.__file__, harness.model_params(module, params, partitions), module)
    return net, harness.layout(module, net, partitions)


def fresh_build(client, module, params: dict, partitions: int, exchange: str) -> dict:
    """The model built at once on a cluster that has built nothing yet (as a user meets it): the wall time
    of ``net.build`` (s) and, of the build, the seconds spent loading or compiling kernels."""
    net, where = model_network(module, params, partitions)
    t0 = time.perf_counter()
    sim = net.build(client, partitions=where, exchange=exchange)
    build_s = time.perf_counter() - t0
    compile_s = sim.compile_seconds
    sim.close()
    return {"fresh_construction_s": build_s, "fresh_compile_s": compile_s}


def timed_run(client, module, params: dict, partitions: int, t_ms: float, exchange: str) -> tuple:
    """Build and simulate the model; returns (network, :class:`benchmarks.harness.Timed`)."""
    net, where = model_network(module, params, partitions)
    return net, harness.build_and_run(net, client, where, exchange, t_ms)


def dsnn_figures(timed: harness.Timed, net, t_ms: float, exchange: str) -> dict:
    """The figures of a timed dsnn run (times in s, rates in spikes/s; the module docstring)."""
    sim = timed.sim
    counters = sim.counters()
    spikes = sum(int(c["spikes"]) for c in counters)
    n_int = harness.intervals(net, t_ms)
    return {"exchange": exchange, "neurons": net.n_neurons, "synapses": int(sim.n_synapses),
            "construction_s": timed.construction_s, "simulation_s": timed.simulation_s,
            "rtf": timed.simulation_s / (t_ms / 1000.0), "bytes_per_synapse": sim.memory()["bytes_per_synapse"],
            "rate_hz": spikes / net.n_neurons / (t_ms / 1000.0), "spikes": spikes, "intervals": n_int,
            "spikes_per_interval": spikes / n_int, "min_delay_ms": harness.interval_ms(net),
            exchange: exchange_figures(sim, net, t_ms), "timers": [dict(c["timers"]) for c in counters],
            "per_step": harness.per_step(counters, sim.info())}


def other_exchange_run(client, module, params: dict, partitions: int, t_ms: float, exchange: str,
                       spikes: int) -> dict:
    """The model with the exchange other than ``exchange``: its volumes and times, and whether it gave the
    same number of spikes."""
    net, timed = timed_run(client, module, params, partitions, t_ms, exchange)
    out = dict(exchange_figures(timed.sim, net, t_ms), construction_s=timed.construction_s,
               simulation_s=timed.simulation_s, same_spike_count=timed.sim.spike_count == spikes)
    timed.sim.close()
    return out


def preferred_exchange_run(client, module, params: dict, partitions: int, t_ms: float, exchange: str) -> dict:
    """The model built and simulated with its preferred exchange: its figures (:func:`dsnn_figures`) and
    the workers' peak resident memory so far (MB)."""
    net, timed = timed_run(client, module, params, partitions, t_ms, exchange)
    out = dsnn_figures(timed, net, t_ms, exchange)
    timed.sim.close()
    peaks = harness.peak_rss_mb(client)
    return dict(out, peak_rss_per_worker_mb=peaks, peak_rss_worker_mb=max(peaks), peak_rss_total_mb=sum(peaks))


def dsnn_repeat(model: Model, params: dict, warm_params: dict, partitions: int, t_ms: float,
                other_exchange: bool) -> dict:
    """One dsnn repeat on a fresh local cluster (module docstring): its start, the model built at once on
    it, then after a warm-up the timed build and run; with ``other_exchange`` also a run with the model's
    other exchange."""
    module = harness.load_model(model.file)
    exchange = harness.exchange_of(module)
    with harness.fresh_cluster(partitions) as cluster:
        client = cluster.client
        fresh = fresh_build(client, module, params, partitions, exchange)
        warm_net, warm_where = model_network(module, warm_params, partitions)
        harness.warm_up(client, warm_net, warm_where, exchange)
        out = dict(preferred_exchange_run(client, module, params, partitions, t_ms, exchange),
                   cluster_start_s=cluster.start_s, **fresh)
        if other_exchange:
            other = "collective" if exchange == "p2p" else "p2p"
            out[other] = other_exchange_run(client, module, params, partitions, t_ms, other, out["spikes"])
    return out


# ----------------------------------------------------------------------------- NEST in its own process

def nest_repeat(model: Model, params: dict, partitions: int, t_ms: float) -> dict:
    """One NEST run with ``partitions`` threads in a fresh spawned process (figures of
    :func:`benchmarks.harness.nest_model_run`; its one process is both the "worker" and the "total")."""
    out = harness.run_nest(model.file, params, t_ms, partitions)
    return dict(out, peak_rss_worker_mb=out["peak_rss_mb"], peak_rss_total_mb=out["peak_rss_mb"])


# ----------------------------------------------------------------------------- statistics

def spread(values: list) -> dict:
    """Median, min and max of ``values`` (None where there are none)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def dig(run: dict, key: str):
    """``run[a][b]`` for ``key`` "a.b" (None where missing)."""
    for part in key.split("."):
        if not isinstance(run, dict) or part not in run:
            return None
        run = run[part]
    return run


@dataclasses.dataclass(frozen=True)
class Row:
    """A row of the table: the dsnn figure, the NEST figure beside it (None: none), the label ("{T}": the
    simulated time, "{P}": the partitions), and whether the row shows dsnn / NEST."""

    dsnn: str
    nest: str | None
    label: str
    ratio: bool = True


#: the table's rows, in order
ROWS = (Row("cluster_start_s", "import_s", "start (s): dsnn.local_cluster({P}) / import nest", ratio=False),
        Row("fresh_construction_s", "construction_s",
            "construction on that fresh cluster (s) / NEST connect + prepare"),
        Row("fresh_compile_s", None, "of it, loading or compiling kernels (s)", ratio=False),
        Row("construction_s", "construction_s", "construction, warm workers (s) / NEST connect + prepare"),
        Row("simulation_s", "simulation_s", "simulation of {T} ms (s)"),
        Row("rtf", "rtf", "real-time factor"), Row("bytes_per_synapse", "bytes_per_synapse", "bytes per synapse"),
        Row("peak_rss_worker_mb", "peak_rss_worker_mb", "peak RSS per worker / process (MB)"),
        Row("peak_rss_total_mb", "peak_rss_total_mb", "peak RSS, total (MB)"),
        Row("rate_hz", "rate_hz", "mean rate (spikes/s)"),
        Row("spikes_per_interval", None, "spikes per interval"),
        Row("p2p.bytes_per_interval", None, "p2p bytes per interval (payload)"),
        Row("p2p.wire_bytes_per_interval", None, "p2p bytes per interval (wire)"),
        Row("collective.bytes_per_interval", None, "collective bytes per interval (payload)"),
        Row("collective.wire_bytes_per_interval", None, "collective bytes per interval (wire)"))

TIME_SPLIT = ("update", "deliver", "exchange", "wait")
#: per-step costs (harness.per_step) and their labels
PER_STEP = {"deliver_ns_per_event": "delivery: ns per synaptic event",
            "update_ns_per_neuron_step": "neuron update: ns per neuron-step (input apart)",
            "poisson_ns_per_input_step": "Poisson input: ns per input per step",
            "exchange_wait_us_per_interval": "exchange + wait: us per interval"}
DSNN_KEYS = (tuple(r.dsnn for r in ROWS) + tuple(f"time_split.{k}" for k in TIME_SPLIT)
             + tuple(f"per_step.{k}" for k in PER_STEP))
NEST_KEYS = tuple(dict.fromkeys(r.nest for r in ROWS if r.nest)) + ("connect_s", "prepare_s")


def summarize(runs: list, keys: tuple) -> dict:
    """Median and min–max over ``runs`` of every figure in ``keys``."""
    return {k: spread([dig(r, k) for r in runs]) for k in keys}


def ratios(dsnn: dict, nest: dict) -> dict:
    """dsnn median / NEST median for the rows that show one, by dsnn figure (None where either is missing)."""
    out = {}
    for row in ROWS:
        if row.ratio:
            d, n = dsnn[row.dsnn]["median"], nest.get(row.nest, {}).get("median")
            out[row.dsnn] = d / n if d is not None and n else None
    return out


# ----------------------------------------------------------------------------- one model

def bench_model(name: str, args) -> dict:
    """Every repeat of one model, dsnn then NEST; raw runs, summaries and ratios."""
    model = {**MODELS, **OPTIONAL_MODELS}[name]
    t_ms = args.time or (model.quick_time_ms if args.quick else model.time_ms)
    params = model.quick_params if args.quick else model.params
    module = harness.load_model(model.file)
    nest_params = harness.model_params(module, params, args.partitions)
    out = {"file": model.file, "params": nest_params, "time_ms": t_ms, "partitions": args.partitions,
           "exchange": harness.exchange_of(module), "dsnn_runs": [], "nest_runs": []}
    for r in range(args.repeats):
        t0 = time.perf_counter()
        run = dsnn_repeat(model, params, model.quick_params, args.partitions, t_ms, other_exchange=r == 0)
        run["time_split"] = harness.mean_timers(run["timers"])
        out["dsnn_runs"].append(run)
        msg = f"  {name} repeat {r + 1}/{args.repeats}: dsnn {time.perf_counter() - t0:.1f} s"
        if not args.no_nest:
            t0 = time.perf_counter()
            out["nest_runs"].append(nest_repeat(model, nest_params, args.partitions, t_ms))
            msg += f", NEST {time.perf_counter() - t0:.1f} s"
        print(msg, flush=True)
    first = out["dsnn_runs"][0]
    out.update(neurons=first["neurons"], synapses=first["synapses"], min_delay_ms=first["min_delay_ms"],
               dsnn=summarize(out["dsnn_runs"], DSNN_KEYS), nest=summarize(out["nest_runs"], NEST_KEYS))
    out["ratio_dsnn_over_nest"] = ratios(out["dsnn"], out["nest"])
    return out


# ----------------------------------------------------------------------------- the table

def fmt(x, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (thousands separated), or an en dash for None."""
    if x is None:
        return "–"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def cell(s: dict | None) -> str:
    """'median [min–max]' of a :func:`spread` (the median alone for a single value)."""
    if not s or s["median"] is None:
        return "–"
    if s["n"] == 1 or s["min"] == s["max"]:
        return fmt(s["median"])
    return f"{fmt(s['median'])} [{fmt(s['min'])}–{fmt(s['max'])}]"


def time_split_cell(s: dict) -> str:
    """Medians of the mean time split as 'update / deliver / exchange / wait'."""
    return " / ".join(fmt(s[f"time_split.{k}"]["median"]) for k in TIME_SPLIT)


def model_rows(name: str, m: dict) -> list:
    """Markdown rows of one model."""
    rows = []
    title = (f"**{name}** ({m['neurons']:,} neurons, {m['synapses']:,} synapses, {m['time_ms']:g} ms, "
             f"min delay {m['min_delay_ms']:g} ms, {m['exchange']})")
    for row in ROWS:
        ratio = m["ratio_dsnn_over_nest"].get(row.dsnn)
        label = row.label.format(T=f"{m['time_ms']:g}", P=m["partitions"])
        nest = cell(m["nest"].get(row.nest)) if row.nest else ""
        rows.append([title if not rows else "", label, cell(m["dsnn"][row.dsnn]), nest,
                     fmt(ratio) if ratio is not None else ""])
    rows.append(["", "time split (s): update / deliver / exchange / wait", time_split_cell(m["dsnn"]), "", ""])
    for key, label in PER_STEP.items():
        figure = m["dsnn"].get(f"per_step.{key}")
        if figure and figure["median"] is not None:
            rows.append(["", label, cell(figure), "", ""])
    return rows


def markdown(results: dict) -> str:
    """The results as a markdown document: a header (date, machine, versions, how it ran) and the table."""
    mach, ver = results["machine"], results["versions"]
    P = results["partitions"]
    nest = f"against NEST {ver['nest']} with {P} threads" if results.get("nest", True) else "(NEST not run)"
    lines = [f"# dsnn benchmarks, {results['date']}{' (quick)' if results['quick'] else ''}", "",
             (f"`{results['command']}`: dsnn on {P} partitions (`dsnn.local_cluster({P})`: {P} single-threaded "
              f"worker processes, a fresh cluster per repeat) {nest} (a fresh process per repeat); median "
              f"[min–max] over {results['repeats']} repeat(s); ratio = dsnn median / NEST median."), "",
             (f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB, {mach['platform']}, "
              f"Python {mach['python']}; load average {mach['load_1min']:.2f} at the start. Versions: "
              f"{', '.join(f'{k} {v}' for k, v in ver.items())}."),
             f"Total wall time {results['wall_s'] / 60:.1f} min.", "",
             "| model | figure | dsnn | NEST | dsnn / NEST |", "|---|---|---|---|---|"]
    for name, m in results["models"].items():
        lines += ["| " + " | ".join(r) + " |" for r in model_rows(name, m)]
    lines += ["", ("Start: the wall time of `dsnn.local_cluster(P)` (worker processes started, their preload "
              "importing dsnn and loading its kernels), beside NEST's `import nest` in its fresh process. "
              "Construction on that fresh cluster: the model built at once on it, no build before it (what a "
              "user meets); warm workers: the same model built again after a tiny copy of it was built and run. "
              "NEST's construction: create + connect, `Prepare` and the first `Run(0.1)`. "
              "Bytes per interval: the exchange's payload (spike ids; the collective's block sizes) and, "
              "'wire', with the message headers, per minimum delay; the model's preferred exchange is timed in "
              "every repeat, the other one is run once. Peak RSS: dsnn's largest worker (per worker) and all "
              "workers (total), both builds included; NEST's one process (both rows). Time split: mean over "
              "the partitions."), ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- entry point

def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, of {','.join(MODELS)} (default: all of them) and "
                             f"{','.join(OPTIONAL_MODELS)}")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (default 3; 1 with --quick)")
    parser.add_argument("--time", type=float, default=None, help="ms simulated (default: per model)")
    parser.add_argument("--partitions", type=int, default=2, help="dsnn partitions and NEST threads")
    parser.add_argument("--no-nest", action="store_true", help="dsnn only")
    parser.add_argument("--quick", action="store_true", help="tiny networks, 1 repeat: a smoke run")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3)
    unknown = [m for m in args.models.split(",") if m not in MODELS and m not in OPTIONAL_MODELS]
    if unknown or args.repeats < 1 or args.partitions < 1:
        parser.error(f"unknown models {unknown}" if unknown else "--repeats and --partitions must be >= 1")
    return args


def write(results: dict) -> Path:
    """Write ``<date>[-quick].json`` and ``.md`` into benchmarks/results; returns the markdown's path."""
    json_path = harness.write_json(f"{results['date']}{'-quick' if results['quick'] else ''}", results)
    md = json_path.with_suffix(".md")
    md.write_text(markdown(results))
    return md


def main(argv=None) -> dict:
    args = parse(argv)
    t0 = time.perf_counter()
    command = " ".join(["python -m benchmarks", *(sys.argv[1:] if argv is None else argv)]).strip()
    results = {"date": harness.today(), "command": command, "quick": args.quick, "repeats": args.repeats,
               "nest": not args.no_nest, "partitions": args.partitions, "machine": harness.machine(),
               "versions": harness.versions(), "models": {}}
    for name in args.models.split(","):
        results["models"][name] = bench_model(name, args)
    results["wall_s"] = time.perf_counter() - t0
    md = write(results)
    print(md.read_text())
    print(f"written {md.with_suffix('.json')} and {md}")
    return results
