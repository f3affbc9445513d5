"""Image maps: which of my neurons each peer needs, in the peer's slot numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SendMap", "send_maps", "owner_of", "route"]


@dataclass(frozen=True)
class SendMap:
    """Spikes of sender-local neurons ``local`` go to receiver slots ``slots`` (both int64, by ``local``)."""

    receiver: int
    local: np.ndarray
    slots: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.local.nbytes + self.slots.nbytes


def owner_of(gids, first_gids) -> np.ndarray:
    """Partition owning each gid, given each partition's first local gid (increasing)."""
    return np.searchsorted(first_gids, gids, side="right") - 1


def send_maps(sender: int, sender_gids, receivers: dict) -> list[SendMap]:
    """The send maps of ``sender`` (local gids ``sender_gids``, sorted).

    ``receivers`` maps a receiver index to ``(image_gids, first_slot,
    needed)``: all its image gids (sorted), the slot of its first image (its
    number of local neurons), and the sorted gids it needs from this sender.
    """
    out = []
    for q, (image_gids, first_slot, needed) in receivers.items():
        if q == sender or needed.shape[0] == 0:
            continue
        local = np.searchsorted(sender_gids, needed)
        slots = first_slot + np.searchsorted(image_gids, needed)
        out.append(SendMap(q, local.astype(np.int64), slots.astype(np.int64)))
    return out


def route(send_map: SendMap, spike_local, spike_step):
    """The (receiver slot, step) of the spikes the receiver needs."""
    if send_map.local.shape[0] == 0 or spike_local.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos = np.searchsorted(send_map.local, spike_local)
    pos = np.minimum(pos, send_map.local.shape[0] - 1)
    hit = send_map.local[pos] == spike_local
    return send_map.slots[pos[hit]], spike_step[hit]
