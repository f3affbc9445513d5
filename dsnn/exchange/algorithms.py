"""The two exchange modes, as one interval's worth of messages over :class:`Channels`.

Point-to-point: a partition sends one message to each out-neighbour (an
empty one where none of the neurons it needs spiked) and waits for one
from each in-neighbour.

Collective: an all-gather with Bruck's algorithm (Bruck et al., IEEE TPDS
8(11), 1997): in round r = 0, 1, ... partition p sends the blocks it holds,
min(2**r, P - 2**r) of them, to p - 2**r and receives as many from p + 2**r
(mod P). After ceil(log2 P) rounds every partition holds every partition's
spikes, for any P, not only powers of two; each round is one message, so an
interval costs ceil(log2 P) latencies instead of the P - 1 of a ring.
"""

from __future__ import annotations

import numpy as np

__all__ = ["point_to_point", "bruck_peers", "bruck_allgather"]


async def point_to_point(channels, interval: int, outgoing: dict, in_peers) -> list:
    """Send ``outgoing[q]`` (int64 arrays) to each q, then receive one array from each in-peer."""
    for q, data in outgoing.items():  # a send only waits when the peer's socket buffer is full
        await channels.send(q, interval, 0, data)
    received = []
    for q in in_peers:
        data, _ = await channels.receive(q, interval, 0)
        received.append(data)
    return received


def bruck_peers(rank: int, P: int) -> tuple[list, list]:
    """(send-to, receive-from) ranks of each round of the all-gather."""
    to, frm, d = [], [], 1
    while d < P:
        to.append((rank - d) % P)
        frm.append((rank + d) % P)
        d *= 2
    return to, frm


async def bruck_allgather(channels, interval: int, rank: int, P: int, block: np.ndarray) -> list:
    """Every partition's block (int64 arrays of shape (rows, n)); element i is partition (rank + i) % P's."""
    blocks = [block]
    to, frm = bruck_peers(rank, P)
    for r, (dst, src) in enumerate(zip(to, frm)):
        count = min(1 << r, P - (1 << r))
        sizes = np.array([b.shape[-1] for b in blocks[:count]], dtype=np.int64)
        data = np.concatenate(blocks[:count], axis=-1) if count > 1 else blocks[0]
        await channels.send(dst, interval, r, data, extra=sizes)
        data, sizes = await channels.receive(src, interval, r)
        blocks.extend(np.split(data, np.cumsum(sizes)[:-1], axis=-1))
    return blocks
