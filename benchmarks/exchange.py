"""Exchange benchmark: per-interval cost of the exchange, and Brunel on 2 partitions against NEST 2 threads.

1. Per-interval cost: a network too small to compute anything (10 neurons per
   partition, a ring of projections, min delay 0.1 ms) run for 5,000
   intervals on a LocalCluster of P single-threaded worker processes. The
   wall time per interval, and the exchange's share of it from the actors'
   own timers (framing, sending, receiving and waiting for peers: the
   slowest partition's "exchange" + "wait"), beside the neuron update of
   the tiny partition. P = 2, 4, 8 (oversubscribed beyond the cores), p2p
   and collective, tcp and (where the ucx extra is installed) ucx.
2. The Brunel network of benchmarks/brunel.py built and run (1 s) on
   2 partitions of a 2-worker LocalCluster, against NEST with 2 threads in
   the same run.

Prints tables and writes benchmarks/results/exchange-<date>.json.

    python benchmarks/exchange.py [--partitions 2 4 8] [--intervals 5000] [--scale 1.0] [--no-nest]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))


def _brunel_benchmark():
    spec = importlib.util.spec_from_file_location("brunel_benchmark", HERE / "brunel.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_nest_two_threads(scale: float, t_ms: float, queue) -> None:
    """NEST with 2 threads on the Brunel network (spawned process; see benchmarks/brunel.py)."""
    _brunel_benchmark().run_nest(scale, t_ms, queue, threads=2)


def _cluster(n_workers: int, protocol: str):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, protocol=protocol,
                           host="127.0.0.1", dashboard_address=None)
    return cluster, Client(cluster)


def ring_network(P: int):
    """P populations of 10 neurons, each projecting to the next; delay 0.1 ms (one step per interval)."""
    import dsnn

    net = dsnn.Network(seed=1, dt=0.1)
    pops = [net.create("iaf_psc_exp", 10) for _ in range(P)]
    for i, a in enumerate(pops):
        net.connect(a, pops[(i + 1) % P], {"rule": "fixed_indegree", "indegree": 2},
                    {"weight": 1.0, "delay": 0.1})
    return net


def interval_cost(P: int, protocol: str, intervals: int) -> list:
    """Wall time per interval, and the exchange's share of it (sending, receiving, waiting), per mode."""
    cluster, client = _cluster(P, protocol)
    rows = []
    try:
        for exchange in ("p2p", "collective"):
            sim = ring_network(P).build(client, partitions=[10] * P, exchange=exchange)
            sim.run(50 * 0.1)  # warm up: compiled kernels, connections
            before = sim.counters()
            t0 = time.perf_counter()
            sim.run(round(intervals * 0.1, 1))
            wall = time.perf_counter() - t0
            after = sim.counters()

            def spent(key):
                return max(a["timers"][key] - b["timers"][key] for a, b in zip(after, before)) / intervals * 1e6

            rows.append({"protocol": protocol, "partitions": P, "exchange": exchange,
                         "us_per_interval": wall / intervals * 1e6,
                         "exchange_us_per_interval": max(
                             (a["timers"]["exchange"] + a["timers"]["wait"]) - (b["timers"]["exchange"] + b["timers"]["wait"])
                             for a, b in zip(after, before)) / intervals * 1e6,
                         "update_us_per_interval": spent("update"),
                         "messages_per_interval": sum(a["messages_sent"] - b["messages_sent"]
                                                      for a, b in zip(after, before)) / intervals})
            sim.close()
    finally:
        client.close()
        cluster.close()
    return rows


def brunel_two_partitions(scale: float, t_ms: float) -> dict:
    import brunel  # examples/brunel.py

    cluster, client = _cluster(2, "tcp")
    try:
        brunel.network(scale=0.01).build(client, partitions=2).run(2.0)  # compiled kernels loaded on the workers
        net = brunel.network(scale=scale)
        t0 = time.perf_counter()
        sim = net.build(client, partitions=2)
        t1 = time.perf_counter()
        sim.run(t_ms)
        t2 = time.perf_counter()
        spikes = sim.spikes(net.populations[-1])
        out = {"construction_s": t1 - t0, "simulation_s": t2 - t1, "synapses": sim.n_synapses,
               "rate_hz": len(spikes) / net.n_neurons / (t_ms / 1000.0),
               "bytes_per_synapse": sim.memory()["bytes_per_synapse"],
               "exchanged_bytes": sim.exchanged_bytes(), "timers": sim.timers}
        sim.close()
        return out
    finally:
        client.close()
        cluster.close()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="dsnn exchange benchmark")
    parser.add_argument("--partitions", type=int, nargs="*", default=[2, 4, 8])
    parser.add_argument("--intervals", type=int, default=5000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--time", type=float, default=1000.0)
    parser.add_argument("--no-nest", action="store_true")
    args = parser.parse_args(argv)
    protocols = ["tcp"] + (["ucx"] if importlib.util.find_spec("distributed_ucxx") else [])
    results = {"date": datetime.date.today().isoformat(), "machine": platform.platform(),
               "cpus": mp.cpu_count(), "interval_cost": []}
    for protocol in protocols:
        for P in args.partitions:
            try:
                results["interval_cost"].extend(interval_cost(P, protocol, args.intervals))
            except Exception as exc:  # noqa: BLE001 - report the configuration that failed and go on
                results["interval_cost"].append({"protocol": protocol, "partitions": P, "exchange": "-",
                                                 "error": f"{type(exc).__name__}: {exc}"})
    print(f"Per-interval exchange cost ({args.intervals} intervals, {mp.cpu_count()} cores)")
    print(f"{'protocol':10s}{'P':>4s}{'exchange':>12s}{'us/interval':>14s}{'in exchange':>14s}{'in update':>12s}"
          f"{'msgs':>8s}")
    for r in results["interval_cost"]:
        if "error" in r:
            print(f"{r['protocol']:10s}{r['partitions']:4d}  failed: {r['error']}")
            continue
        print(f"{r['protocol']:10s}{r['partitions']:4d}{r['exchange']:>12s}{r['us_per_interval']:14.0f}"
              f"{r['exchange_us_per_interval']:14.0f}{r['update_us_per_interval']:12.0f}{r['messages_per_interval']:8.1f}")

    results["brunel_2_partitions"] = brunel_two_partitions(args.scale, args.time)
    if not args.no_nest:
        bench = _brunel_benchmark()
        results["nest_2_threads"] = bench.in_process(run_nest_two_threads, args.scale, args.time)
        results["ratio_dsnn_over_nest"] = {k: results["brunel_2_partitions"][k] / results["nest_2_threads"][k]
                                           for k in ("construction_s", "simulation_s")}
    d, n = results["brunel_2_partitions"], results.get("nest_2_threads", {})
    print(f"\nBrunel, scale {args.scale}, {args.time:g} ms: dsnn 2 partitions (tcp) vs NEST 2 threads")
    print(f"{'':18s}{'dsnn':>10s}{'NEST':>10s}{'ratio':>8s}")
    for k in ("construction_s", "simulation_s", "rate_hz"):
        nv = n.get(k, float("nan"))
        print(f"{k:18s}{d[k]:10.2f}{nv:10.2f}{d[k] / nv if nv == nv else float('nan'):8.3f}")
    print("dsnn per-partition time split (s):",
          [{k: round(v, 2) for k, v in t.items()} for t in d["timers"]])
    out = HERE / "results" / f"exchange-{results['date']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")
    return results


if __name__ == "__main__":
    main()
