"""Checkpoints on disk: one file per partition, written where the partition lives, and a manifest.

A checkpoint is a directory:

- ``part-<p>.npz``: partition p's dynamic state (:mod:`dsnn.backends.state`),
  written by the partition itself (its worker, in parallel with the
  others; nothing passes through the client), under a temporary name and
  renamed once complete (the checksum computed from the bytes written);
- ``manifest.json``, written last: the format version, the network's
  fingerprint (:func:`fingerprint`), the step and time, and per file its
  size, SHA-256 and the gid ranges it holds.

The directory is first made under a temporary name beside the target and
renamed to it once the manifest is in: a checkpoint is complete or
absent, and an older checkpoint at the same path is replaced only then.
A crash while writing leaves the older one in place. A path is a local
path (on a cluster, a file system every worker and the client share) or
an fsspec URL (``s3://bucket/run1``, ``gs://...``, ``file://...``: every
file goes through fsspec, the workers writing their own). On object
stores a rename is a copy: the manifest, written last, still tells a
complete checkpoint from a partial one.

:func:`read_manifest` checks, in the client and before any work starts,
that the manifest is there and readable, of this format, of this network,
and that every file is there, of its size and its checksum; each
partition then reads only the files holding its neurons.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np

from ..backends import state

__all__ = ["restore", "fingerprint", "structure", "write_partition", "write_manifest", "read_manifest", "files_for",
           "load_partition", "check_path", "new_directory", "discard", "MANIFEST", "FORMAT"]

MANIFEST = "manifest.json"

#: version of the checkpoint's layout (manifest and files); a reader refuses another
FORMAT = 1


def _canonical(value, seen=None):
    """A JSON-able, deterministic description of a network's parts (arrays by their digest)."""
    import dataclasses

    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if hasattr(value, "tobytes") and hasattr(value, "dtype"):
        return {"array": str(value.dtype), "shape": list(value.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}
    if type(value).__name__ == "Population":
        return {"population": [value.first, value.n, value.model]}
    if type(value).__name__ == "Collection":
        return {"collection": [_canonical(p) for p in value.pieces]}
    if dataclasses.is_dataclass(value):
        return {type(value).__name__: {f.name: _canonical(getattr(value, f.name))
                                       for f in dataclasses.fields(value) if f.name != "network"}}
    return repr(value)


def fingerprint(net) -> str:
    """SHA-256 of the network's description: seed, dt, populations (model, size, parameters) and
    projections (rule, weights, delays). Equal for two descriptions that build the same network."""
    desc = {"seed": net.seed, "dt": repr(net.dt),
            "populations": [[p.model, p.first, p.n, p.label, _canonical(p.params)] for p in net.populations],
            "projections": [_canonical(p) for p in net.projections]}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()


def _merged_spans(spans) -> list:
    """``(first, n)`` spans sorted, those that meet joined."""
    out: list = []
    for first, n in sorted(spans):
        if out and out[-1][0] + out[-1][1] == first:
            out[-1][1] += n
        else:
            out.append([first, n])
    return out


def structure(net) -> str:
    """SHA-256 of what a network's state is laid out by: seed, dt, the model of every node (runs of gids,
    however they are split into populations) and the projections (their rule, weights, delays and the gids
    they join), without the populations' parameters. Equal for two descriptions whose states fit each
    other, e.g. the same network with other currents, rates or time constants."""
    runs: list = []
    for p in net.populations:
        if runs and runs[-1][0] == p.model and runs[-1][1] + runs[-1][2] == p.first:
            runs[-1][2] += p.n
        else:
            runs.append([p.model, p.first, p.n])
    projections = [[p.kind, repr(p.rule), _canonical(p.weight), _canonical(p.delay),
                    _merged_spans(p.pre.spans), _merged_spans(p.post.spans)] for p in net.projections]
    desc = {"seed": net.seed, "dt": repr(net.dt), "nodes": runs, "projections": projections}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()


def check_path(path, what: str, urls: bool = True) -> None:
    """Refuse what is not a local path (str or os.PathLike) or, with ``urls``, an fsspec URL whose protocol
    fsspec can open here."""
    text = str(path) if isinstance(path, (str, os.PathLike)) else ""
    if not text or ("://" in text and not urls):
        raise ValueError(f"{what}: path must be a local directory path (str or pathlib.Path), got {path!r}")
    if "://" in text:
        import fsspec

        try:
            fsspec.core.url_to_fs(text)
        except (ImportError, ValueError) as exc:
            raise ValueError(f"{what}: cannot open {text!r} with fsspec: {exc}") from None


def _fs(path) -> tuple:
    """(fsspec file system, path on it) of a local path or URL."""
    import fsspec

    return fsspec.core.url_to_fs(str(path))


def _join(root: str, *names: str) -> str:
    return "/".join([root.rstrip("/"), *names])


def is_checkpoint(path) -> bool:
    """Whether ``path`` holds a manifest (a complete checkpoint, unless damaged since)."""
    fs, root = _fs(path)
    return fs.isfile(_join(root, MANIFEST))


def read_bytes(path, name: str) -> bytes:
    """The bytes of file ``name`` in the checkpoint directory ``path`` (a local path or URL)."""
    fs, root = _fs(path)
    return fs.cat(_join(root, name))


def _named(fs, root: str, given) -> str:
    """How to name ``root`` back to the user: a local path as a path, a URL as a URL."""
    return str(Path(root)) if "://" not in str(given) else fs.unstrip_protocol(root)


def check_periodic(every, directory, keep, dt: float) -> int:
    """Steps between two periodic checkpoints, after checking ``checkpoint_every`` (ms), ``checkpoint_dir``
    and ``checkpoint_keep`` (ValueError naming the parameter)."""
    from ..description.timing import run_steps

    if every is None or directory is None:
        raise ValueError("run: checkpoint_every (ms) and checkpoint_dir go together; got "
                         f"checkpoint_every={every!r}, checkpoint_dir={directory!r}")
    check_path(directory, "run: checkpoint_dir")
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"run: checkpoint_keep must be an integer >= 1, got {keep!r}")
    try:
        steps = run_steps(every, dt)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"run: checkpoint_every: {exc}") from None
    if steps < 1:
        raise ValueError(f"run: checkpoint_every must be at least one step ({dt} ms), got {every!r}")
    return steps


def periodic_path(directory, step: int) -> str:
    """Where the periodic checkpoint at ``step`` goes: ``<directory>/step-<step>``."""
    return f"{str(directory).rstrip('/')}/step-{int(step):012d}"


def _periodic(directory) -> list:
    """The complete periodic checkpoints in ``directory`` (paths on its file system), oldest first, and the
    file system."""
    fs, root = _fs(directory)
    if not fs.isdir(root):
        return fs, []
    found = fs.glob(_join(root, "step-" + "[0-9]" * 12))
    return fs, sorted(p for p in found if fs.isfile(_join(p, MANIFEST)))


def prune(directory, keep: int) -> None:
    """Remove all but the newest ``keep`` periodic checkpoints of ``directory``."""
    fs, found = _periodic(directory)
    for old in found[:-keep]:
        fs.rm(old, recursive=True)


def resolve(path) -> str:
    """``path`` if it is a checkpoint, else the newest periodic checkpoint in it (or ``path`` as it is)."""
    fs, root = _fs(path)
    if fs.exists(_join(root, MANIFEST)):
        return str(path)
    fs, found = _periodic(path)
    return _named(fs, found[-1], path) if found else str(path)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _runs(gids: np.ndarray) -> list:
    """``[[first, stop], ...]``: the runs of consecutive gids in sorted ``gids``."""
    if gids.shape[0] == 0:
        return []
    cut = np.flatnonzero(np.diff(gids) != 1) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, gids.shape[0]]
    return [[int(gids[a]), int(gids[b - 1]) + 1] for a, b in zip(starts, ends)]


def write_partition(part, directory: str, rank: int) -> dict:
    """Write ``part``'s state into ``directory`` (a path or URL) as ``part-<rank>.npz`` (complete or
    absent); returns its manifest entry."""
    import io

    arrays = state.capture(part)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    name = f"part-{rank:05d}.npz"
    fs, root = _fs(directory)
    tmp = _join(root, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    with fs.open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        try:  # a local file: on the disk before it is named
            os.fsync(f.fileno())
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            pass  # not a file of this machine (memory, object stores): nothing to sync
    fs.mv(tmp, _join(root, name))
    return {"file": name, "bytes": len(data), "sha256": _sha256(data), "gids": _runs(arrays["gids"]),
            "neurons": int(arrays["gids"].shape[0])}


def new_directory(path) -> str:
    """A fresh temporary directory beside ``path`` (same file system), where a checkpoint is written before
    it takes the name."""
    fs, root = _fs(path)
    parent, name = root.rstrip("/").rsplit("/", 1) if "/" in root.rstrip("/") else ("", root)
    fs.makedirs(parent or ".", exist_ok=True)
    tmp = _join(parent, f".{name}.{uuid.uuid4().hex[:8]}.writing")
    fs.makedirs(tmp, exist_ok=False)
    return _named(fs, tmp, path)


def discard(tmp) -> None:
    """Remove a checkpoint directory that was being written (after a failure)."""
    fs, root = _fs(tmp)
    if fs.exists(root):
        fs.rm(root, recursive=True)


def write_manifest(tmp, path, net, step: int, entries: list, extra: dict | None = None) -> str:
    """Write the manifest into ``tmp`` (last), then give ``tmp`` the checkpoint's name ``path`` (replacing
    an older checkpoint there only now); returns the checkpoint's path."""
    from .. import __version__

    fs, target = _fs(path)
    _, tmp_root = _fs(tmp)
    manifest = {"format": FORMAT, "state_format": state.FORMAT, "dsnn": __version__, "fingerprint": fingerprint(net),
                "structure": structure(net), "step": int(step), "dt": net.dt, "time_ms": int(step) * net.dt,
                "partitions": len(entries), "neurons": sum(e["neurons"] for e in entries), "files": entries,
                **(extra or {})}
    part = _join(tmp_root, f".{MANIFEST}.tmp")
    fs.pipe(part, json.dumps(manifest, indent=1).encode())
    fs.mv(part, _join(tmp_root, MANIFEST))
    if fs.exists(target):
        old = f"{target.rstrip('/')}.{uuid.uuid4().hex[:8]}.old"
        fs.mv(target, old, recursive=True)
        fs.mv(tmp_root, target, recursive=True)
        fs.rm(old, recursive=True)
    else:
        fs.mv(tmp_root, target, recursive=True)
    return _named(fs, target, path)


def read_manifest(path, net, changed_parameters: bool = False) -> dict:
    """The checkpoint's manifest, after checking it and every file it lists (ValueError naming the file and
    what is wrong). With ``changed_parameters``, ``net`` need only have the checkpoint's
    :func:`structure`, not its :func:`fingerprint`."""
    fs, root = _fs(path)
    where = str(path).rstrip("/")
    mpath = f"{where}/{MANIFEST}"
    if not fs.isdir(root):
        raise ValueError(f"restore: {where} is not a checkpoint directory")
    try:
        manifest = json.loads(fs.cat(_join(root, MANIFEST)))
    except FileNotFoundError:
        raise ValueError(f"restore: {mpath} is missing: {where} is not a complete checkpoint") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"restore: {mpath} cannot be read: {exc}") from None
    if manifest.get("format") != FORMAT or manifest.get("state_format") != state.FORMAT:
        raise ValueError(f"restore: {mpath} is of format {manifest.get('format')} (state "
                         f"{manifest.get('state_format')}); this dsnn reads format {FORMAT} (state {state.FORMAT})")
    if changed_parameters:
        if manifest.get("structure") != structure(net):
            raise ValueError(f"restore: {mpath} is a checkpoint of another network: its seed, dt, nodes or "
                             "connections differ from this network's (only parameters may)")
    elif manifest.get("fingerprint") != fingerprint(net):
        raise ValueError(f"restore: {mpath} is a checkpoint of another network (its fingerprint differs from "
                         "this network's: seed, dt, populations, parameters or connections changed)")
    if manifest.get("dt") != net.dt:
        raise ValueError(f"restore: {mpath} has dt {manifest.get('dt')} ms, the network {net.dt} ms")
    if manifest.get("neurons") != net.n_neurons:
        raise ValueError(f"restore: {mpath} holds {manifest.get('neurons')} neurons, the network has "
                         f"{net.n_neurons}")
    for entry in manifest["files"]:
        f, shown = _join(root, entry["file"]), f"{where}/{entry['file']}"
        if not fs.isfile(f):
            raise ValueError(f"restore: {shown} is missing")
        size = fs.size(f)
        if size != entry["bytes"]:
            raise ValueError(f"restore: {shown} is truncated or changed: {size} bytes, the manifest says "
                             f"{entry['bytes']}")
        if _sha256(fs.cat(f)) != entry["sha256"]:
            raise ValueError(f"restore: {shown} is corrupted: its SHA-256 differs from the manifest's")
    return manifest


def files_for(manifest: dict, local_gids: np.ndarray) -> list:
    """The files of the manifest holding any of ``local_gids`` (sorted)."""
    out = []
    for entry in manifest["files"]:
        for g0, g1 in entry["gids"]:
            a, b = np.searchsorted(local_gids, [g0, g1])
            if b > a:
                out.append(entry["file"])
                break
    return out


def load_partition(part, path, manifest: dict) -> int:
    """Restore ``part`` (just built) from the checkpoint at ``path``: the files holding its neurons;
    returns how many of its neurons they held."""
    import io

    fs, root = _fs(path)
    saved = []
    for name in files_for(manifest, np.asarray(part.local_gids)):
        with np.load(io.BytesIO(fs.cat(_join(root, name)))) as z:
            saved.append({k: z[k] for k in z.files})
    if not saved:
        return 0
    return state.restore(part, saved)


def restore(net, path, client=None, partitions=None, exchange: str | None = None, device: str = "cpu",
            timeout: float = 20.0, threads: int | None = None, changed_parameters: bool = False):
    """Build ``net`` and continue from the checkpoint at ``path`` (or the newest in a ``checkpoint_dir`` of
    periodic checkpoints): a :class:`~dsnn.runners.simulation.Simulation`
    at the checkpoint's time, on any number of ``partitions`` (default: the checkpoint's), in this process
    or on ``client``'s workers, with ``exchange`` (default: the checkpoint's) and ``device`` as in
    :meth:`dsnn.Network.build`. Running it on gives, bit for bit, the spikes and voltages of the run that was
    never interrupted, and ``spikes()`` / ``voltages()`` include those recorded before the checkpoint. A
    simulation that streamed its recordings (``stream_recordings``) goes on streaming into the same directory, whose
    files from after the checkpoint are removed first.

    The checkpoint is checked first, in this process, before anything is built: a missing, truncated or
    corrupted file, another network's checkpoint or an unknown format raise ValueError naming the file.

    ``changed_parameters``: ``net`` may differ from the network checkpointed in its populations'
    parameters (and how its nodes are split into populations), not in its seed, dt, nodes or
    connections (:func:`structure`): the run goes on from the saved state with the new parameters (new
    currents, rates, generator windows, time constants). The state is kept as it was; the potentials
    are kept relative to E_L, so a change of E_L moves them with it."""
    check_path(path, "restore")
    path = resolve(path)
    manifest = read_manifest(path, net, changed_parameters)
    if partitions is None:
        partitions = manifest["partitions"]
    stream = manifest.get("stream_dir")
    if stream is not None:
        from .streams import drop_from

        drop_from(stream, int(manifest["step"]))  # what a run after the checkpoint streamed: it is redone
    sim = net.build(client, partitions=partitions, exchange=exchange or manifest.get("exchange", "p2p"),
                    device=device, timeout=timeout, threads=threads)
    try:
        where = path if "://" in str(path) else str(Path(path).resolve())
        found = sim.runner.call("restore", "restore", where, manifest)
        if sum(found) != net.n_neurons:
            raise ValueError(f"restore: {str(path).rstrip('/')}/{MANIFEST} held the state of {sum(found)} of the "
                             f"network's {net.n_neurons} neurons")
        sim.step = int(manifest["step"])
        if stream is not None:
            sim.stream_recordings(stream, manifest.get("stream_max_records", 1_000_000))
    except BaseException:
        sim.close()
        raise
    return sim
