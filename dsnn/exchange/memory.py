"""In-memory channels: mailboxes between the partitions of one process.

The in-process runner steps its partitions in threads of one process and
exchanges their spikes through a :class:`MemoryHub` with the same framing,
algorithms and checks as the channels between worker processes: a message
is the header and a copy of the data, delivered to the receiver's mailbox.
A partition's driver either blocks in :meth:`MemoryTransport.exchange` or,
driving several partitions in one thread, posts its messages
(:meth:`~MemoryTransport.post`), asks which have arrived
(:meth:`~MemoryTransport.ready`) and waits on the hub for any change
(:meth:`MemoryHub.wait`). A partition that fails or is stopped closes its
channels: whoever waits for it gets "lost partition", never a hang.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from .framing import ExchangeError, lost, silent

__all__ = ["MemoryHub", "MemoryTransport"]


class MemoryHub:
    """The mailboxes of ``n_partitions`` partitions of this process, one per (sender, receiver) pair."""

    def __init__(self, n_partitions: int):
        self.n_partitions = int(n_partitions)
        self.condition = threading.Condition()
        self._boxes: dict = {}
        self._closed: dict = {}  # rank -> why its channels closed

    def transport(self, rank: int, timeout: float) -> "MemoryTransport":
        return MemoryTransport(self, rank, timeout)

    def box(self, sender: int, receiver: int) -> deque:
        key = (sender, receiver)
        if key not in self._boxes:
            self._boxes[key] = deque()
        return self._boxes[key]

    def close(self, rank: int, reason: str) -> None:
        """Close partition ``rank``'s channels: its peers' receives from it fail from now on."""
        with self.condition:
            self._closed.setdefault(rank, reason)
            self.condition.notify_all()

    def closed(self, rank: int):
        """Why partition ``rank``'s channels closed, or None."""
        return self._closed.get(rank)

    def wait(self, timeout: float) -> bool:
        """Wait until any message arrives or any channel closes (call with :attr:`condition` held); False
        after ``timeout`` seconds of silence."""
        return self.condition.wait(timeout)


class MemoryTransport:
    """Partition ``rank``'s channels through ``hub``: every other partition of the hub is a peer."""

    def __init__(self, hub: MemoryHub, rank: int, timeout: float):
        self.hub, self.rank, self.timeout = hub, rank, timeout
        self.wait_s = 0.0

    def has_out(self, peer: int) -> bool:
        return 0 <= peer < self.hub.n_partitions and peer != self.rank

    def post(self, frames: dict) -> None:
        """Put each ``{peer: (head, parts)}`` message into the peer's mailbox (the data copied)."""
        if self.hub.closed(self.rank) is not None:
            raise ExchangeError(f"partition {self.rank}: its channels are closed ({self.hub.closed(self.rank)})")
        with self.hub.condition:
            for peer, (head, parts) in frames.items():
                body = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
                self.hub.box(self.rank, peer).append((head, body))
            self.hub.condition.notify_all()

    def ready(self, wanted) -> bool:
        """Whether a message from every peer in ``wanted`` has arrived (ExchangeError if one is lost)."""
        with self.hub.condition:
            return self._ready(wanted)

    def _ready(self, wanted) -> bool:
        for peer in wanted:
            if not self.hub.box(peer, self.rank):
                reason = self.hub.closed(peer)
                if reason is not None:
                    raise lost(self.rank, peer, reason)
                return False
        return True

    def take(self, wanted) -> dict:
        """The next message ``(head, body)`` from each peer in ``wanted`` (all must be :meth:`ready`)."""
        with self.hub.condition:
            return {peer: self.hub.box(peer, self.rank).popleft() for peer in wanted}

    def exchange(self, interval: int, frames: dict, wanted, overlap=None) -> dict:
        """Post ``frames``, run ``overlap()``, and wait for one message from each peer in ``wanted``."""
        self.post(frames)
        if overlap is not None:
            overlap()
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        with self.hub.condition:
            try:
                while not self._ready(wanted):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        late = next(q for q in wanted if not self.hub.box(q, self.rank))
                        raise silent(self.rank, late, interval, self.timeout)
                    self.hub.wait(remaining)
            finally:
                self.wait_s += time.perf_counter() - t0
            return {peer: self.hub.box(peer, self.rank).popleft() for peer in wanted}

    async def close(self) -> None:
        self.hub.close(self.rank, "channel closed")
