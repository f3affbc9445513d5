"""Recordings streamed to Parquet files while a run goes on: memory bounded in long runs, consistent with checkpoints.

With :meth:`~dsnn.runners.simulation.Simulation.stream_recordings`, each
partition writes what its spike recorders got into
``<directory>/spikes-<recorder gid>/p<partition>-<since>.parquet`` (columns
``sender``: gid, ``step``: update step) and what its voltmeters got into
``<directory>/vm-<voltmeter gid>/p<partition>-<since>-<k>.parquet``
(``sender``, ``step``, ``V_m``: a full steps x neurons block, row-major)
whenever it holds more than its limit of records, at the end of every run
and before every checkpoint, and forgets it; ``sim.spikes()`` and
``sim.voltages()`` read the files back. ``<since>`` is the step from which
the file's spikes are (a file holds the steps from ``since`` up to the next
file's). A checkpoint at step S flushes first, so every file is all before
S or all from S on; restoring it removes the files from S on (a run that
went on after the checkpoint and was lost), so that nothing is missing or
counted twice. Files are written under a temporary name and renamed.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

__all__ = ["write_recordings", "read_spikes", "read_voltages", "drop_from"]


def _since(path: Path) -> int:
    return int(path.stem.split("-")[1])


def _write(frame, folder: Path, name: str) -> None:
    """``frame`` to ``folder/name`` as Parquet, under a temporary name first."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, folder / name)


def write_recordings(part, directory: str, rank: int, since: int) -> int:
    """Write and forget what ``part`` recorded: its spikes (a file per recorder) and V_m (a file per voltmeter
    and block of neurons recorded over the same steps); returns how many records went."""
    import pandas as pd

    from ..backends.state import merged_voltage_chunks

    written = 0
    for gid, chunks in part.recorded_spikes.items():
        if not chunks:
            continue
        gids = np.concatenate([g for g, _ in chunks]).astype(np.int64)
        steps = np.concatenate([s for _, s in chunks]).astype(np.int64)
        _write(pd.DataFrame({"sender": gids, "step": steps}), Path(directory) / f"spikes-{gid}",
               f"p{rank:05d}-{int(since):012d}.parquet")
        written += gids.shape[0]
        chunks.clear()
    for vgid in sorted(set(part.voltmeters) | set(part.restored_vm)):
        for k, (first, values, gids) in enumerate(merged_voltage_chunks(part, vgid)):
            n_steps, n, n_vars = values.shape
            frame = pd.DataFrame({"sender": np.tile(np.asarray(gids, dtype=np.int64), n_steps),
                                  "step": np.repeat(first + np.arange(n_steps, dtype=np.int64), n),
                                  **{f"v{j}": np.ascontiguousarray(values[..., j]).ravel() for j in range(n_vars)}})
            _write(frame, Path(directory) / f"vm-{vgid}", f"p{rank:05d}-{int(since):012d}-{k}.parquet")
            written += values.size
    for chunks in part.recorded_vm.values():
        chunks.clear()
    part.restored_vm.clear()
    part.recorded_count = 0
    return written


def _frames(folder: Path):
    """The streamed files of one recorder's folder, as DataFrames, in name order."""
    import pandas as pd

    for path in sorted(folder.glob("p*.parquet")) if folder.is_dir() else []:
        yield pd.read_parquet(path)


def read_spikes(directory, recorder_gid: int) -> list:
    """``(gids, steps)`` chunks of the files streamed for a recorder."""
    return [(frame["sender"].to_numpy(np.int64), frame["step"].to_numpy(np.int64))
            for frame in _frames(Path(directory) / f"spikes-{recorder_gid}")]


def read_voltages(directory, voltmeter_gid: int) -> list:
    """``(first step, values (steps, neurons, variables), gids)`` chunks of the files streamed for a voltmeter
    or multimeter (columns v0, v1, ...: its variables in order)."""
    out = []
    for frame in _frames(Path(directory) / f"vm-{voltmeter_gid}"):
        steps = frame["step"].to_numpy(np.int64)
        if steps.shape[0] == 0:
            continue
        n = int(np.count_nonzero(steps == steps[0]))  # the first step's row holds every neuron once
        columns = sorted((c for c in frame.columns if c.startswith("v") and c[1:].isdigit()),
                         key=lambda c: int(c[1:])) or ["V_m"]  # a voltmeter's files as dsnn wrote them before
        values = np.stack([frame[c].to_numpy(np.float64) for c in columns], axis=-1)
        out.append((int(steps[0]), values.reshape(-1, n, len(columns)), frame["sender"].to_numpy(np.int64)[:n]))
    return out


def drop_from(directory, step: int) -> int:
    """Remove the streamed files holding spikes from ``step`` on (and stray temporary files); returns how
    many files went."""
    gone = 0
    for path in [*Path(directory).glob("spikes-*/*"), *Path(directory).glob("vm-*/*")]:
        if path.name.startswith(".") or (path.suffix == ".parquet" and _since(path) >= step):
            path.unlink()
            gone += 1
    return gone
