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
import sys
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/models.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

#: model file and parameters — small enough for a 2-core machine
MODELS = {
    "multi_area": ("examples/multi_area.py", {"scale": 0.03, "t_presim": 0.0}),
    "hpc_benchmark": ("examples/hpc_benchmark.py", {"scale": 0.5, "indegree_scale": 0.2}),
    "microcircuit": ("examples/microcircuit.py", {"scale": 0.05, "t_presim": 0.0}),
}


def measure(client, file: str, params: dict, partitions: int, t_ms: float) -> dict:
    """The model built and run ``t_ms`` ms with each exchange on the workers of ``client``: bytes sent
    (payload and wire), build and simulation seconds, spikes, synapses, whether the spikes are the same."""
    module = harness.load_model(file)
    out, spikes = {}, []
    for exchange in ("p2p", "collective"):
        net = module.network(**params)
        timed = harness.build_and_run(net, client, harness.layout(module, net, partitions), exchange, t_ms)
        sim = timed.sim
        spikes.append(sim.spikes())
        out[exchange] = {"bytes": sim.exchanged_bytes(), "wire_bytes": sim.exchanged_bytes(headers=True),
                         "build_s": timed.construction_s, "simulate_s": timed.simulation_s,
                         "spikes": len(spikes[-1]), "synapses": int(sim.n_synapses)}
        sim.close()
    out["same_spikes"] = bool(spikes[0].equals(spikes[1]))
    out["collective_over_p2p"] = out["collective"]["bytes"] / max(out["p2p"]["bytes"], 1)
    out["collective_over_p2p_wire"] = out["collective"]["wire_bytes"] / max(out["p2p"]["wire_bytes"], 1)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--time", type=float, default=300.0)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args(argv)
    results = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(),
               "partitions": args.partitions, "time_ms": args.time, "models": {}}
    with harness.fresh_cluster(args.partitions) as cluster:
        results["cluster_start_s"] = cluster.start_s
        for name in args.models.split(","):
            file, params = MODELS[name]
            results["models"][name] = dict(measure(cluster.client, file, params, args.partitions, args.time),
                                           params=params)
    print(f"payload: the spike arrays (and the collective's block sizes); wire: payload + "
          f"{harness.header_bytes()}-byte message headers")
    print(f"{'model':14s}{'synapses':>12s}{'spikes':>9s}{'p2p payload':>13s}{'coll. payload':>14s}{'ratio':>7s}"
          f"{'p2p wire':>12s}{'coll. wire':>12s}{'ratio':>7s}{'same':>6s}")
    for name, r in results["models"].items():
        p, c = r["p2p"], r["collective"]
        print(f"{name:14s}{p['synapses']:12,d}{p['spikes']:9,d}{p['bytes']:13,d}{c['bytes']:14,d}"
              f"{r['collective_over_p2p']:7.2f}{p['wire_bytes']:12,d}{c['wire_bytes']:12,d}"
              f"{r['collective_over_p2p_wire']:7.2f}{r['same_spikes']!s:>6s}")
    out = harness.write_json(f"models-{results['date']}", results)
    print(f"written {out}")
    return results


if __name__ == "__main__":
    main()
