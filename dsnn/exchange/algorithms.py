"""The two exchange modes, as one interval's worth of messages over :class:`Channels`.

Each mode is a generator that yields exchange steps ``(interval, sends,
receives, overlap)`` (the arguments of :meth:`Channels.exchange`; ``overlap``
is work to do while the messages travel, or None) and is sent back
what arrived, so the same algorithm runs blocking in a thread (tcp) or as a
coroutine on the event loop (ucx): see :func:`run_blocking`.

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

__all__ = ["point_to_point", "bruck_peers", "bruck_allgather", "run_blocking", "ALLGATHER"]


#: first element of the request for the transport's own all-gather (instead of an exchange step)
ALLGATHER = "allgather"


def run_blocking(steps, channels):
    """Drive a generator of exchange steps with blocking :meth:`Channels.exchange` calls (and
    :meth:`Channels.allgather` for an ``(ALLGATHER, interval, block, overlap)`` request); returns its
    result."""
    try:
        request = next(steps)
        while True:
            if request[0] == ALLGATHER:
                request = steps.send(channels.allgather(*request[1:]))
            else:
                request = steps.send(channels.exchange(*request))
    except StopIteration as done:
        return done.value


def point_to_point(interval: int, outgoing: dict, in_peers, overlap=None):
    """Send ``outgoing[q]`` (int64 arrays) to each q and receive one array from each in-peer; ``overlap()``
    runs while the messages travel.

    A generator of exchange steps; returns the arrays received, in the order of ``in_peers``.
    """
    got = yield interval, {q: (0, data, None) for q, data in outgoing.items()}, {q: 0 for q in in_peers}, overlap
    return [got[q][0] for q in in_peers]


def bruck_peers(rank: int, P: int) -> tuple[list, list]:
    """(send-to, receive-from) ranks of each round of the all-gather."""
    to, frm, d = [], [], 1
    while d < P:
        to.append((rank - d) % P)
        frm.append((rank + d) % P)
        d *= 2
    return to, frm


def bruck_allgather(interval: int, rank: int, P: int, block: np.ndarray, overlap=None):
    """Gather every partition's block (int64 arrays of shape (rows, n), NumPy or CuPy); ``overlap()`` runs
    while the first round's messages travel (at once where P = 1).

    A generator of exchange steps, one per round; returns the list of
    blocks whose element i is partition (rank + i) % P's.
    """
    blocks = [block]
    to, frm = bruck_peers(rank, P)
    if not to and overlap is not None:
        overlap()
    for r, (dst, src) in enumerate(zip(to, frm)):
        count = min(1 << r, P - (1 << r))
        work, overlap = overlap, None
        if count == 1:  # one block: its size is the message's (P = 2 moves exactly the spikes' bytes)
            got = yield interval, {dst: (r, blocks[0], None)}, {src: r}, work
            blocks.append(got[src][0])
            continue
        sizes = np.array([b.shape[-1] for b in blocks[:count]], dtype=np.int64)
        got = yield interval, {dst: (r, np.concatenate(blocks[:count], axis=-1), sizes)}, {src: r}, work
        data, sizes = got[src]
        blocks.extend(np.split(data, np.cumsum(sizes)[:-1].tolist(), axis=-1))
    return blocks
