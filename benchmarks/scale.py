"""The largest network dsnn builds and simulates on this machine.

The model is NEST's hpc_benchmark (examples/hpc_benchmark.py: 11,250
neurons per unit of scale, 11,250 fixed in-degree synapses per neuron,
static weights, 1.5 ms delays), on ``--partitions`` single-threaded Dask
worker processes of one machine. The script

1. asks each worker how much memory it may use (its Dask memory limit, by
   default the machine's memory shared equally);
2. finds the largest scale whose memory estimate
   (``Network.memory_estimate``: synapse words, row pointers, rings, neuron
   state, Poisson input; times the construction peak factor, plus a
   reserve per worker) fits in ``--fraction`` of it, by bisection, without
   building anything;
3. shows that a network ``--refuse-factor`` times larger is refused before
   any work starts, with the estimate in the message;
4. builds the largest network and simulates ``--time`` ms, and reports
   construction time, bytes per synapse, each worker's peak resident
   memory, simulation time and real-time factor, and the mean rate.

Figures go to ``benchmarks/results/scale-<date>.json``.

    python benchmarks/scale.py [--partitions 2] [--time 1000] [--fraction 0.7] [--max-scale S]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _fits(hpc, scale: float, partitions: int, budget: float) -> tuple[bool, list]:
    """Whether hpc_benchmark at ``scale`` per partition fits ``budget`` bytes per worker."""
    from dsnn import estimate

    est = hpc.network(scale=scale, partitions=partitions, record=False).memory_estimate(partitions)
    need = max(estimate.PEAK_FACTOR * e["bytes"] + estimate.RESERVE_BYTES for e in est)
    return need <= budget, est


def largest_scale(hpc, partitions: int, budget: float, hi: float) -> float:
    """Bisection (to 1%) for the largest scale per partition that fits ``budget`` bytes per worker."""
    lo = 0.01
    if not _fits(hpc, lo, partitions, budget)[0]:
        raise SystemExit(f"not even scale {lo} fits in {budget / 2**30:.2f} GiB per worker")
    if _fits(hpc, hi, partitions, budget)[0]:
        return hi
    while hi / lo > 1.01:
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if _fits(hpc, mid, partitions, budget)[0] else (lo, mid)
    return lo


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--time", type=float, default=1000.0, help="ms simulated")
    parser.add_argument("--fraction", type=float, default=0.7,
                        help="share of each worker's memory the estimate may use (Dask pauses a worker at 0.8)")
    parser.add_argument("--max-scale", type=float, default=1000.0, help="upper end of the search (per partition)")
    parser.add_argument("--refuse-factor", type=float, default=1.5)
    args = parser.parse_args(argv)

    import hpc_benchmark as hpc
    from distributed import Client, LocalCluster

    from dsnn import estimate

    P = args.partitions
    result = {"date": datetime.date.today().isoformat(), "machine": platform.platform(), "partitions": P,
              "time_ms": args.time, "model": "hpc_benchmark", "fraction": args.fraction}
    with LocalCluster(n_workers=P, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        available = client.run(estimate.worker_available_bytes)
        budget = args.fraction * min(a for a, _ in available.values())
        print(f"{P} workers, each may use {min(a for a, _ in available.values()) / 2**30:.2f} GiB; "
              f"budget {budget / 2**30:.2f} GiB per worker")
        warm = hpc.network(scale=0.01, indegree_scale=0.01).build(client, partitions=P)  # compile the kernels
        warm.run(5.0, progress=False)
        warm.close()

        scale = largest_scale(hpc, P, budget, args.max_scale)
        est = _fits(hpc, scale, P, budget)[1]
        result.update(scale_per_partition=scale, neurons=int(11250 * scale) * P,
                      estimated_synapses=sum(e["synapses"] for e in est),
                      estimated_bytes_per_worker=max(e["bytes"] for e in est))
        print(f"largest scale per partition: {scale:.3f} ({result['neurons']:,} neurons, "
              f"{result['estimated_synapses']:.3g} synapses estimated, "
              f"{result['estimated_bytes_per_worker'] / 2**30:.2f} GiB per worker)")

        try:
            hpc.network(scale=scale * args.refuse_factor, partitions=P, record=False).build(client, partitions=P)
            result["refused"] = None
        except MemoryError as e:
            result["refused"] = str(e)
            print(f"{args.refuse_factor}x larger is refused: {e}")

        net = hpc.network(scale=scale, partitions=P, record=False)
        t0 = time.perf_counter()
        sim = net.build(client, partitions=P, exchange=hpc.EXCHANGE)
        t1 = time.perf_counter()
        sim.run(args.time, progress=False)
        t2 = time.perf_counter()
        spikes = sum(c["spikes"] for c in sim.counters())
        mem = sim.memory()
        peaks = client.run(_peak_rss_bytes)
        result.update(
            synapses=sim.n_synapses, construction_s=t1 - t0, simulation_s=t2 - t1,
            real_time_factor=(t2 - t1) / (args.time / 1000.0), bytes_per_synapse=mem["bytes_per_synapse"],
            held_bytes=sum(v for k, v in mem.items() if k != "bytes_per_synapse"),
            worker_peak_rss_bytes=sorted(peaks.values()), spikes=spikes,
            rate_hz=spikes / result["neurons"] / (args.time / 1000.0),
            time_split_s=sim.timers)
        sim.close()

    print(f"built {result['synapses']:,} synapses in {result['construction_s']:.1f} s; "
          f"{result['bytes_per_synapse']:.2f} bytes per synapse; worker peak RSS "
          f"{', '.join(f'{b / 2**30:.2f}' for b in result['worker_peak_rss_bytes'])} GiB; "
          f"{args.time:g} ms simulated in {result['simulation_s']:.1f} s (RTF {result['real_time_factor']:.1f}); "
          f"{result['rate_hz']:.2f} spikes/s per neuron")
    out = ROOT / "benchmarks" / "results" / f"scale-{result['date']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str))
    print(f"written {out}")
    return result


if __name__ == "__main__":
    main()
