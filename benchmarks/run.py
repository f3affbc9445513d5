"""The benchmark suite: dsnn on a local Dask cluster against NEST 3.10, for the four models.

Run from the repository root::

    python -m benchmarks                         # every model, 3 repeats (about 10 minutes on 2 cores)
    python -m benchmarks --models brunel --repeats 5 --time 500
    python -m benchmarks --quick                 # tiny networks, 1 repeat: a smoke run (well under a minute)

Options: ``--models`` (comma-separated names of :data:`MODELS`), ``--repeats``
(default 3), ``--time`` (ms simulated; default per model, :data:`MODELS`),
``--partitions`` (dsnn partitions = worker processes, and NEST threads;
default 2), ``--no-nest``, ``--quick``. Writes
``benchmarks/results/<date>.json`` (every run's raw values, the medians and
spreads, machine and versions) and ``benchmarks/results/<date>.md`` (the
table, also printed); ``--quick`` writes ``<date>-quick.*``.

How each model is run
---------------------
dsnn: a fresh ``distributed.LocalCluster`` of P single-threaded worker
processes per repeat (so each worker's peak memory belongs to that run); a
tiny copy of the model is built and run on it first so the numba kernels are
loaded, then the model is built with its preferred exchange (the model
file's ``EXCHANGE``) and ``placement`` and simulated for T ms. In the first
repeat the model is built once more with the other exchange and simulated
for T ms, to record both exchanges' volumes (the spikes are the same).
NEST: a fresh spawned process per repeat, P threads, the model file's
``nest_network`` (as ``benchmarks/brunel.py`` runs Brunel).

The figures (each a median over the repeats, with the min–max spread)
---------------------------------------------------------------------
- construction (s): dsnn: the wall time of ``net.build(client, ...)``; NEST:
  create + connect, plus ``Prepare`` and the first ``Run(0.1)`` (where NEST
  builds its presynaptic tables).
- simulation (s): wall time to simulate T ms (NEST: the remaining T - 0.1 ms
  and ``Cleanup``); real-time factor = simulation wall time / T.
- bytes per synapse: dsnn: the bytes the partitions hold (synapses, neuron
  state, ring buffers, ...) / synapses (``sim.memory()``); NEST: the
  resident-memory increase over construction and simulation / connections.
- peak RSS per worker (MB): dsnn: the largest worker's peak resident memory
  (``ru_maxrss``, the warm-up included); NEST: the process's peak.
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
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.metadata
import inspect
import json
import os
import platform
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

from benchmarks.brunel import _rss_mb, in_process  # noqa: E402  (spawned NEST runs, as brunel.py does)


@dataclasses.dataclass(frozen=True)
class Model:
    """A benchmarked model: its file, parameters, simulated time (ms) and tiny variants."""

    file: str
    params: dict
    time_ms: float
    quick_params: dict  # tiny network: the warm-up copy, and the --quick run
    quick_time_ms: float = 50.0


#: the four models; sizes and times chosen so that all of them, 3 repeats, dsnn and NEST, take about 10 minutes
#: on 2 cores (microcircuit and multi_area record from t = 0: the rates include the start-up transient)
MODELS = {
    "brunel": Model("examples/brunel.py", {"scale": 1.0}, 1000.0, {"scale": 0.02}),
    # hpc_benchmark: ``scale`` is per partition (weak scaling: 11,250 neurons on 2 partitions); in-degrees
    # 1,800 + 450 (a fifth of NEST's 9,000 + 2,250) keep NEST's run under half a minute here
    "hpc_benchmark": Model("examples/hpc_benchmark.py", {"scale": 0.5, "indegree_scale": 0.2}, 500.0,
                           {"scale": 0.02, "indegree_scale": 0.01}),
    "microcircuit": Model("examples/microcircuit.py", {"scale": 0.1, "t_presim": 0.0}, 1000.0,
                          {"scale": 0.01, "t_presim": 0.0}),
    # multi_area: 4 areas of scale 0.05, two per partition; 500 ms (min delay 0.1 ms: 5,000 exchanges)
    "multi_area": Model("examples/multi_area.py", {"t_presim": 0.0}, 500.0,
                        {"scale": 0.01, "t_presim": 0.0}),
}

#: figures compared dsnn / NEST in the table
RATIOS = ("construction_s", "simulation_s", "rtf", "bytes_per_synapse", "peak_rss_worker_mb", "peak_rss_total_mb",
          "rate_hz")


# ----------------------------------------------------------------------------- the machine

def machine() -> dict:
    """Platform, CPU model, cores and memory (GiB) of this machine."""
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cores": os.cpu_count(), "memory_gib": round(memory, 1)}


def versions() -> dict:
    """Installed versions of dsnn, numpy, numba, dask, distributed and NEST (None where missing)."""
    out = {}
    for name, dist in (("dsnn", "dsnn"), ("numpy", "numpy"), ("numba", "numba"), ("dask", "dask"),
                       ("distributed", "distributed"), ("nest", "nest-simulator")):
        try:
            out[name] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


# ----------------------------------------------------------------------------- dsnn on a cluster

def model_params(module, params: dict, partitions: int) -> dict:
    """``params`` plus ``partitions`` where the model's ``network`` takes it (hpc_benchmark's weak scaling)."""
    if "partitions" in inspect.signature(module.network).parameters:
        return dict(params, partitions=partitions)
    return dict(params)


def layout(module, net, partitions: int):
    """What ``net.build(partitions=...)`` takes: the model's ``placement`` if it has one, else P blocks."""
    placement = getattr(module, "placement", None)
    return placement(net, partitions) if placement else partitions


def intervals(net, t_ms: float) -> float:
    """Number of exchange intervals (one minimum delay each) in ``t_ms`` ms."""
    return t_ms / (net.min_delay_steps * net.dt)


def exchange_figures(sim, net, t_ms: float) -> dict:
    """Exchanged payload and wire bytes (in all and per interval) of ``sim`` after ``t_ms`` ms."""
    payload, wire = sim.exchanged_bytes(), sim.exchanged_bytes(headers=True)
    n = intervals(net, t_ms)
    return {"bytes": payload, "wire_bytes": wire, "bytes_per_interval": payload / n,
            "wire_bytes_per_interval": wire / n}


def warm_up(client, path: Path, module, params: dict, partitions: int, exchange: str) -> None:
    """Build and run a tiny copy of the model on ``client``, so the workers load the numba kernels."""
    from dsnn.cli import load_network

    net = load_network(path, model_params(module, params, partitions), module)
    sim = net.build(client, partitions=layout(module, net, partitions), exchange=exchange)
    sim.run(100.0, progress=False)  # long enough for spikes to be delivered (the deliver kernels load then)
    sim.close()


def peak_rss_mb(client) -> list:
    """Each worker's peak resident memory (MB) since it started (``ru_maxrss``), in worker order."""
    usage = client.run(resource.getrusage, resource.RUSAGE_SELF)
    return [usage[w].ru_maxrss / 1024 for w in sorted(usage)]


def timed_run(client, path: Path, module, params: dict, partitions: int, t_ms: float, exchange: str) -> tuple:
    """Build and simulate the model; returns (simulation, network, construction s, simulation s)."""
    from dsnn.cli import load_network

    net = load_network(path, model_params(module, params, partitions), module)
    where = layout(module, net, partitions)
    t0 = time.perf_counter()
    sim = net.build(client, partitions=where, exchange=exchange)
    t1 = time.perf_counter()
    sim.run(t_ms, progress=False)
    t2 = time.perf_counter()
    return sim, net, t1 - t0, t2 - t1


def dsnn_repeat(model: Model, params: dict, warm_params: dict, partitions: int, t_ms: float,
                other_exchange: bool) -> dict:
    """One dsnn repeat on a fresh local cluster: the figures of the module docstring (times in s, memory
    in MB, rates in spikes/s); with ``other_exchange`` also a run with the model's other exchange."""
    from distributed import Client, LocalCluster

    from dsnn.cli import load_model

    path = ROOT / model.file
    module = load_model(path)
    exchange = getattr(module, "EXCHANGE", "p2p")
    warnings.filterwarnings("ignore", message="Port .* is already in use")  # the scheduler's HTTP server moves
    with LocalCluster(n_workers=partitions, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        warm_up(client, path, module, warm_params, partitions, exchange)
        sim, net, build_s, sim_s = timed_run(client, path, module, params, partitions, t_ms, exchange)
        counters = sim.counters()
        peaks = peak_rss_mb(client)
        spikes = sum(int(c["spikes"]) for c in counters)
        out = {"exchange": exchange, "neurons": net.n_neurons, "synapses": int(sim.n_synapses),
               "construction_s": build_s, "simulation_s": sim_s, "rtf": sim_s / (t_ms / 1000.0),
               "bytes_per_synapse": sim.memory()["bytes_per_synapse"],
               "peak_rss_per_worker_mb": peaks, "peak_rss_worker_mb": max(peaks), "peak_rss_total_mb": sum(peaks),
               "rate_hz": spikes / net.n_neurons / (t_ms / 1000.0), "spikes": spikes,
               "intervals": intervals(net, t_ms), "spikes_per_interval": spikes / intervals(net, t_ms),
               "min_delay_ms": net.min_delay_steps * net.dt,
               exchange: exchange_figures(sim, net, t_ms),
               "timers": [dict(c["timers"]) for c in counters]}
        sim.close()
        if other_exchange:
            other = "collective" if exchange == "p2p" else "p2p"
            sim, net, build_s, sim_s = timed_run(client, path, module, params, partitions, t_ms, other)
            out[other] = dict(exchange_figures(sim, net, t_ms), construction_s=build_s, simulation_s=sim_s,
                              same_spike_count=sum(int(c["spikes"]) for c in sim.counters()) == spikes)
            sim.close()
    return out


# ----------------------------------------------------------------------------- NEST in its own process

def run_nest_model(path: str, params: dict, t_ms: float, threads: int, queue) -> None:
    """One NEST run of the model file's ``nest_network`` (in a spawned process); puts its figures (s, MB,
    bytes, spikes/s) on ``queue``, or ``{"error": ...}``."""
    try:
        os.environ.setdefault("PYNEST_QUIET", "1")
        import nest

        from dsnn.cli import load_model

        module = load_model(path)
        nest.verbosity = nest.VerbosityLevel.ERROR
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        sr, pops = module.nest_network(nest, threads=threads, **params)
        t1 = time.perf_counter()
        nest.Prepare()
        nest.Run(0.1)  # NEST builds its presynaptic tables here
        t2 = time.perf_counter()
        nest.Run(t_ms - 0.1)
        nest.Cleanup()
        t3 = time.perf_counter()
        n_neurons = pops if isinstance(pops, int) else sum(len(p) for p in pops.values())
        n_syn = int(nest.num_connections)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put({"threads": nest.local_num_threads, "version": nest.__version__, "neurons": int(n_neurons),
                   "synapses": n_syn, "construction_s": t2 - t0, "connect_s": t1 - t0, "prepare_s": t2 - t1,
                   "simulation_s": t3 - t2, "rtf": (t3 - t2) / (t_ms / 1000.0),
                   "bytes_per_synapse": (_rss_mb() - rss0) * 2**20 / n_syn,
                   "peak_rss_worker_mb": peak, "peak_rss_total_mb": peak,
                   "rate_hz": sr.n_events / n_neurons / (t_ms / 1000.0)})
    except BaseException as exc:  # the parent waits on the queue: always answer
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def nest_repeat(model: Model, params: dict, partitions: int, t_ms: float) -> dict:
    """One NEST run with ``partitions`` threads in a fresh spawned process (figures as :func:`run_nest_model`)."""
    result = in_process(run_nest_model, str(ROOT / model.file), params, t_ms, partitions)
    if "error" in result:
        raise RuntimeError(f"NEST run of {model.file} failed: {result['error']}")
    return result


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


def mean_timers(run: dict) -> dict:
    """A dsnn run's time split (s), averaged over its partitions."""
    timers = run["timers"]
    return {k: sum(t[k] for t in timers) / len(timers) for k in timers[0]}


DSNN_KEYS = ("construction_s", "simulation_s", "rtf", "bytes_per_synapse", "peak_rss_worker_mb",
             "peak_rss_total_mb", "rate_hz", "spikes_per_interval", "p2p.bytes_per_interval",
             "p2p.wire_bytes_per_interval", "collective.bytes_per_interval", "collective.wire_bytes_per_interval",
             "time_split.update", "time_split.deliver", "time_split.exchange", "time_split.wait")
NEST_KEYS = ("construction_s", "simulation_s", "rtf", "bytes_per_synapse", "peak_rss_worker_mb",
             "peak_rss_total_mb", "rate_hz")


def summarize(runs: list, keys: tuple) -> dict:
    """Median and min–max over ``runs`` of every figure in ``keys``."""
    return {k: spread([dig(r, k) for r in runs]) for k in keys}


def ratios(dsnn: dict, nest: dict) -> dict:
    """dsnn median / NEST median for the figures of :data:`RATIOS`."""
    out = {}
    for k in RATIOS:
        d, n = dsnn[k]["median"], nest.get(k, {}).get("median")
        out[k] = d / n if d is not None and n else None
    return out


# ----------------------------------------------------------------------------- one model

def bench_model(name: str, args) -> dict:
    """Every repeat of one model, dsnn then NEST; raw runs, summaries and ratios."""
    from dsnn.cli import load_model

    model = MODELS[name]
    t_ms = args.time or (model.quick_time_ms if args.quick else model.time_ms)
    params = model.quick_params if args.quick else model.params
    module = load_model(ROOT / model.file)
    nest_params = model_params(module, params, args.partitions)
    out = {"file": model.file, "params": nest_params, "time_ms": t_ms, "partitions": args.partitions,
           "exchange": getattr(module, "EXCHANGE", "p2p"), "dsnn_runs": [], "nest_runs": []}
    for r in range(args.repeats):
        t0 = time.perf_counter()
        run = dsnn_repeat(model, params, model.quick_params, args.partitions, t_ms, other_exchange=r == 0)
        run["time_split"] = mean_timers(run)
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


def cell(s: dict) -> str:
    """'median [min–max]' of a :func:`spread` (the median alone for a single value)."""
    if not s or s["median"] is None:
        return "–"
    if s["n"] == 1 or s["min"] == s["max"]:
        return fmt(s["median"])
    return f"{fmt(s['median'])} [{fmt(s['min'])}–{fmt(s['max'])}]"


#: table rows: (figure key, label); "{T}" is the simulated time
ROWS = (("construction_s", "construction (s)"), ("simulation_s", "simulation of {T} ms (s)"),
        ("rtf", "real-time factor"), ("bytes_per_synapse", "bytes per synapse"),
        ("peak_rss_worker_mb", "peak RSS per worker / process (MB)"), ("peak_rss_total_mb", "peak RSS, total (MB)"),
        ("rate_hz", "mean rate (spikes/s)"), ("spikes_per_interval", "spikes per interval"),
        ("p2p.bytes_per_interval", "p2p bytes per interval (payload)"),
        ("p2p.wire_bytes_per_interval", "p2p bytes per interval (wire)"),
        ("collective.bytes_per_interval", "collective bytes per interval (payload)"),
        ("collective.wire_bytes_per_interval", "collective bytes per interval (wire)"))


def time_split_cell(s: dict) -> str:
    """Medians of the mean time split as 'update / deliver / exchange / wait'."""
    return " / ".join(fmt(s[f"time_split.{k}"]["median"]) for k in ("update", "deliver", "exchange", "wait"))


def model_rows(name: str, m: dict) -> list:
    """Markdown rows of one model."""
    rows = []
    title = (f"**{name}** ({m['neurons']:,} neurons, {m['synapses']:,} synapses, {m['time_ms']:g} ms, "
             f"min delay {m['min_delay_ms']:g} ms, {m['exchange']})")
    for key, label in ROWS:
        ratio = m["ratio_dsnn_over_nest"].get(key)
        rows.append([title if not rows else "", label.format(T=f"{m['time_ms']:g}"), cell(m["dsnn"][key]),
                     cell(m["nest"].get(key)), fmt(ratio) if ratio is not None else ""])
    rows.append(["", "time split (s): update / deliver / exchange / wait", time_split_cell(m["dsnn"]), "", ""])
    return rows


def markdown(results: dict) -> str:
    """The results as a markdown document: a header (date, machine, versions, how it ran) and the table."""
    mach, ver = results["machine"], results["versions"]
    nest = (f"against NEST {ver['nest']} with {results['partitions']} threads" if results.get("nest", True)
            else "(NEST not run)")
    lines = [f"# dsnn benchmarks, {results['date']}{' (quick)' if results['quick'] else ''}", "",
             f"`{results['command']}`: dsnn on {results['partitions']} partitions (a LocalCluster of "
             f"{results['partitions']} single-threaded worker processes) {nest}; median [min–max] over "
             f"{results['repeats']} repeat(s); ratio = dsnn median / NEST median.", "",
             f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB, {mach['platform']}, "
             f"Python {mach['python']}. Versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()) + ".",
             f"Total wall time {results['wall_s'] / 60:.1f} min.", "",
             "| model | figure | dsnn | NEST | dsnn / NEST |", "|---|---|---|---|---|"]
    for name, m in results["models"].items():
        lines += ["| " + " | ".join(r) + " |" for r in model_rows(name, m)]
    lines += ["", "Bytes per interval: the exchange's payload (spike ids; the collective's block sizes) and, "
              "'wire', with the message headers, per minimum delay; the model's preferred exchange is timed in "
              "every repeat, the other one is run once. Peak RSS: dsnn's largest worker (per worker) and all "
              "workers (total); NEST's one process (both rows). Time split: mean over the partitions.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- entry point

def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {','.join(MODELS)}")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (default 3; 1 with --quick)")
    parser.add_argument("--time", type=float, default=None, help="ms simulated (default: per model)")
    parser.add_argument("--partitions", type=int, default=2, help="dsnn partitions and NEST threads")
    parser.add_argument("--no-nest", action="store_true", help="dsnn only")
    parser.add_argument("--quick", action="store_true", help="tiny networks, 1 repeat: a smoke run")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3)
    unknown = [m for m in args.models.split(",") if m not in MODELS]
    if unknown or args.repeats < 1 or args.partitions < 1:
        parser.error(f"unknown models {unknown}" if unknown else "--repeats and --partitions must be >= 1")
    return args


def write(results: dict) -> Path:
    """Write ``<date>[-quick].json`` and ``.md`` into benchmarks/results; returns the markdown's path."""
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"{results['date']}{'-quick' if results['quick'] else ''}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1))
    md = stem.with_suffix(".md")
    md.write_text(markdown(results))
    return md


def main(argv=None) -> dict:
    args = parse(argv)
    t0 = time.perf_counter()
    results = {"date": datetime.date.today().isoformat(), "command": " ".join(["python -m benchmarks", *(
               sys.argv[1:] if argv is None else argv)]).strip(), "quick": args.quick, "repeats": args.repeats, "nest": not args.no_nest,
               "partitions": args.partitions, "machine": machine(), "versions": versions(), "models": {}}
    for name in args.models.split(","):
        results["models"][name] = bench_model(name, args)
    results["wall_s"] = time.perf_counter() - t0
    md = write(results)
    print(md.read_text())
    print(f"written {md.with_suffix('.json')} and {md}")
    return results
