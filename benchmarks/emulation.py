"""One partition of a P-partition hpc_benchmark, built and stepped for real, the others emulated (P up to 16,384).

Issue 15, item 4, as the study emulated its largest runs: one process
stands in for one rank of a large run. For each P, in a fresh spawned
process (its memory apart), partition ``--partition`` of hpc_benchmark
built for P partitions (``network(scale, indegree_scale, partitions=P)``:
11,250·scale neurons per partition, in-degree 11,250·indegree_scale drawn
from all P·11,250·scale neurons) is

1. built for real (``build_partition``: its neurons, synapses, images),
   timed, its resident memory measured;
2. taken through the actor's setup: what it needs from each owner
   (``needs_of``), and, for p2p, its send maps from the receivers' needs.
   The receivers' messages are synthesized at the sizes they would have:
   what partition q needs from this one is taken as what this one needs
   from q, moved to this partition's ids (the network is homogeneous, so
   the two have the same distribution). The bytes of the handshake's
   messages (gid and slot, int64 each) are reported;
3. stepped for ``--intervals`` intervals with the other partitions' spikes
   synthesized: a Poisson process at ``--rate`` spikes/s per neuron. With
   collective exchange the partition receives every other partition's
   spikes (gid, step) and filters them through its image table; with
   p2p it receives its images' spikes only, and routes its own spikes to
   each of its receivers' send maps. Its own spikes are delivered to its
   own neurons in both (within "update").

Kernels are loaded before anything is timed (a tiny build first). Prints a
table and writes ``benchmarks/results/emulation-<date>.json``.

    python benchmarks/emulation.py [--points 128,1024,16384] [--scale 0.1] [--indegree-scale 1.0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/emulation.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

MODEL = "examples/hpc_benchmark.py"
POINTS = "128,256,512,1024,2048,4096,8192,16384"


def emulate(P: int, p: int, scale: float, indegree_scale: float, rate_hz: float, n_intervals: int, queue) -> None:
    """One point, meant for a spawned process: puts its figures on ``queue``."""
    try:
        queue.put(_emulate(P, p, scale, indegree_scale, rate_hz, n_intervals))
    except BaseException as exc:  # the parent reports it; a spawned process's traceback would be lost
        queue.put({"partitions": P, "error": f"{type(exc).__name__}: {exc}"})


def _emulate(P: int, p: int, scale: float, indegree_scale: float, rate_hz: float, n_intervals: int) -> dict:
    import numpy as np

    from dsnn.construction.build import build_partition
    from dsnn.exchange.maps import filter_images, route
    from dsnn.partitioning import Decomposition
    from dsnn.runners.handshake import needs_of, send_maps_of

    module = harness.load_model(MODEL)
    tiny = module.network(scale=0.01, indegree_scale=0.01, partitions=2, record=False)
    warm = build_partition(tiny, Decomposition.of(tiny, 2), 0)
    warm.warm_up()
    del warm

    t0 = time.perf_counter()
    net = module.network(scale=scale, indegree_scale=indegree_scale, partitions=P, record=False)
    dec = Decomposition.of(net, P)
    describe_s = time.perf_counter() - t0
    rss0 = harness.rss_mb()
    t0 = time.perf_counter()
    part = build_partition(net, dec, p)
    build_s = time.perf_counter() - t0
    rss_built = harness.rss_mb()

    t0 = time.perf_counter()
    needs = {q: piece for q, piece in needs_of(part, dec).items() if piece[0].shape[0]}
    needs_s = time.perf_counter() - t0
    first = dec.first_gids
    sent_ids = sum(g.shape[0] for g, _ in needs.values())
    # what each receiver q needs from p: p's needs from q, moved to p's gids (equal contiguous blocks)
    t0 = time.perf_counter()
    pieces = {q: (np.sort(g - first[q] + first[p]), s) for q, (g, s) in needs.items()}
    maps = send_maps_of(part, pieces)
    send_maps_s = time.perf_counter() - t0
    rss_maps = harness.rss_mb()

    rng = np.random.default_rng(P)
    L = part.interval
    dt_s = net.dt / 1000.0
    N, n = net.n_neurons, part.n_local
    part.advance(L)  # one interval before timing (first-touch of the rings)
    timers = {"update": 0.0, "route_p2p": 0.0, "filter_collective": 0.0, "deliver_collective": 0.0}
    received = {"collective": 0, "p2p": 0}
    for _ in range(n_intervals):
        t0 = time.perf_counter()
        idx, steps = part.advance(L)
        part.deliver(idx, steps)  # its own spikes onto its own neurons
        t1 = time.perf_counter()
        for m in maps:
            route(m, idx, steps)
        t2 = time.perf_counter()
        k = rng.poisson(rate_hz * (N - n) * L * dt_s)  # every other partition's spikes, all-gathered
        gids = rng.integers(0, N - n, k)
        gids = np.where(gids >= first[p], gids + n, gids)
        stamps = part.step - L + 1 + rng.integers(0, L, k)
        t3 = time.perf_counter()
        slots, got_steps = filter_images(part.image_gids, n, gids, stamps)
        t4 = time.perf_counter()
        part.deliver(slots, got_steps)
        t5 = time.perf_counter()
        timers["update"] += t1 - t0
        timers["route_p2p"] += t2 - t1
        timers["filter_collective"] += t4 - t3
        timers["deliver_collective"] += t5 - t4
        received["collective"] += k
        received["p2p"] += slots.shape[0]
    per = {key: v / n_intervals * 1e6 for key, v in timers.items()}
    return {"partitions": P, "partition": p, "neurons_total": N, "neurons": n, "synapses": part.n_synapses,
            "images": int(part.image_gids.shape[0]), "owners_needed": len(needs), "receivers": len(maps),
            "describe_s": describe_s, "build_s": build_s, "needs_s": needs_s, "send_maps_s": send_maps_s,
            "construction_s": build_s + needs_s, "construction_p2p_s": build_s + needs_s + send_maps_s,
            "rss_base_mb": rss0, "build_mb": rss_built - rss0, "send_maps_mb": rss_maps - rss_built,
            "peak_mb": harness.own_peak_rss_mb() - rss0, "partition_nbytes": part.nbytes(),
            "handshake_sent_bytes": 16 * sent_ids, "handshake_messages": len(needs),
            "intervals": n_intervals, "rate_hz": rate_hz,
            "collective_received_per_interval": received["collective"] / n_intervals,
            "collective_bytes_per_interval": 16 * received["collective"] / n_intervals,
            "p2p_received_per_interval": received["p2p"] / n_intervals,
            "update_us": per["update"], "p2p_route_us": per["route_p2p"],
            "collective_filter_us": per["filter_collective"],
            "collective_interval_us": per["update"] + per["filter_collective"] + per["deliver_collective"],
            "p2p_interval_us": per["update"] + per["route_p2p"] + per["deliver_collective"]}


def markdown(rows: list) -> str:
    out = ["| P | neurons in all | images | owners | build (s) | needs (s) | send maps (s) | memory (MB) | "
           "peak (MB) | handshake sent (MB) | collective in (MB/interval) | collective interval (ms) | "
           "p2p interval (ms) |", "|" + "---|" * 13]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['partitions']} | {r['error'][:60]} |" + " |" * 11)
            continue
        out.append(f"| {r['partitions']:,} | {r['neurons_total']:,} | {r['images']:,} | {r['owners_needed']:,} | "
                   f"{r['build_s']:.2f} | {r['needs_s']:.2f} | {r['send_maps_s']:.2f} | {r['build_mb']:.0f} | "
                   f"{r['peak_mb']:.0f} | {r['handshake_sent_bytes'] / 1e6:.1f} | "
                   f"{r['collective_bytes_per_interval'] / 1e6:.2f} | {r['collective_interval_us'] / 1e3:.2f} | "
                   f"{r['p2p_interval_us'] / 1e3:.2f} |")
    return "\n".join(out)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", default=POINTS)
    parser.add_argument("--scale", type=float, default=0.1, help="11,250·scale neurons per partition")
    parser.add_argument("--indegree-scale", type=float, default=1.0, help="in-degree 11,250·this")
    parser.add_argument("--partition", type=int, default=0, help="which partition is real")
    parser.add_argument("--rate", type=float, default=25.0, help="spikes/s of the emulated partitions")
    parser.add_argument("--intervals", type=int, default=20)
    args = parser.parse_args(argv)
    points = [int(x) for x in args.points.split(",")]
    results = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(),
               "model": MODEL, "scale": args.scale, "indegree_scale": args.indegree_scale,
               "partition": args.partition, "rate_hz": args.rate, "rows": []}
    print(f"hpc_benchmark, {11250 * args.scale:,.0f} neurons per partition, in-degree "
          f"{11250 * args.indegree_scale:,.0f}; partition {args.partition} real, the others emulated")
    for P in points:
        t0 = time.perf_counter()
        row = harness.in_spawned_process(emulate, P, args.partition, args.scale, args.indegree_scale, args.rate,
                                         args.intervals)
        row["wall_s"] = time.perf_counter() - t0
        results["rows"].append(row)
        if "error" in row:
            print(f"  P={P}: {row['error']}")
        else:
            print(f"  P={P:6d}: build {row['build_s']:.2f} s, needs {row['needs_s']:.2f} s, send maps "
                  f"{row['send_maps_s']:.2f} s, {row['build_mb']:.0f} MB (peak {row['peak_mb']:.0f}), "
                  f"{row['images']:,} images from {row['owners_needed']:,} owners; interval: collective "
                  f"{row['collective_interval_us'] / 1e3:.2f} ms, p2p {row['p2p_interval_us'] / 1e3:.2f} ms",
                  flush=True)
    print(markdown(results["rows"]))
    print(f"wrote {harness.write_json(f'emulation-{harness.today()}', results)}")
    return results


if __name__ == "__main__":
    main()
