"""The command line: ``python -m dsnn run MODEL.py [options]``, ``python -m dsnn resume DIR [options]`` and
``python -m dsnn validate MODEL.py``.

MODEL.py defines ``network(**params)`` returning a :class:`dsnn.Network`;
``--param KEY=VALUE`` values are passed to it (VALUE read as a Python
literal where it is one, else as a string). It may also define ``EXCHANGE``
(the exchange used when ``--exchange`` is not given) and
``placement(net, partitions)`` (what ``net.build(partitions=...)`` gets, e.g.
one area per partition). The run writes into ``--out``:

- ``spikes.parquet``: every spike_recorder's spikes (sender, time in ms,
  population label);
- ``summary.json``: rates per recorded population (spikes/s), construction
  seconds (and of them the seconds loading numba's kernels), simulation
  seconds, real-time factor, synapses, bytes per synapse, spikes exchanged,
  the per-partition time split (update, deliver, exchange, wait), and each
  partition's own construction seconds (its build task and its actor's
  setup: what the rest of the construction time is not);
- ``raster.png``, ``rates.png``, ``time_split.png``;

and prints the summary as a table. With ``--checkpoint-every MS
--checkpoint-dir DIR`` the run writes a checkpoint every MS simulated ms
(the last two kept, each with the model file, its parameters and seed);
``resume DIR`` restores the newest on any partition count and cluster and
simulates what the run had left (or ``--time MS``), writing the same
outputs with the spikes from time 0. Errors a user can act on (a bad option,
a model file without ``network``, an unreachable scheduler, more partitions
than worker threads, a network too large for the memory, a missing optional
dependency) print one line and exit 2. ``validate`` compares a model file
with its NEST twin (:mod:`dsnn.views.validation`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..description.model_files import ModelFileError, load_model, load_network, parse_params
from ..description.timing import run_steps
from ..support.machine import cores

__all__ = ["main", "UsageError"]


class UsageError(Exception):
    """Something the user can fix: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dsnn", description="dsnn: distributed spiking networks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build and simulate a model file, write spikes, summary and plots")
    run.add_argument("model", help="a Python file defining network(**params) -> dsnn.Network")
    _cluster_options(run)
    run.add_argument("--exchange", choices=["p2p", "collective"], default=None,
                     help="spike exchange (default: the model file's EXCHANGE, else p2p)")
    run.add_argument("--time", type=float, default=1000.0, help="simulated time in ms (default 1000)")
    run.add_argument("--seed", type=int, default=None, help="seed of the network (default: the model's)")
    run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                     help="parameter of network(); may be repeated")
    resume = sub.add_parser("resume", help="continue a run from its checkpoint (any partition count)")
    resume.add_argument("checkpoint", help="a checkpoint, or a --checkpoint-dir (its newest checkpoint)")
    _cluster_options(resume)
    resume.add_argument("--exchange", choices=["p2p", "collective"], default=None,
                        help="spike exchange (default: the checkpointed run's)")
    resume.add_argument("--time", type=float, default=None,
                        help="ms to simulate from the checkpoint (default: what the checkpointed run had left)")
    sub.add_parser("validate", add_help=False, help="compare a model with NEST (python -m dsnn validate --help)")
    return parser


def _cluster_options(cmd) -> None:
    """The options ``run`` and ``resume`` share: where to run, outputs and checkpoints."""
    cmd.add_argument("--partitions", type=int, default=None,
                     help="partitions (default: one per worker; 1 with --in-process)")
    cmd.add_argument("--workers", type=int, default=None,
                     help="worker processes of the local cluster, a thread per partition each (default: one "
                          "per partition)")
    cmd.add_argument("--protocol", choices=["tcp", "ucx"], default="tcp", help="transport (default tcp)")
    cmd.add_argument("--out", default=None, help="output folder (default: dsnn-run-<model name>)")
    where = cmd.add_mutually_exclusive_group()
    where.add_argument("--mpi", action="store_true",
                       help="under mpiexec: rank 0 scheduler, rank 1 this client, the rest workers")
    where.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    where.add_argument("--in-process", action="store_true", help="no cluster: all partitions in this process")
    cmd.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    cmd.add_argument("--checkpoint-every", type=float, default=None, metavar="MS",
                     help="write a checkpoint every MS simulated ms (with --checkpoint-dir; the last 2 kept)")
    cmd.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                     help="where the periodic checkpoints go; continue with: python -m dsnn resume DIR")


def _client(args):
    """(client, owned): the Dask client for ``args``, and whether this run started its cluster."""
    from . import cluster  # distributed is imported only when a cluster is used

    if args.in_process:
        return None, False
    if args.mpi:
        return cluster.mpi_client(args.protocol), False
    if args.scheduler:
        return cluster.connect(args.scheduler), False
    return cluster.local_cluster(args.partitions, args.protocol, workers=args.workers), True


def run(args, restart=None) -> dict:
    """Build and simulate ``args.model``, or, with ``restart`` (a checkpoint's path and manifest, for
    ``resume``), restore its model from there and go on; write the outputs; returns the summary."""
    from ..views.results import population_rates, recorded_neurons, save_run
    from .cluster import ClusterError

    if args.time is not None and not args.time > 0:
        raise UsageError(f"--time must be a positive number of ms, got {args.time!r}")
    if args.partitions is not None and args.partitions < 1:
        raise UsageError(f"--partitions must be a positive integer, got {args.partitions}")
    if args.workers is not None:
        if args.in_process or args.mpi or args.scheduler:
            raise UsageError("--workers sizes the local cluster: not with --in-process, --mpi or --scheduler")
        if not 1 <= args.workers <= (args.partitions or cores()):
            raise UsageError(f"--workers must be from 1 to the partitions ({args.partitions or cores()}), "
                             f"got {args.workers}")
    path, manifest = restart if restart is not None else (None, None)
    meta = manifest["metadata"] if manifest is not None else None
    try:
        if meta is None:
            params = parse_params(args.param)
            model_file = args.model
        else:
            params, model_file = meta["params"], meta["model"]
        model = load_model(model_file)
        net = load_network(model_file, params, model)
    except ModelFileError as exc:
        raise UsageError(str(exc)) from None
    exchange = args.exchange or (manifest.get("exchange") if manifest else None) or getattr(model, "EXCHANGE", "p2p")
    seed = meta["seed"] if meta is not None else args.seed
    if seed is not None:
        if not 0 <= seed < 2**63:
            raise UsageError(f"--seed must be in [0, 2**63), got {seed}")
        net.seed = seed
    start = 0.0 if manifest is None else float(manifest["time_ms"])
    if meta is not None and args.time is None:
        args.time = round(meta["time_ms"] - start, 9)
        if not args.time > 0:
            raise UsageError(f"the checkpointed run was complete at {start:g} ms: give --time MS to go on")
    try:
        run_steps(args.time, net.dt)
    except ValueError as exc:
        raise UsageError(f"--time: {exc}") from None
    if args.checkpoint_every is not None or args.checkpoint_dir is not None:
        from ..runners.checkpoint import check_periodic

        try:
            check_periodic(args.checkpoint_every, args.checkpoint_dir, 2, net.dt)
        except ValueError as exc:
            raise UsageError(str(exc).replace("run: checkpoint_every", "--checkpoint-every")
                             .replace("checkpoint_dir", "--checkpoint-dir")) from None
    out = Path(args.out or f"dsnn-run-{Path(model_file).stem}")
    try:
        client, owned = _client(args)
    except ClusterError as exc:
        raise UsageError(str(exc)) from None
    sim = None
    try:
        if args.partitions:
            partitions = args.partitions
        elif client is None:
            partitions = 1
        else:
            from ..runners.cluster.workers import worker_addresses

            partitions = len(worker_addresses(client)) if args.workers is None else cores()
            if partitions == 0:
                raise UsageError("the Dask cluster has no workers")
        t0 = time.perf_counter()
        try:
            placement = getattr(model, "placement", None)
            layout = placement(net, partitions) if placement is not None else partitions
            if path is None:
                sim = net.build(client, partitions=layout, exchange=exchange)
            else:
                from ..runners.checkpoint import restore

                sim = restore(net, path, client, partitions=layout, exchange=exchange)
        except (ValueError, TypeError, MemoryError) as exc:  # invalid input or too big: refused before any work
            raise UsageError(str(exc)) from None
        sim.metadata = {"model": str(Path(model_file).resolve()), "params": params, "seed": net.seed,
                        "time_ms": start + args.time}
        t1 = time.perf_counter()
        sim.run(args.time, checkpoint_every=args.checkpoint_every, checkpoint_dir=args.checkpoint_dir)
        t2 = time.perf_counter()
        spikes = sim.spikes()
        memory = sim.memory()
        summary = {
            "model": str(model_file), "params": params, "seed": net.seed, "time_ms": sim.time, "resumed_at_ms": start,
            "partitions": partitions, "exchange": exchange,
            "protocol": None if client is None else args.protocol,
            "channels": None if client is None else "/".join(sorted({i["channels"] for i in sim.info()} - {"none"})),
            "neurons": net.n_neurons, "synapses": int(sim.n_synapses),
            "bytes_per_synapse": memory["bytes_per_synapse"],
            "construction_s": t1 - t0, "compile_s": sim.compile_seconds, "simulation_s": t2 - t1,
            "rtf": (t2 - t1) / (args.time / 1000.0), "spikes": int(len(spikes)),
            "rates": population_rates(spikes, net, sim.time), "exchanged_bytes": sim.exchanged_bytes(),
            "time_split": sim.timers,
            "partition_setup_s": [i["build_s"] + i.get("setup_s", 0.0) for i in sim.info()],
        }
        save_run(out, spikes, summary)
        if not args.no_plots:
            import matplotlib

            matplotlib.use("Agg")
            from ..views.plot import save_figures

            save_figures(out, spikes, recorded_neurons(net), sim.time, summary["time_split"])
    finally:
        if sim is not None:
            sim.close()
        if client is not None:
            client.shutdown() if owned else client.close()
    print(format_summary(summary))
    print(f"written to {out}/")
    return summary


def resume(args) -> dict:
    """Continue a run of ``python -m dsnn run`` from its checkpoint (``args.checkpoint``: one, or a
    ``--checkpoint-dir`` whose newest is taken) on the partitions and cluster ``args`` ask for."""
    import json

    from ..runners import checkpoint as ckpt

    try:
        ckpt.check_path(args.checkpoint, "resume")
        path = ckpt.resolve(args.checkpoint)
        manifest = json.loads(ckpt.read_bytes(path, ckpt.MANIFEST))
    except (OSError, ValueError):
        raise UsageError(f"{args.checkpoint} holds no readable checkpoint (no {ckpt.MANIFEST} there or in a "
                         "step-* folder)") from None
    if "model" not in (manifest.get("metadata") or {}):
        raise UsageError(f"{path} was not written by python -m dsnn run: restore it in Python with "
                         "dsnn.restore(net, path)")
    return run(args, restart=(path, manifest))


def format_summary(summary: dict) -> str:
    """The summary as a plain-text table."""
    lines = [f"{'model':22s}{summary['model']}",
             f"{'partitions':22s}{summary['partitions']} ({summary['exchange']}"
             f"{', ' + summary['protocol'] if summary['protocol'] else ', in-process'}"
             f"{', ' + summary['channels'] + ' channels' if summary.get('channels') else ''})"]
    for key, fmt in (("neurons", "{:,}"), ("synapses", "{:,}"), ("bytes_per_synapse", "{:.2f}"),
                     ("construction_s", "{:.2f}"), ("compile_s", "{:.2f}"), ("simulation_s", "{:.2f}"),
                     ("rtf", "{:.2f}"),
                     ("spikes", "{:,}"), ("exchanged_bytes", "{:,}")):
        lines.append(f"{key:22s}{fmt.format(summary[key])}")
    lines.append(f"{'population':22s}{'rate (spikes/s)':>16s}")
    lines += [f"{name:22s}{rate:16.3f}" for name, rate in summary["rates"].items()]
    lines.append(f"{'partition':10s}" + "".join(f"{k:>10s}" for k in ("update", "deliver", "exchange", "wait")))
    for p, t in enumerate(summary["time_split"]):
        lines.append(f"{p:<10d}" + "".join(f"{t[k]:10.3f}" for k in ("update", "deliver", "exchange", "wait")))
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["validate"]:
        from ..views.validation import main as validate

        return validate(argv[1:], prog="python -m dsnn validate")
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            run(args)
        elif args.command == "resume":
            resume(args)
    except UsageError as exc:
        print(f"dsnn: error: {exc}", file=sys.stderr)
        return 2
    return 0

