"""Image maps: which of my neurons each peer needs, in the peer's slot numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SendMap", "needs_by_owner", "send_map", "route", "filter_images"]


@dataclass(frozen=True)
class SendMap:
    """Spikes of sender-local neurons ``local`` go to receiver slots ``slots`` (both int64, by ``local``)."""

    receiver: int
    local: np.ndarray
    slots: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.local.nbytes + self.slots.nbytes


def needs_by_owner(image_gids, first_slot: int, owners) -> dict:
    """What a receiver needs from each owner: ``{owner: (gids, receiver slots)}`` (sorted by gid).

    ``image_gids`` are the receiver's image gids (sorted), ``first_slot`` the
    slot of the first image, ``owners`` the partition owning each image.
    """
    slots = first_slot + np.arange(image_gids.shape[0], dtype=np.int64)
    order = np.argsort(owners, kind="stable")  # by owner, by gid within one: O(n log n) whatever the owners
    by_owner = owners[order]
    starts = np.flatnonzero(np.r_[True, by_owner[1:] != by_owner[:-1]]) if order.shape[0] else order
    ends = np.r_[starts[1:], order.shape[0]]
    return {int(by_owner[a]): (image_gids[order[a:b]], slots[order[a:b]]) for a, b in zip(starts, ends)}


def send_map(sender_gids, receiver: int, gids, slots) -> SendMap:
    """The send map to ``receiver`` from what it needs (``gids``, sorted, and its ``slots``)."""
    return SendMap(receiver, np.searchsorted(sender_gids, gids).astype(np.int64), slots.astype(np.int64))


def _none(like):
    """Two empty int64 arrays of the array module of ``like`` (NumPy or CuPy)."""
    if isinstance(like, np.ndarray):  # zeros_like costs microseconds, paid every interval
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.zeros_like(like, dtype=np.int64, shape=(0,)), np.zeros_like(like, dtype=np.int64, shape=(0,))


def route(send_map: SendMap, spike_local, spike_step):
    """The (receiver slot, step) of the spikes the receiver needs.

    Works on NumPy arrays and, through NumPy's dispatch, on CuPy arrays (map
    and spikes both in GPU memory).
    """
    if send_map.local.shape[0] == 0 or spike_local.shape[0] == 0:
        return _none(spike_local)
    pos = np.searchsorted(send_map.local, spike_local)
    pos = np.minimum(pos, send_map.local.shape[0] - 1)
    hit = send_map.local[pos] == spike_local
    return send_map.slots[pos[hit]], spike_step[hit]


def filter_images(image_gids, first_slot: int, gids, steps):
    """Of all spikes (gids, steps), those of this partition's images, as (slot, step) (NumPy or CuPy)."""
    if image_gids.shape[0] == 0 or gids.shape[0] == 0:
        return _none(gids)
    pos = np.minimum(np.searchsorted(image_gids, gids), image_gids.shape[0] - 1)
    hit = image_gids[pos] == gids
    return first_slot + pos[hit], steps[hit]
