"""Exchange benchmark: per-interval cost of the exchange, and Brunel on 2 partitions against NEST 2 threads.

1. Per-interval cost: a network too small to compute anything (10 neurons per
   partition, a ring of projections, min delay 0.1 ms) run for 5,000
   intervals on a fresh ``dsnn.local_cluster(P)`` (P single-threaded worker
   processes; :func:`benchmarks.harness.interval_probe`). The
   wall time per interval, and the exchange's share of it from the actors'
   own timers (framing, sending, receiving and waiting for peers: the
   slowest partition's "exchange" + "wait"), beside the neuron update of
   the tiny partition. P = 2, 4, 8 (oversubscribed beyond the cores), p2p
   and collective, tcp and (where the ucx extra is installed) ucx.
2. The Brunel network of benchmarks/brunel.py built and run (1 s) on
   2 partitions of a fresh 2-worker ``dsnn.local_cluster`` (after a warm-up
   build of a tiny copy), against NEST with 2 threads in the same run.

Prints tables and writes benchmarks/results/exchange-<date>.json.

    python benchmarks/exchange.py [--partitions 2 4 8] [--intervals 5000] [--scale 1.0] [--no-nest]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/exchange.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from dsnn.support.machine import cores

BRUNEL = "examples/brunel.py"


def interval_cost(P: int, protocol: str, n_intervals: int) -> list:
    """Per exchange mode on a fresh cluster of P workers: wall µs per interval, the slowest partition's µs in
    the exchange (framing, sending, receiving, waiting), its update, and messages per interval in all."""
    rows = []
    with harness.fresh_cluster(P, protocol, host="127.0.0.1") as cluster:
        for mode in ("p2p", "collective"):
            r = harness.interval_probe(cluster.client, P, mode, n_intervals)
            rows.append({"protocol": protocol, "partitions": P, "exchange": mode, "us_per_interval": r["wall_us"],
                         "exchange_us_per_interval": max(r["exchange_wait_us"]),
                         "update_us_per_interval": max(r["update_us"]),
                         "messages_per_interval": sum(r["messages_per_interval"]),
                         "cluster_start_s": cluster.start_s})
    return rows


def brunel_on(client, scale: float, t_ms: float) -> dict:
    """The Brunel network built and run on 2 partitions of ``client`` (after a warm-up on a tiny copy):
    construction and simulation (s), rate (spikes/s), bytes per synapse, exchanged bytes, time split (s)."""
    brunel = harness.load_model(BRUNEL)
    harness.warm_up(client, brunel.network(scale=0.01), 2, "p2p", 2.0)
    net = brunel.network(scale=scale)
    timed = harness.build_and_run(net, client, 2, "p2p", t_ms)
    sim = timed.sim
    spikes = sim.spikes(net.populations[-1])
    out = {"construction_s": timed.construction_s, "simulation_s": timed.simulation_s, "synapses": sim.n_synapses,
           "rate_hz": len(spikes) / net.n_neurons / (t_ms / 1000.0),
           "bytes_per_synapse": sim.memory()["bytes_per_synapse"], "exchanged_bytes": sim.exchanged_bytes(),
           "timers": sim.timers}
    sim.close()
    return out


def brunel_two_partitions(scale: float, t_ms: float) -> dict:
    """:func:`brunel_on` a fresh 2-worker cluster, with the cluster's start (s)."""
    with harness.fresh_cluster(2) as cluster:
        return dict(brunel_on(cluster.client, scale, t_ms), cluster_start_s=cluster.start_s)


def print_interval_costs(rows: list, n_intervals: int) -> None:
    print(f"Per-interval exchange cost ({n_intervals} intervals, {cores()} cores)")
    print(f"{'protocol':10s}{'P':>4s}{'exchange':>12s}{'us/interval':>14s}{'in exchange':>14s}{'in update':>12s}"
          f"{'msgs':>8s}")
    for r in rows:
        if "error" in r:
            print(f"{r['protocol']:10s}{r['partitions']:4d}  failed: {r['error']}")
            continue
        print(f"{r['protocol']:10s}{r['partitions']:4d}{r['exchange']:>12s}{r['us_per_interval']:14.0f}"
              f"{r['exchange_us_per_interval']:14.0f}{r['update_us_per_interval']:12.0f}"
              f"{r['messages_per_interval']:8.1f}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="dsnn exchange benchmark")
    parser.add_argument("--partitions", type=int, nargs="*", default=[2, 4, 8])
    parser.add_argument("--intervals", type=int, default=5000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--time", type=float, default=1000.0)
    parser.add_argument("--no-nest", action="store_true")
    args = parser.parse_args(argv)
    protocols = ["tcp"] + (["ucx"] if importlib.util.find_spec("distributed_ucxx") else [])
    results = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(),
               "interval_cost": []}
    for protocol in protocols:
        for P in args.partitions:
            try:
                results["interval_cost"].extend(interval_cost(P, protocol, args.intervals))
            except Exception as exc:  # noqa: BLE001 - report the configuration that failed and go on
                results["interval_cost"].append({"protocol": protocol, "partitions": P, "exchange": "-",
                                                 "error": f"{type(exc).__name__}: {exc}"})
    print_interval_costs(results["interval_cost"], args.intervals)

    results["brunel_2_partitions"] = d = brunel_two_partitions(args.scale, args.time)
    n = {}
    if not args.no_nest:
        results["nest_2_threads"] = n = harness.run_nest(BRUNEL, {"scale": args.scale}, args.time, threads=2)
        results["ratio_dsnn_over_nest"] = {k: d[k] / n[k] for k in ("construction_s", "simulation_s")}
    print(f"\nBrunel, scale {args.scale}, {args.time:g} ms: dsnn 2 partitions (tcp) vs NEST 2 threads")
    print(f"{'':18s}{'dsnn':>10s}{'NEST':>10s}{'ratio':>8s}")
    for k in ("construction_s", "simulation_s", "rate_hz"):
        nv = n.get(k)
        print(f"{k:18s}{d[k]:10.2f}{nv if nv is not None else float('nan'):10.2f}"
              f"{d[k] / nv if nv else float('nan'):8.3f}")
    print("dsnn per-partition time split (s):", [{k: round(v, 2) for k, v in t.items()} for t in d["timers"]])
    out = harness.write_json(f"exchange-{results['date']}", results)
    print(f"written to {out}")
    return results


if __name__ == "__main__":
    main()
