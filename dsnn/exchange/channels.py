"""Direct channels between partitions, opened once at build time.

Each partition listens on one address of its worker's protocol and opens one
connection to every peer it sends to. A message is a fixed 48-byte header
(the interval number, a tag such as the collective's round, the sender,
sizes) and the raw int64 array bytes, with no serialisation layer
(distributed's comms cost about 0.5 ms a message here):

- over ``tcp://`` a channel is a plain asyncio stream;
- over ``ucx://`` it is a ucxx endpoint: one tag-matched send received into
  a preallocated buffer (header and body together, up to 64 KiB; larger
  bodies follow their header as a second send).

A per-peer reader task puts messages into a queue, so a receive is a queue
get with a timeout.

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

#: over UCX, messages up to this many int64 words (header included) go as one send
UCX_INLINE_WORDS = 8192


class ExchangeError(RuntimeError):
    """A message was lost, late, duplicated or for the wrong interval, or a peer is gone."""


class _Closed:
    """Queue sentinel: the connection from ``peer`` closed (``reason``)."""

    def __init__(self, reason: str):
        self.reason = reason


#: header: interval, tag, sender, rows (0: 1-D), data items, extra items (-1: none), as int64
_HEADER_BYTES = 6 * 8


class _StreamComm:
    """One direction of a raw TCP channel (asyncio streams)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def write_arrays(self, interval, tag, sender, data, extra) -> None:
        head, body = _frame(interval, tag, sender, data, extra)
        self.writer.write(head.tobytes() + body.tobytes() if body.size else head.tobytes())
        await self.writer.drain()

    async def read_message(self) -> tuple:
        """(header, body) of the next message."""
        head = np.frombuffer(await self.reader.readexactly(_HEADER_BYTES), dtype=np.int64)
        size = 8 * (int(head[4]) + max(int(head[5]), 0))
        return head, np.frombuffer(await self.reader.readexactly(size), dtype=np.int64).copy()  # writable

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    def abort(self) -> None:
        self.writer.transport.abort()


def _frame(interval, tag, sender, data, extra):
    """(header, body): the int64 header and the data and extra arrays end to end."""
    n_data = 0 if data is None else data.size
    n_extra = -1 if extra is None else extra.size
    rows = data.shape[0] if data is not None and data.ndim == 2 else 0
    head = np.array([interval, tag, sender, rows, n_data, n_extra], dtype=np.int64)
    parts = [np.ravel(a).astype(np.int64, copy=False) for a in (data, extra) if a is not None and a.size]
    body = np.concatenate(parts) if len(parts) > 1 else (parts[0] if parts else np.zeros(0, dtype=np.int64))
    return head, np.ascontiguousarray(body)


def _message(head, body) -> dict:
    """The message of a header and its body (inverse of :func:`_frame`)."""
    k, tag, sender, rows, n_data, n_extra = (int(x) for x in head)
    data = body[:n_data]
    if rows:
        data = data.reshape(rows, n_data // rows)
    return {"k": k, "tag": tag, "from": sender, "data": data, "extra": None if n_extra < 0 else body[n_data:]}


class _UcxComm:
    """One direction of a ucxx channel.

    A message whose header and body fit in :data:`UCX_INLINE_WORDS` int64
    words is one tag-matched send, received into a preallocated buffer of
    that size (UCX accepts a shorter message than the buffer); a longer one
    is the header alone, then the body.
    """

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self._buffer = None

    async def write_arrays(self, interval, tag, sender, data, extra) -> None:
        head, body = _frame(interval, tag, sender, data, extra)
        if head.size + body.size <= UCX_INLINE_WORDS:
            await self.endpoint.send(np.concatenate([head, body]) if body.size else head)
        else:
            await self.endpoint.send(head)
            await self.endpoint.send(body)

    async def read_message(self) -> tuple:
        """(header, body) of the next message."""
        if self._buffer is None:
            self._buffer = np.empty(UCX_INLINE_WORDS, dtype=np.int64)
        await self.endpoint.recv(self._buffer)
        head = self._buffer[:6].copy()
        n = int(head[4]) + max(int(head[5]), 0)
        if 6 + n <= UCX_INLINE_WORDS:
            return head, self._buffer[6:6 + n].copy()
        body = np.empty(n, dtype=np.int64)
        await self.endpoint.recv(body)
        return head, body

    async def close(self) -> None:
        await self.endpoint.close()

    def abort(self) -> None:
        self.endpoint.abort()


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
        if scheme in ("ucx", "ucxx"):
            import ucxx

            host = rest.rsplit(":", 1)[0]
            self._listener = ucxx.create_listener(self._accept_ucx)
            return f"{scheme}://{host}:{self._listener.port}"
        raise ValueError(f"dsnn channels support tcp:// and ucx:// addresses, got {address!r}")

    async def _accept_ucx(self, endpoint) -> None:
        await self._serve(_UcxComm(endpoint))

    async def _accept_stream(self, reader, writer) -> None:
        await self._serve(_StreamComm(reader, writer))

    async def _serve(self, comm) -> None:
        """Read one peer's messages into its queue until the channel closes (then queue a _Closed)."""
        self._comms_in.append(comm)
        queue = None
        try:
            head, _ = await comm.read_message()  # hello: who is at the other end
            queue = self._queue(int(head[2]))
            while True:
                queue.put_nowait(_message(*await comm.read_message()))
        except asyncio.CancelledError:  # the loop is shutting down: end quietly
            if queue is not None:
                queue.put_nowait(_Closed("channel closed"))
        except Exception as exc:  # noqa: BLE001 - asyncio and ucxx report a closed peer with their own errors
            if queue is not None:
                queue.put_nowait(_Closed(f"{type(exc).__name__}: {exc}"))

    async def connect(self, peers: dict) -> None:
        """Open one connection to each peer: ``{rank: contact address}``."""
        for peer, address in peers.items():
            if peer in self._out:
                continue
            scheme, rest = address.split("://", 1)
            if scheme == "tcp":
                host, port = rest.rsplit(":", 1)
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host.strip("[]"), int(port)), self.timeout)
                comm = _StreamComm(reader, writer)
            else:
                import ucxx

                host, port = rest.rsplit(":", 1)
                endpoint = await asyncio.wait_for(ucxx.create_endpoint(host.strip("[]"), int(port)),
                                                  self.timeout)
                comm = _UcxComm(endpoint)
            await comm.write_arrays(-1, -1, self.rank, None, None)
            self._out[int(peer)] = comm

    async def send(self, peer: int, interval: int, tag: int, data: np.ndarray, extra=None) -> None:
        """Send ``data`` (an int64 array, any shape) to ``peer`` for ``interval`` and ``tag``."""
        comm = self._out.get(peer)
        if comm is None:
            raise ExchangeError(f"partition {self.rank} has no channel to partition {peer}")
        try:
            await comm.write_arrays(interval, tag, self.rank, data, extra)
        except Exception as exc:  # noqa: BLE001 - any transport failure means the peer is gone
            raise ExchangeError(f"lost partition {peer}: sending to it failed "
                                f"({type(exc).__name__}: {exc})") from None
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
            except Exception:  # noqa: BLE001 - closing a broken channel: drop it hard
                comm.abort()
        self._out.clear()
        self._comms_in.clear()
        if self._listener is not None:
            self._listener.close()  # an asyncio server or a ucxx listener
            self._listener = None
