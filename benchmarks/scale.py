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
import sys
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/scale.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

MODEL = "examples/hpc_benchmark.py"


def needed_bytes(hpc, scale: float, partitions: int) -> tuple[float, list]:
    """(bytes the fullest worker needs for hpc_benchmark at ``scale`` per partition: its estimate times the
    construction peak factor plus the reserve, the per-partition estimates)."""
    from dsnn.construction import estimate

    est = hpc.network(scale=scale, partitions=partitions, record=False).memory_estimate(partitions)
    return max(estimate.PEAK_FACTOR * e["bytes"] + estimate.RESERVE_BYTES for e in est), est


def fits(hpc, scale: float, partitions: int, budget: float) -> bool:
    """Whether hpc_benchmark at ``scale`` per partition fits ``budget`` bytes per worker."""
    return needed_bytes(hpc, scale, partitions)[0] <= budget


def largest_scale(hpc, partitions: int, budget: float, hi: float) -> float:
    """Bisection (to 1%) for the largest scale per partition that fits ``budget`` bytes per worker."""
    lo = 0.01
    if not fits(hpc, lo, partitions, budget):
        raise SystemExit(f"not even scale {lo} fits in {budget / 2**30:.2f} GiB per worker")
    if fits(hpc, hi, partitions, budget):
        return hi
    while hi / lo > 1.01:
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if fits(hpc, mid, partitions, budget) else (lo, mid)
    return lo


def refusal(client, hpc, scale: float, partitions: int) -> str | None:
    """The MemoryError's message when hpc_benchmark at ``scale`` is built on ``client`` (None: it was
    built, not refused)."""
    try:
        hpc.network(scale=scale, partitions=partitions, record=False).build(client, partitions=partitions).close()
    except MemoryError as e:
        return str(e)
    return None


def build_and_simulate(client, hpc, scale: float, partitions: int, t_ms: float, neurons: int) -> dict:
    """hpc_benchmark at ``scale`` per partition built on ``client`` and simulated ``t_ms`` ms: synapses,
    seconds, bytes per synapse and held, the workers' peak resident memory (bytes), spikes and rate
    (spikes/s), the time split (s)."""
    net = hpc.network(scale=scale, partitions=partitions, record=False)
    timed = harness.build_and_run(net, client, partitions, hpc.EXCHANGE, t_ms)
    sim = timed.sim
    spikes = sim.spike_count
    mem = sim.memory()
    out = {"synapses": sim.n_synapses, "construction_s": timed.construction_s, "simulation_s": timed.simulation_s,
           "real_time_factor": timed.simulation_s / (t_ms / 1000.0), "bytes_per_synapse": mem["bytes_per_synapse"],
           "held_bytes": sum(v for k, v in mem.items() if k != "bytes_per_synapse"),
           "worker_peak_rss_bytes": sorted(mb * 2**20 for mb in harness.peak_rss_mb(client)), "spikes": spikes,
           "rate_hz": spikes / neurons / (t_ms / 1000.0), "time_split_s": sim.timers}
    sim.close()
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--time", type=float, default=1000.0, help="ms simulated")
    parser.add_argument("--fraction", type=float, default=0.7,
                        help="share of each worker's memory the estimate may use (Dask pauses a worker at 0.8)")
    parser.add_argument("--max-scale", type=float, default=1000.0, help="upper end of the search (per partition)")
    parser.add_argument("--refuse-factor", type=float, default=1.5)
    args = parser.parse_args(argv)
    from dsnn.runners.cluster.workers import worker_available_bytes

    hpc = harness.load_model(MODEL)
    P = args.partitions
    result = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(),
              "partitions": P, "time_ms": args.time, "model": "hpc_benchmark", "fraction": args.fraction}
    with harness.fresh_cluster(P) as cluster:
        client = cluster.client
        result["cluster_start_s"] = cluster.start_s
        available = min(a for a, _ in client.run(worker_available_bytes).values())
        budget = args.fraction * available
        print(f"{P} workers, each may use {available / 2**30:.2f} GiB; budget {budget / 2**30:.2f} GiB per worker")
        harness.warm_up(client, hpc.network(scale=0.01, indegree_scale=0.01), P, hpc.EXCHANGE, 5.0)

        scale = largest_scale(hpc, P, budget, args.max_scale)
        est = needed_bytes(hpc, scale, P)[1]
        result.update(scale_per_partition=scale, neurons=int(11250 * scale) * P,
                      estimated_synapses=sum(e["synapses"] for e in est),
                      estimated_bytes_per_worker=max(e["bytes"] for e in est))
        print(f"largest scale per partition: {scale:.3f} ({result['neurons']:,} neurons, "
              f"{result['estimated_synapses']:.3g} synapses estimated, "
              f"{result['estimated_bytes_per_worker'] / 2**30:.2f} GiB per worker)")

        result["refused"] = refusal(client, hpc, scale * args.refuse_factor, P)
        if result["refused"]:
            print(f"{args.refuse_factor}x larger is refused: {result['refused']}")

        result.update(build_and_simulate(client, hpc, scale, P, args.time, result["neurons"]))

    print(f"built {result['synapses']:,} synapses in {result['construction_s']:.1f} s; "
          f"{result['bytes_per_synapse']:.2f} bytes per synapse; worker peak RSS "
          f"{', '.join(f'{b / 2**30:.2f}' for b in result['worker_peak_rss_bytes'])} GiB; "
          f"{args.time:g} ms simulated in {result['simulation_s']:.1f} s (RTF {result['real_time_factor']:.1f}); "
          f"{result['rate_hz']:.2f} spikes/s per neuron")
    out = harness.write_json(f"scale-{result['date']}", result)
    print(f"written {out}")
    return result


if __name__ == "__main__":
    main()
