"""Direct channels between partitions, opened once at build time.

Each partition listens on one address of its worker's protocol (``tcp://`` or
``ucx://``: distributed's comm layer, which runs UCX through ucxx) and opens
one connection to every peer it sends to. A message is a small header (the
interval number, a tag such as the collective's round, the sender) and one
int64 array; it is read by a per-peer reader task into a queue, so a receive
is a queue get with a timeout.

Every receive checks that the message is for the interval and tag expected:
a late, early or duplicate message raises :class:`ExchangeError`, a closed
connection names the lost partition, and a silent peer raises after
``timeout`` seconds. Nothing here knows about neurons.
"""

from __future__ import annotations

import asyncio

import numpy as np

__all__ = ["Channels", "ExchangeError", "RECEIVE_TIMEOUT_S"]

#: default seconds a partition waits for one message before giving up
RECEIVE_TIMEOUT_S = 20.0


class ExchangeError(RuntimeError):
    """A message was lost, late, duplicated or for the wrong interval, or a peer is gone."""


class _Closed:
    """Queue sentinel: the connection from ``peer`` closed (``reason``)."""

    def __init__(self, reason: str):
        self.reason = reason


class Channels:
    """The channels of partition ``rank``: a listener and one outgoing comm per peer.

    Counters ``bytes_sent`` and ``messages_sent`` count payload bytes (the
    arrays, not the headers) and messages since the channels were opened.
    """

    def __init__(self, rank: int, timeout: float = RECEIVE_TIMEOUT_S):
        self.rank = rank
        self.timeout = float(timeout)
        self.bytes_sent = 0
        self.messages_sent = 0
        self._listener = None
        self._out: dict = {}
        self._queues: dict = {}
        self._readers: list = []
        self._comms_in: list = []

    def _queue(self, peer: int) -> asyncio.Queue:
        if peer not in self._queues:
            self._queues[peer] = asyncio.Queue()
        return self._queues[peer]

    async def listen(self, address: str) -> str:
        """Start listening on ``address`` (e.g. ``"tcp://10.0.0.1:0"``); returns the contact address."""
        from distributed.comm import listen

        self._listener = listen(address, self._accept, deserialize=True)
        await self._listener.start()
        return self._listener.contact_address

    async def _accept(self, comm) -> None:
        from distributed.comm.core import CommClosedError

        hello = await comm.read()
        peer = int(hello["from"])
        self._comms_in.append(comm)
        queue = self._queue(peer)
        try:
            while True:
                queue.put_nowait(await comm.read())
        except (CommClosedError, OSError) as exc:
            queue.put_nowait(_Closed(f"{type(exc).__name__}: {exc}"))
        except asyncio.CancelledError:
            queue.put_nowait(_Closed("channel closed"))
            raise

    async def connect(self, peers: dict) -> None:
        """Open one connection to each peer: ``{rank: contact address}``."""
        from distributed.comm import connect

        for peer, address in peers.items():
            if peer in self._out:
                continue
            comm = await connect(address, timeout=self.timeout)
            await comm.write({"from": self.rank})
            self._out[int(peer)] = comm

    async def send(self, peer: int, interval: int, tag: int, data: np.ndarray, extra=None) -> None:
        """Send ``data`` (an int64 array, any shape) to ``peer`` for ``interval`` and ``tag``."""
        from distributed.comm.core import CommClosedError
        from distributed.protocol import to_serialize

        msg = {"k": int(interval), "tag": int(tag), "from": self.rank, "data": to_serialize(data)}
        if extra is not None:
            msg["extra"] = to_serialize(extra)
        try:
            await self._out[peer].write(msg)
        except KeyError:
            raise ExchangeError(f"partition {self.rank} has no channel to partition {peer}") from None
        except (CommClosedError, OSError) as exc:
            raise ExchangeError(f"lost partition {peer}: sending to it failed ({exc})") from None
        self.bytes_sent += data.nbytes + (0 if extra is None else extra.nbytes)
        self.messages_sent += 1

    async def receive(self, peer: int, interval: int, tag: int):
        """The next message from ``peer``; it must be for ``interval`` and ``tag``.

        Returns ``(data, extra)``.
        """
        try:
            msg = await asyncio.wait_for(self._queue(peer).get(), self.timeout)
        except asyncio.TimeoutError:
            raise ExchangeError(
                f"partition {self.rank} received nothing from partition {peer} for interval {interval} "
                f"within {self.timeout:g} s (lost partition {peer}?)") from None
        if isinstance(msg, _Closed):
            self._queue(peer).put_nowait(msg)  # every later receive fails the same way
            raise ExchangeError(f"lost partition {peer}: its channel to partition {self.rank} closed "
                                f"({msg.reason})")
        if msg["k"] != interval or msg["tag"] != tag:
            raise ExchangeError(
                f"partition {self.rank} expected interval {interval} (tag {tag}) from partition {peer}, "
                f"got interval {msg['k']} (tag {msg['tag']}): a message was lost or duplicated")
        return msg["data"], msg.get("extra")

    async def close(self) -> None:
        for comm in list(self._out.values()) + self._comms_in:
            try:
                await comm.close()
            except Exception:
                comm.abort()
        self._out.clear()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
