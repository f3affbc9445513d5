"""Brunel network benchmark: dsnn (1 partition) against NEST (1 thread), same run.

NE=10,000, NI=2,500, CE=1,000, CI=250 fixed in-degree, iaf_psc_exp (tau_m 20,
tau_syn 0.5, C_m 250, V_th 20, V_reset 10, t_ref 2, E_L 0), J = 0.1 mV
(54.96 pA), g = 5, eta = 2 (20 kHz Poisson per neuron), delay 1.5 ms,
dt 0.1 ms, 1 s, all spikes recorded. Each simulator runs in its own process
so that memory is measured apart (:mod:`benchmarks.harness`). Prints the figures and the dsnn/NEST ratios
and writes them to benchmarks/results/brunel-<date>.json.

    python benchmarks/brunel.py [--scale 1.0] [--time 1000] [--no-nest]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/brunel.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

MODEL = "examples/brunel.py"


def run_dsnn(scale: float, t_ms: float, queue) -> None:
    """dsnn on 1 partition in this (spawned) process: construction and simulation (s), memory (bytes per
    synapse, MB), rate (spikes/s) and the time split (s), put on ``queue``."""
    brunel = harness.load_model(MODEL)
    net = brunel.network(scale=scale)
    harness.warm_up(None, brunel.network(scale=0.01), 1, "p2p", 2.0)  # load the compiled kernels on a tiny copy
    rss0 = harness.rss_mb()
    timed = harness.build_and_run(net, None, 1, "p2p", t_ms)
    sim = timed.sim
    spikes = sim.spikes(net.populations[-1])
    mem = sim.memory()
    queue.put({
        "construction_s": timed.construction_s, "simulation_s": timed.simulation_s, "synapses": sim.n_synapses,
        "rate_hz": len(spikes) / net.n_neurons / (t_ms / 1000.0),
        "bytes_per_synapse": mem["bytes_per_synapse"],
        "synapse_bytes_per_synapse": mem["synapses"] / sim.n_synapses,
        "rss_increase_mb": harness.rss_mb() - rss0, "peak_rss_mb": harness.own_peak_rss_mb(),
        "time_split_s": sim.timers[0],
    })


def ratio(d: float, n: float | None) -> float:
    """dsnn / NEST, NaN where NEST did not run."""
    return d / n if n else float("nan")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Brunel benchmark, dsnn vs NEST")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--time", type=float, default=1000.0)
    parser.add_argument("--no-nest", action="store_true")
    args = parser.parse_args(argv)
    results = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(),
               "scale": args.scale, "time_ms": args.time}
    t0 = time.perf_counter()
    results["dsnn"] = harness.in_spawned_process(run_dsnn, args.scale, args.time)
    if not args.no_nest:
        results["nest"] = harness.run_nest(MODEL, {"scale": args.scale}, args.time, threads=1)
        results["ratio_dsnn_over_nest"] = {k: results["dsnn"][k] / results["nest"][k]
                                           for k in ("construction_s", "simulation_s", "bytes_per_synapse")}
    results["wall_s"] = time.perf_counter() - t0
    print(f"Brunel benchmark, scale {args.scale}, {args.time:g} ms, {results['dsnn']['synapses']:,} synapses")
    print(f"{'':22s}{'dsnn':>12s}{'NEST':>12s}{'ratio':>10s}")
    for k in ("construction_s", "simulation_s", "bytes_per_synapse", "rate_hz", "peak_rss_mb"):
        d, n = results["dsnn"][k], results.get("nest", {}).get(k)
        print(f"{k:22s}{d:12.2f}{n if n is not None else float('nan'):12.2f}{ratio(d, n):10.3f}")
    print("dsnn time split (s):", {k: round(v, 2) for k, v in results["dsnn"]["time_split_s"].items()})
    out = harness.write_json(f"brunel-{results['date']}", results)
    print(f"written to {out}")
    return results


if __name__ == "__main__":
    main()
