"""The nodes of one side of a projection as arrays: index (0 .. n-1, in gid order) <-> gid.

A side is a population or populations added (``E + I``); the rules draw
indices over the whole side and these maps turn them into gids. Spans that
meet in gid space are joined, so a side of adjacent populations is one
contiguous range, like a single population, and takes the same fast paths.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NodeIndex"]


class NodeIndex:
    """Index <-> gid of the nodes ``spans`` (``(first gid, size)`` pairs in gid order, not overlapping).

    ``first`` is the first gid, ``n`` the number of nodes; ``contiguous``
    says whether they are the gids ``first .. first+n-1``.
    """

    def __init__(self, spans):
        joined = []
        for first, n in spans:
            if joined and joined[-1][0] + joined[-1][1] == first:
                joined[-1][1] += n
            else:
                joined.append([first, n])
        self.firsts = np.array([f for f, _ in joined], dtype=np.int64)
        sizes = np.array([n for _, n in joined], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.first = int(self.firsts[0])
        self.n = int(self.offsets[-1])
        self.contiguous = len(joined) == 1

    @classmethod
    def of(cls, nodes) -> "NodeIndex":
        """The index of a population or a collection (anything with ``spans``)."""
        return cls(nodes.spans)

    @property
    def spans(self) -> list:
        """(first gid, size) of each contiguous range, in gid order."""
        return [(int(f), int(b - a)) for f, a, b in zip(self.firsts, self.offsets[:-1], self.offsets[1:])]

    def gids(self, index, xp=np):
        """The gids of node indices ``index`` (int64 array, each in 0 .. n-1)."""
        if self.contiguous:
            return index + self.first
        firsts, offsets = xp.asarray(self.firsts), xp.asarray(self.offsets)
        span = xp.searchsorted(offsets, index, side="right") - 1
        return index + (firsts - offsets[:-1])[span]

    def index(self, gids, xp=np):
        """The node index of each of ``gids`` (int64), -1 where a gid is not one of these nodes."""
        if self.contiguous:
            inside = (gids >= self.first) & (gids < self.first + self.n)
            return xp.where(inside, gids - self.first, -1)
        firsts, offsets = xp.asarray(self.firsts), xp.asarray(self.offsets)
        span = xp.searchsorted(firsts, gids, side="right") - 1
        clipped = xp.maximum(span, 0)
        idx = gids - firsts[clipped] + offsets[clipped]
        inside = (span >= 0) & (idx < offsets[clipped + 1])
        return xp.where(inside, idx, -1)

    def all_gids(self) -> np.ndarray:
        """Every gid, in index order (int64, shape (n,))."""
        return self.gids(np.arange(self.n, dtype=np.int64))
