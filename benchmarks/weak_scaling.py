"""Weak scaling of hpc_benchmark on P = 1 ... 32 Dask worker processes: construction and intervals, split.

Issue 15, item 3. Every point P is a fresh ``dsnn.local_cluster(P)`` (P
single-threaded worker processes, one partition each; this machine has
2 cores, so **P > 2 oversubscribes them**: P processes time-share the
cores, and the wall times measure the machine as much as the method). On
it a tiny copy of the model is built and run first (kernels loaded), then
hpc_benchmark with small partitions (default ``scale=0.02``: 225 neurons
per partition, ``indegree_scale=0.1``: 1,125 synapses per neuron, drawn
from all partitions) is built and run, p2p and collective. Then the same
points under ``mpiexec -n P+2`` (dask-mpi: scheduler, client, P worker
ranks; shared memory off, so the spikes move as MPI messages and the
collective is MPI's all-gather), through ``python -m dsnn run --mpi``
(the scheduler and client ranks idle during the run: P > 2 counts as
oversubscribed there too).

Per point:

- construction: wall time of ``net.build``, split into the partitions' own
  work (the slowest partition's build task plus its actor's setup: its
  needs, its kernels) and everything else (scheduler, data to the
  workers, the actors' handshake and channels); Dask tasks per build (the
  scheduler's keys of the build, counted by a scheduler plugin; not for
  MPI runs, whose scheduler is another rank: the graph is the same);
- simulation: wall time per interval, split into the slowest partition's
  own compute (update + deliver) and everything else (exchange, waiting,
  the time-sharing of the cores).

Prints a table and writes ``benchmarks/results/weak-scaling-<date>.json``.

    python benchmarks/weak_scaling.py [--points 1,2,4,8,16,32] [--time 1000] [--no-mpi]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/weak_scaling.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distributed.diagnostics.plugin import SchedulerPlugin

from benchmarks import harness
from dsnn.support.machine import cores

ROOT = Path(__file__).resolve().parents[1]
MODEL = "examples/hpc_benchmark.py"
PARAMS = {"scale": 0.02, "indegree_scale": 0.1, "record": False}


class _TaskLog(SchedulerPlugin):
    """Scheduler plugin: the keys of every task submitted (``dsnn-`` ones), to count a build's tasks."""

    name = "dsnn-benchmark-task-log"

    def __init__(self):
        self.keys = []

    def transition(self, key, start, finish, *args, **kwargs):
        if start == "released" and str(key).startswith("dsnn-"):
            self.keys.append(str(key))


def _install_log(dask_scheduler):
    dask_scheduler.add_plugin(_TaskLog(), name=_TaskLog.name)


def _read_log(dask_scheduler):
    log = dask_scheduler.plugins[_TaskLog.name]
    keys, log.keys = list(log.keys), []
    return keys


def split(construction_s: float, setup_s: list, simulation_s: float, timers: list, intervals: int) -> dict:
    """Construction and per-interval figures, each split into the slowest partition's own work and the rest."""
    own_build = max(setup_s)
    own_interval = max(t["update"] + t["deliver"] for t in timers) / intervals
    wall_interval = simulation_s / intervals
    return {"construction_s": construction_s, "construction_own_s": own_build,
            "construction_rest_s": construction_s - own_build, "simulation_s": simulation_s,
            "interval_us": wall_interval * 1e6, "interval_own_us": own_interval * 1e6,
            "interval_rest_us": (wall_interval - own_interval) * 1e6,
            "exchange_wait_us": max(t["exchange"] + t["wait"] for t in timers) / intervals * 1e6}


def measure_cluster(P: int, t_ms: float, params: dict, log=print) -> list:
    """Both exchange modes on a fresh local cluster of P workers."""
    module = harness.load_model(MODEL)
    rows = []
    with harness.fresh_cluster(P) as cluster:
        client = cluster.client
        client.run_on_scheduler(_install_log)
        tiny = module.network(**dict(params, scale=0.01, indegree_scale=0.01, partitions=P))
        harness.warm_up(client, tiny, P, "collective", 5.0)
        for exchange in ("p2p", "collective"):
            net = module.network(**dict(params, partitions=P))
            client.run_on_scheduler(_read_log)
            timed = harness.build_and_run(net, client, P, exchange, t_ms)
            sim = timed.sim
            token = sim.runner.build_info["token"]
            tasks = sorted({k for k in client.run_on_scheduler(_read_log) if token in k})
            infos, counters = sim.info(), sim.counters()
            intervals = counters[0]["intervals"]
            row = {"partitions": P, "exchange": exchange, "transport": "/".join(sorted({i["channels"] for i in infos})),
                   "oversubscribed": P > cores(), "neurons": net.n_neurons, "synapses": int(sim.n_synapses),
                   "tasks": len(tasks), "task_prefixes": sorted({k.rsplit("-", 2)[0] for k in tasks}),
                   "pairs": sim.runner.build_info["pairs"], "phases_s": sim.runner.build_info.get("phases_s"),
                   "intervals": intervals,
                   "spikes": sim.spike_count, "cluster_start_s": cluster.start_s,
                   **split(timed.construction_s, [i["build_s"] + i["setup_s"] for i in infos], timed.simulation_s,
                           [c["timers"] for c in counters], intervals)}
            sim.close()
            rows.append(row)
            log(format_row(row))
    return rows


def measure_mpi(P: int, t_ms: float, params: dict, exchange: str, timeout: float, log=print) -> dict | None:
    """One ``mpiexec -n P+2 python -m dsnn run --mpi`` run (shared memory off), or None without mpiexec."""
    from shutil import which

    mpiexec = which("mpiexec")
    if mpiexec is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [mpiexec, "-n", str(P + 2), sys.executable, "-m", "dsnn", "run", MODEL, "--mpi",
               "--time", str(t_ms), "--exchange", exchange, "--out", tmp, "--no-plots",
               "--param", f"partitions={P}"] + [x for k, v in params.items() for x in ("--param", f"{k}={v}")]
        env = dict(os.environ, DASK_DSNN__SHARED_MEMORY="False")
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
        except subprocess.TimeoutExpired:
            log(f"  mpi P={P} {exchange}: no result within {timeout:.0f} s")
            return {"partitions": P, "exchange": f"mpi-{exchange}", "error": f"timeout {timeout:.0f} s"}
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            log(f"  mpi P={P} {exchange}: failed\n{proc.stderr[-1500:]}")
            return {"partitions": P, "exchange": f"mpi-{exchange}", "error": proc.stderr[-1500:]}
        summary = json.loads((Path(tmp) / "summary.json").read_text())
    intervals = round(t_ms / 1.5)  # hpc_benchmark's min delay
    row = {"partitions": P, "exchange": f"mpi-{exchange}", "transport": summary["channels"],
           "oversubscribed": P > cores(), "neurons": summary["neurons"], "synapses": summary["synapses"],
           "tasks": None, "intervals": intervals, "spikes": summary["spikes"], "launch_wall_s": wall,
           "compile_s": summary["compile_s"],
           **split(summary["construction_s"], summary["partition_setup_s"], summary["simulation_s"],
                   summary["time_split"], intervals)}
    log(format_row(row))
    return row


def format_row(r: dict) -> str:
    phases = r.get("phases_s")
    where = "" if not phases else " [" + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()) + "]"
    return (f"  P={r['partitions']:3d} {r['exchange']:15s} {r['transport']:4s} tasks {str(r['tasks']):>4s}  "
            f"construction {r['construction_s']:6.2f} s (own {r['construction_own_s']:5.2f}, rest "
            f"{r['construction_rest_s']:5.2f})  interval {r['interval_us']:8.0f} us (own {r['interval_own_us']:6.0f}, "
            f"rest {r['interval_rest_us']:7.0f}){where}")


def markdown(rows: list) -> str:
    """The table for RESULTS.md."""
    out = ["| P | exchange | channels | tasks | construction (s) | own work (s) | rest (s) | "
           "interval (us) | own compute (us) | rest (us) |", "|" + "---|" * 10]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['partitions']} | {r['exchange']} | | | {r['error'][:40]} | | | | | |")
            continue
        over = " *" if r["oversubscribed"] else ""
        out.append(f"| {r['partitions']}{over} | {r['exchange']} | {r['transport']} | {r['tasks'] or ''} | "
                   f"{r['construction_s']:.2f} | {r['construction_own_s']:.2f} | {r['construction_rest_s']:.2f} | "
                   f"{r['interval_us']:.0f} | {r['interval_own_us']:.0f} | {r['interval_rest_us']:.0f} |")
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", default="1,2,4,8,16,32")
    parser.add_argument("--time", type=float, default=1000.0, help="simulated ms per point")
    parser.add_argument("--no-mpi", action="store_true")
    parser.add_argument("--mpi-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    points = [int(x) for x in args.points.split(",")]
    t0 = time.perf_counter()
    results = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(),
               "cores": cores(), "model": MODEL, "params": PARAMS, "time_ms": args.time, "rows": []}
    print(f"hpc_benchmark weak scaling, {PARAMS}, {args.time:g} ms; {cores()} cores")
    for P in points:
        results["rows"].extend(measure_cluster(P, args.time, PARAMS))
    if not args.no_mpi:
        for P in points:
            for exchange in ("p2p", "collective"):
                row = measure_mpi(P, args.time, PARAMS, exchange, args.mpi_timeout)
                if row is not None:
                    results["rows"].append(row)
    results["wall_s"] = time.perf_counter() - t0
    print(markdown(results["rows"]))
    path = harness.write_json(f"weak-scaling-{harness.today()}", results)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
