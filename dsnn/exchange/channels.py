"""Direct channels between partitions, opened once at build time.

Each partition listens on one address of its worker's protocol and opens one
connection to every peer it sends to. Over ``tcp://`` a channel is a plain
asyncio stream with a fixed 48-byte header and the raw array bytes (no
serialisation layer: distributed's comms cost about 0.5 ms a message here);
over other protocols (``ucx://``) it is distributed's comm layer, which runs
UCX through ucxx. A message is the header (the interval number, a tag such as
the collective's round, the sender, sizes) and int64 arrays; a per-peer
reader task puts messages into a queue, so a receive is a queue get with a
timeout.

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


_HEADER = np.zeros(6, dtype=np.int64)  # interval, tag, sender, rows (0: 1-D), data items, extra items (-1: none)


class _StreamComm:
    """One direction of a raw TCP channel (asyncio streams)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def write_arrays(self, interval, tag, sender, data, extra) -> None:
        n_data = 0 if data is None else data.size
        n_extra = -1 if extra is None else extra.size
        rows = data.shape[0] if data is not None and data.ndim == 2 else 0
        head = np.array([interval, tag, sender, rows, n_data, n_extra], dtype=np.int64)
        parts = [head.tobytes()]
        for a in (data, extra):
            if a is not None and a.size:
                parts.append(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        self.writer.write(b"".join(parts))
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    def abort(self) -> None:
        self.writer.transport.abort()


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
        scheme, rest = address.split("://", 1)
        if scheme == "tcp":
            host, port = rest.rsplit(":", 1)
            self._listener = await asyncio.start_server(self._accept_stream, host.strip("[]"), int(port))
            bound = self._listener.sockets[0].getsockname()
            return f"tcp://{rest.rsplit(':', 1)[0]}:{bound[1]}"
        from distributed.comm import listen

        self._listener = listen(address, self._accept, deserialize=True)
        await self._listener.start()
        return self._listener.contact_address

    async def _accept_stream(self, reader, writer) -> None:
        self._comms_in.append(_StreamComm(reader, writer))
        queue = None
        try:
            head = np.frombuffer(await reader.readexactly(_HEADER.nbytes), dtype=np.int64)
            queue = self._queue(int(head[2]))
            while True:
                head = np.frombuffer(await reader.readexactly(_HEADER.nbytes), dtype=np.int64)
                k, tag, sender, rows, n_data, n_extra = (int(x) for x in head)
                size = 8 * (n_data + max(n_extra, 0))
                body = np.frombuffer(await reader.readexactly(size), dtype=np.int64).copy()  # writable
                data = body[:n_data]
                if rows:
                    data = data.reshape(rows, n_data // rows)
                extra = None if n_extra < 0 else body[n_data:]
                queue.put_nowait({"k": k, "tag": tag, "from": sender, "data": data, "extra": extra})
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            if queue is not None:
                queue.put_nowait(_Closed(f"{type(exc).__name__}: {exc}"))
        except asyncio.CancelledError:
            if queue is not None:
                queue.put_nowait(_Closed("channel closed"))
            raise

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
            scheme, rest = address.split("://", 1)
            if scheme == "tcp":
                host, port = rest.rsplit(":", 1)
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host.strip("[]"), int(port)), self.timeout)
                comm = _StreamComm(reader, writer)
                await comm.write_arrays(-1, -1, self.rank, None, None)
            else:
                comm = await connect(address, timeout=self.timeout)
                await comm.write({"from": self.rank})
            self._out[int(peer)] = comm

    async def send(self, peer: int, interval: int, tag: int, data: np.ndarray, extra=None) -> None:
        """Send ``data`` (an int64 array, any shape) to ``peer`` for ``interval`` and ``tag``."""
        from distributed.comm.core import CommClosedError
        from distributed.protocol import to_serialize

        try:
            comm = self._out[peer]
            if isinstance(comm, _StreamComm):
                await comm.write_arrays(interval, tag, self.rank, data, extra)
            else:
                msg = {"k": int(interval), "tag": int(tag), "from": self.rank, "data": to_serialize(data)}
                if extra is not None:
                    msg["extra"] = to_serialize(extra)
                await comm.write(msg)
        except KeyError:
            raise ExchangeError(f"partition {self.rank} has no channel to partition {peer}") from None
        except (CommClosedError, ConnectionError, OSError) as exc:
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
            if isinstance(self._listener, asyncio.AbstractServer):
                self._listener.close()
            else:
                self._listener.stop()
            self._listener = None
