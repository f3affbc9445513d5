"""Exchange volume of the cortical models: point-to-point vs collective, on a local Dask cluster.

For each model (multi-area, hpc_benchmark, microcircuit) it builds the model
on ``--partitions`` worker processes with each exchange mode, simulates
``--time`` ms and reads the bytes the partitions sent each other from the
channels' own counters, with the build and simulation times and the rates.
Spikes are the same in both modes (checked). Prints a table and writes
``benchmarks/results/models-<date>.json``.

    python benchmarks/models.py [--partitions 4] [--time 300]
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: model file, parameters, partitions layout (None: balanced) — small enough for a 2-core machine
MODELS = {
    "multi_area": ("examples/multi_area.py", {"scale": 0.03, "t_presim": 0.0}),
    "hpc_benchmark": ("examples/hpc_benchmark.py", {"scale": 0.5, "indegree_scale": 0.2}),
    "microcircuit": ("examples/microcircuit.py", {"scale": 0.05, "t_presim": 0.0}),
}


def measure(client, path: str, params: dict, partitions: int, t_ms: float) -> dict:
    from dsnn.cli import load_model, load_network

    module = load_model(ROOT / path)
    out = {}
    for exchange in ("p2p", "collective"):
        net = load_network(ROOT / path, params, module)
        placement = getattr(module, "placement", None)
        layout = placement(net, partitions) if placement else partitions
        t0 = time.perf_counter()
        sim = net.build(client, partitions=layout, exchange=exchange)
        t1 = time.perf_counter()
        sim.run(t_ms)
        t2 = time.perf_counter()
        spikes = sim.spikes()
        out[exchange] = {"bytes": int(sim.exchanged_bytes()), "wire_bytes": int(sim.exchanged_bytes(headers=True)),
                         "build_s": t1 - t0, "simulate_s": t2 - t1,
                         "spikes": int(len(spikes)), "synapses": int(sim.n_synapses)}
        out.setdefault("_spikes", []).append(spikes)
        sim.close()
    same = out["_spikes"][0].equals(out["_spikes"][1])
    del out["_spikes"]
    out["same_spikes"] = bool(same)
    out["collective_over_p2p"] = out["collective"]["bytes"] / max(out["p2p"]["bytes"], 1)
    out["collective_over_p2p_wire"] = out["collective"]["wire_bytes"] / max(out["p2p"]["wire_bytes"], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--time", type=float, default=300.0)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    results = {"date": datetime.date.today().isoformat(), "partitions": args.partitions, "time_ms": args.time,
               "models": {}}
    with LocalCluster(n_workers=args.partitions, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for name in args.models.split(","):
            path, params = MODELS[name]
            results["models"][name] = dict(measure(client, path, params, args.partitions, args.time), params=params)
    print("payload: the spike arrays (and the collective's block sizes); wire: payload + 56-byte message headers")
    print(f"{'model':14s}{'synapses':>12s}{'spikes':>9s}{'p2p payload':>13s}{'coll. payload':>14s}{'ratio':>7s}"
          f"{'p2p wire':>12s}{'coll. wire':>12s}{'ratio':>7s}{'same':>6s}")
    for name, r in results["models"].items():
        p, c = r["p2p"], r["collective"]
        print(f"{name:14s}{p['synapses']:12,d}{p['spikes']:9,d}{p['bytes']:13,d}{c['bytes']:14,d}"
              f"{r['collective_over_p2p']:7.2f}{p['wire_bytes']:12,d}{c['wire_bytes']:12,d}"
              f"{r['collective_over_p2p_wire']:7.2f}{str(r['same_spikes']):>6s}")
    out = ROOT / "benchmarks" / "results" / f"models-{results['date']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
