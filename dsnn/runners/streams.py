"""Spikes streamed to Parquet files while a run goes on: memory bounded in long runs, consistent with checkpoints.

With :meth:`~dsnn.runners.simulation.Simulation.stream_spikes`, each
partition writes what its spike recorders got into
``<directory>/spikes-<recorder gid>/p<partition>-<since>.parquet`` (columns
``sender``: gid, ``step``: update step) whenever it holds more than its
limit, at the end of every run and before every checkpoint, and forgets
it; ``sim.spikes()`` reads the files back. ``<since>`` is the step from which
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

__all__ = ["write_spikes", "read_spikes", "drop_from"]


def _since(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


def write_spikes(part, directory: str, rank: int, since: int) -> int:
    """Write and forget the spikes ``part`` recorded (one file per recorder, if any); returns how many."""
    import pandas as pd

    written = 0
    for gid, chunks in part.recorded_spikes.items():
        if not chunks:
            continue
        gids = np.concatenate([g for g, _ in chunks]).astype(np.int64)
        steps = np.concatenate([s for _, s in chunks]).astype(np.int64)
        folder = Path(directory) / f"spikes-{gid}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"p{rank:05d}-{int(since):012d}.parquet"
        tmp = folder / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        pd.DataFrame({"sender": gids, "step": steps}).to_parquet(tmp, index=False)
        os.replace(tmp, path)
        written += gids.shape[0]
        chunks.clear()
    part.recorded_count = 0
    return written


def read_spikes(directory, recorder_gid: int) -> list:
    """``(gids, steps)`` chunks of the files streamed for a recorder."""
    import pandas as pd

    folder = Path(directory) / f"spikes-{recorder_gid}"
    out = []
    for path in sorted(folder.glob("p*.parquet")) if folder.is_dir() else []:
        frame = pd.read_parquet(path)
        out.append((frame["sender"].to_numpy(np.int64), frame["step"].to_numpy(np.int64)))
    return out


def drop_from(directory, step: int) -> int:
    """Remove the streamed files holding spikes from ``step`` on (and stray temporary files); returns how
    many files went."""
    gone = 0
    for path in Path(directory).glob("spikes-*/*"):
        if path.name.startswith(".") or (path.suffix == ".parquet" and _since(path) >= step):
            path.unlink()
            gone += 1
    return gone
