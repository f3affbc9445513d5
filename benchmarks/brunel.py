"""Brunel network benchmark: dsnn (1 partition) against NEST (1 thread), same run.

NE=10,000, NI=2,500, CE=1,000, CI=250 fixed in-degree, iaf_psc_exp (tau_m 20,
tau_syn 0.5, C_m 250, V_th 20, V_reset 10, t_ref 2, E_L 0), J = 0.1 mV
(54.96 pA), g = 5, eta = 2 (20 kHz Poisson per neuron), delay 1.5 ms,
dt 0.1 ms, 1 s, all spikes recorded. Each simulator runs in its own process
so that memory is measured apart. Prints the figures and the dsnn/NEST ratios
and writes them to benchmarks/results/brunel-<date>.json.

    python benchmarks/brunel.py [--scale 1.0] [--time 1000] [--no-nest]
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_dsnn(scale: float, t_ms: float, queue) -> None:
    import brunel  # examples/brunel.py

    net = brunel.network(scale=scale)
    brunel.network(scale=0.01).build().run(2.0)  # load the compiled kernels on a tiny copy first
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    sim = net.build()
    t1 = time.perf_counter()
    sim.run(t_ms)
    t2 = time.perf_counter()
    spikes = sim.spikes(net.populations[-1])
    mem = sim.memory()
    queue.put({
        "construction_s": t1 - t0, "simulation_s": t2 - t1, "synapses": sim.n_synapses,
        "rate_hz": len(spikes) / net.n_neurons / (t_ms / 1000.0),
        "bytes_per_synapse": mem["bytes_per_synapse"],
        "synapse_bytes_per_synapse": mem["synapses"] / sim.n_synapses,
        "rss_increase_mb": _rss_mb() - rss0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "time_split_s": dict(sim.timers),
    })


def run_nest(scale: float, t_ms: float, queue, threads: int = 1) -> None:
    import brunel
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    sr, n_neurons = brunel.nest_network(nest, scale=scale, threads=threads)
    t1 = time.perf_counter()
    nest.Prepare()
    nest.Run(0.1)  # NEST builds its presynaptic tables here
    t2 = time.perf_counter()
    nest.Run(t_ms - 0.1)
    nest.Cleanup()
    t3 = time.perf_counter()
    n_syn = nest.num_connections
    queue.put({
        "threads": nest.local_num_threads,
        "construction_s": (t1 - t0) + (t2 - t1), "connect_s": t1 - t0, "prepare_s": t2 - t1,
        "simulation_s": t3 - t2, "synapses": n_syn,
        "rate_hz": sr.n_events / n_neurons / (t_ms / 1000.0),
        "bytes_per_synapse": (_rss_mb() - rss0) * 2**20 / n_syn,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })


def in_process(target, *args, **kwargs) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue), kwargs=kwargs)
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Brunel benchmark, dsnn vs NEST")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--time", type=float, default=1000.0)
    parser.add_argument("--no-nest", action="store_true")
    args = parser.parse_args(argv)
    results = {"date": datetime.date.today().isoformat(), "machine": platform.platform(),
               "cpus": mp.cpu_count(), "scale": args.scale, "time_ms": args.time}
    results["dsnn"] = in_process(run_dsnn, args.scale, args.time)
    if not args.no_nest:
        results["nest"] = in_process(run_nest, args.scale, args.time)
        results["ratio_dsnn_over_nest"] = {
            k: results["dsnn"][k] / results["nest"][k]
            for k in ("construction_s", "simulation_s", "bytes_per_synapse")}
    print(f"Brunel benchmark, scale {args.scale}, {args.time:g} ms, {results['dsnn']['synapses']:,} synapses")
    print(f"{'':22s}{'dsnn':>12s}{'NEST':>12s}{'ratio':>10s}")
    for k in ("construction_s", "simulation_s", "bytes_per_synapse", "rate_hz", "peak_rss_mb"):
        d = results["dsnn"][k]
        n = results.get("nest", {}).get(k, float("nan"))
        print(f"{k:22s}{d:12.2f}{n:12.2f}{d / n if n == n else float('nan'):10.3f}")
    print("dsnn time split (s):", {k: round(v, 2) for k, v in results["dsnn"]["time_split_s"].items()})
    out = HERE / "results" / f"brunel-{results['date']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")
    return results


if __name__ == "__main__":
    main()
