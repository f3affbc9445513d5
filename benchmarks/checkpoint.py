"""Checkpoint write and restore: time and size for a network of ~10^8 synapses, beside the disk and a build.

Issue 16's benchmark. The Brunel network at ``--scale`` (default 2.5:
31,250 neurons, in-degree 3,125, 97.7 M synapses) on ``--partitions``
partitions in this process: built (timed), run ``--time`` ms, checkpointed
(timed: every partition's file and the manifest, fsync'ed), restored on
the same and on one more partition count (timed: the client's checks of
every file, the build, and the load), and run on to check the spikes. Beside
them the disk's sequential write and read bandwidth, measured here with
one 1 GiB file (written with fsync; read back after the page cache was
offered to drop it where this process may, else from the cache: said so).

Prints the figures and writes ``benchmarks/results/checkpoint-<date>.json``.

    python benchmarks/checkpoint.py [--scale 2.5] [--partitions 2] [--time 100] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # python benchmarks/checkpoint.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness


def disk_bandwidth(directory: str, size: int = 1 << 30) -> dict:
    """Sequential write (with fsync) and read bandwidth of ``directory``'s file system, bytes/s."""
    path = Path(directory) / f"dsnn-bandwidth-{os.getpid()}.bin"
    block = os.urandom(1 << 24)
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    write_s = time.perf_counter() - t0
    dropped = False
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        dropped = True
    except OSError:
        pass
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    read_s = time.perf_counter() - t0
    path.unlink()
    return {"bytes": size, "write_Bps": size / write_s, "read_Bps": size / read_s, "read_from_disk": dropped}


def main(argv=None) -> dict:
    import dsnn

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=2.5)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--time", type=float, default=100.0)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the checkpoint goes")
    args = parser.parse_args(argv)
    brunel = harness.load_model("examples/brunel.py")
    out = {"date": harness.today(), "machine": harness.machine(), "versions": harness.versions(),
           "scale": args.scale, "partitions": args.partitions, "time_ms": args.time, "dir": args.dir}
    out["disk"] = disk_bandwidth(args.dir)
    print(f"disk ({args.dir}): write {out['disk']['write_Bps'] / 1e6:.0f} MB/s, read "
          f"{out['disk']['read_Bps'] / 1e6:.0f} MB/s{'' if out['disk']['read_from_disk'] else ' (page cache)'}")

    net = brunel.network(scale=args.scale, seed=1)
    t0 = time.perf_counter()
    sim = net.build(partitions=args.partitions)
    out["build_s"] = time.perf_counter() - t0
    out["synapses"] = int(sim.n_synapses)
    out["neurons"] = net.n_neurons
    sim.run(args.time, progress=False)
    root = Path(tempfile.mkdtemp(dir=args.dir, prefix="dsnn-ckpt-"))
    try:
        t0 = time.perf_counter()
        path = Path(sim.checkpoint(root / "ck"))
        out["checkpoint_s"] = time.perf_counter() - t0
        out["checkpoint_bytes"] = sum(f.stat().st_size for f in path.iterdir())
        sim.run(args.time, progress=False)
        want = sim.spikes()
        sim.close()
        out["restores"] = []
        for P in (args.partitions, args.partitions + 1):
            t0 = time.perf_counter()
            again = dsnn.restore(net, path, partitions=P)
            restore_s = time.perf_counter() - t0
            again.run(args.time, progress=False)
            same = bool(again.spikes().equals(want))
            again.close()
            out["restores"].append({"partitions": P, "restore_s": restore_s, "same_spikes": same})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    size = out["checkpoint_bytes"]
    print(f"Brunel scale {args.scale}: {out['neurons']:,} neurons, {out['synapses']:,} synapses on "
          f"{args.partitions} partitions in this process")
    print(f"  build from scratch     {out['build_s']:8.2f} s")
    print(f"  checkpoint             {out['checkpoint_s']:8.2f} s, {size / 1e6:.1f} MB "
          f"({size / out['synapses']:.3f} bytes per synapse; the disk writes that in "
          f"{size / out['disk']['write_Bps']:.2f} s)")
    for r in out["restores"]:
        print(f"  restore on {r['partitions']} partitions {r['restore_s']:8.2f} s (build included); the spikes "
              f"after it {'equal' if r['same_spikes'] else 'DIFFER from'} the uninterrupted run's")
    print(f"wrote {harness.write_json(f'checkpoint-{harness.today()}', out)}")
    return out


if __name__ == "__main__":
    main()
