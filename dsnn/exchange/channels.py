"""Direct channels between partitions, opened once at build time.

Each partition listens on one address of its worker's protocol and opens one
connection to every peer it sends to. A message is a fixed 48-byte header
(the interval number, a tag such as the collective's round, the sender,
sizes) and the raw int64 array bytes, with no serialisation layer
(distributed's comms cost about 0.5 ms a message here).

The run loop calls :meth:`Channels.exchange` from the partition's own
thread, once per interval (once per round of the collective): it sends one
message to each of some peers and waits for one message from each of some
others, all at once, so two partitions that send each other large messages
never wait on each other. Two transports:

- ``tcp://``: plain non-blocking sockets driven by a selector in the calling
  thread itself. No event loop and no thread hand-off sits between two
  partitions: an exchange between two processes costs ~26 us here, against
  ~190 us through asyncio streams on the worker's event loop. The worker's
  event loop only accepts the connections at build time.
- ``ucx://``: ucxx endpoints, which live on the worker's event loop: the
  exchange is handed to the loop and the thread waits for it. A message is
  one tag-matched send received into a preallocated buffer (header and body
  together, up to :data:`UCX_INLINE_WORDS` words; longer bodies follow their
  header as a second send); a reader task per peer queues what arrives.
  Data in GPU memory (any array with ``__cuda_array_interface__``, e.g.
  CuPy) is sent as it is, GPU-direct, in a send of its own after the header
  (and the small host-side ``extra``); channels opened with ``device=True``
  receive data into GPU memory (CuPy), so spikes go from one partition's
  GPU to another's without staging through host memory.

Every receive checks that the message is for the interval and tag expected:
a late, early or duplicate message raises :class:`ExchangeError`, a closed
connection names the lost partition, and a silent peer raises after
``timeout`` seconds. Nothing here knows about neurons.
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import struct
import time

import numpy as np

__all__ = ["Channels", "ExchangeError", "RECEIVE_TIMEOUT_S", "UCX_INLINE_WORDS", "on_device"]

#: default seconds a partition waits for one message before giving up
RECEIVE_TIMEOUT_S = 20.0

#: over UCX, messages up to this many int64 words (header included) go as one send
UCX_INLINE_WORDS = 8192

#: header: interval, tag, sender, rows (0: 1-D), data items, extra items (-1: none), and whether the
#: data follows in a send of its own (ucx, data in GPU memory), as int64
_HEADER = struct.Struct("=7q")
_HEADER_WORDS = 7
_HEADER_BYTES = _HEADER.size

#: bytes a TCP channel reads from its socket at a time
_READ_CHUNK = 1 << 18


class ExchangeError(RuntimeError):
    """A message was lost, late, duplicated or for the wrong interval, or a peer is gone."""


def _lost(rank: int, peer: int, reason: str) -> ExchangeError:
    return ExchangeError(f"lost partition {peer}: its channel to partition {rank} closed ({reason})")


def _silent(rank: int, peer: int, interval: int, timeout: float) -> ExchangeError:
    return ExchangeError(f"partition {rank} received nothing from partition {peer} for interval {interval} "
                         f"within {timeout:g} s (lost partition {peer}?)")


def on_device(a) -> bool:
    """Whether array ``a`` lives in GPU memory."""
    return hasattr(a, "__cuda_array_interface__")


def _flat(a):
    """``a`` as a contiguous 1-D int64 array of its own array module (NumPy or CuPy)."""
    return a.astype(np.int64, copy=False).ravel()


def _frame(interval, tag, sender, data, extra, apart: bool = False):
    """(header, parts): the header as a tuple of ints and the data and extra arrays (contiguous int64).

    ``apart``: the data goes in a send of its own (``parts`` is then ``[data, extra]``, either
    possibly empty); otherwise ``parts`` holds the non-empty ones of data and extra.
    """
    n_data = 0 if data is None else data.size
    n_extra = -1 if extra is None else extra.size
    rows = data.shape[0] if data is not None and data.ndim == 2 else 0
    if apart:
        parts = [_flat(data), _flat(extra) if extra is not None else np.zeros(0, dtype=np.int64)]
    else:
        parts = [_flat(a) for a in (data, extra) if a is not None and a.size]
    return (interval, tag, sender, rows, n_data, n_extra, int(apart)), parts


def _body_words(head) -> int:
    return head[4] + max(head[5], 0)


def _message(head, body, extra=None) -> dict:
    """The message of a header and its body (data then extra) or, for data sent apart, its data ``body``
    and ``extra`` (inverse of :func:`_frame`)."""
    k, tag, sender, rows, n_data, n_extra, apart = head
    data = body[:n_data]
    if rows:
        data = data.reshape(rows, n_data // rows)
    if extra is None:
        extra = body[n_data:]
    return {"k": k, "tag": tag, "from": sender, "data": data, "extra": None if n_extra < 0 else extra}


def _split_address(address: str) -> tuple[str, str, int]:
    """(scheme, host without IPv6 brackets, port) of ``scheme://host:port``."""
    scheme, rest = address.split("://", 1)
    host, port = rest.rsplit(":", 1)
    return scheme, host.strip("[]"), int(port)


class _Transport:
    """What both transports share: counters, and waiting until the expected peers have connected."""

    def __init__(self, rank: int, timeout: float):
        self.rank, self.timeout = rank, timeout
        self.wait_s = 0.0
        self._connected: set = set()  # peers that opened their channel to us
        self._arrived = None  # asyncio.Event, set whenever a peer connects
        self._refused = None  # why the last incoming connection failed before it said who it was

    def _peer_connected(self, peer: int) -> None:
        self._connected.add(peer)
        self._arrived.set()

    async def wait_accepted(self, peers) -> None:
        deadline = time.monotonic() + self.timeout
        while missing := [q for q in peers if q not in self._connected]:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(deadline - time.monotonic(), 0.0))
            except asyncio.TimeoutError:
                why = f" (an incoming connection failed: {self._refused})" if self._refused else ""
                raise ExchangeError(f"partition {missing[0]} never connected to partition {self.rank} "
                                    f"within {self.timeout:g} s{why}") from None


# ---------------------------------------------------------------------- TCP
class _TcpTransport(_Transport):
    """Sockets of one partition: accepted on the event loop, then driven by a selector in the run thread.

    While waiting, it polls for ``spin_s`` seconds before it sleeps in the
    selector: a wake-up from sleep costs ~25 us per message here, half the
    exchange; spinning pays only where every partition has a core of its own.
    """

    def __init__(self, rank: int, timeout: float, spin_s: float = 0.0):
        super().__init__(rank, timeout)
        self.spin_s = spin_s
        self._selector = selectors.DefaultSelector()
        self._listener = None
        self._accepting = None
        self._in: dict = {}  # peer -> socket it sends to us on
        self._buffers: dict = {}  # peer -> bytes received and not yet taken
        self._closed: dict = {}  # peer -> why its channel closed
        self._out: dict = {}  # peer -> socket we send to it on
        self._chunk = bytearray(_READ_CHUNK)

    async def listen(self, host: str, port: int) -> int:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
        sock.setblocking(False)
        self._listener = sock
        self._arrived = asyncio.Event()
        self._accepting = asyncio.get_running_loop().create_task(self._accept_loop())
        return sock.getsockname()[1]

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(self._listener)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            hello = bytearray(_HEADER_BYTES)
            got = 0
            while got < _HEADER_BYTES:  # hello: who is at the other end
                n = await loop.sock_recv_into(conn, memoryview(hello)[got:])
                if n == 0:
                    break
                got += n
            if got < _HEADER_BYTES:
                conn.close()
                continue
            peer = int(np.frombuffer(hello, dtype=np.int64)[2])
            self._in[peer] = conn
            self._buffers[peer] = bytearray()
            self._selector.register(conn, selectors.EVENT_READ, ("r", peer))
            self._peer_connected(peer)

    async def connect(self, peer: int, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_sendall(sock, _HEADER.pack(*_frame(-1, -1, self.rank, None, None)[0]))
        except BaseException:
            sock.close()
            raise
        self._out[peer] = sock

    def has_out(self, peer: int) -> bool:
        return peer in self._out

    def exchange(self, interval: int, frames: dict, wanted, overlap=None) -> dict:
        """Send ``frames`` ({peer: (head, parts)}) and take one message ``(head, body)`` from each peer in
        ``wanted``; ``overlap()`` runs once the sends are under way, while the peers' messages travel."""
        pending = {}
        for peer, (head, parts) in frames.items():
            if any(on_device(a) for a in parts):
                parts = [a.get() if on_device(a) else a for a in parts]  # TCP moves host memory only
            view = memoryview(b"".join([_HEADER.pack(*head), *parts]) if parts else _HEADER.pack(*head))
            view = self._send_some(peer, view)
            if view:
                pending[peer] = view
                self._selector.register(self._out[peer], selectors.EVENT_WRITE, ("w", peer))
        if overlap is not None:
            overlap()
        got = {}
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                for peer in wanted:
                    if peer not in got and (msg := self._take(peer)) is not None:
                        got[peer] = msg
                if len(got) == len(wanted) and not pending:
                    return got
                for peer in wanted:
                    if peer not in got and peer in self._closed:
                        raise _lost(self.rank, peer, self._closed[peer])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    late = [q for q in wanted if q not in got]
                    if late:
                        raise _silent(self.rank, late[0], interval, self.timeout)
                    peer = next(iter(pending))
                    raise ExchangeError(f"partition {peer} took no data from partition {self.rank} for "
                                        f"{self.timeout:g} s (lost partition {peer}?)")
                t0 = time.perf_counter()
                events = self._selector.select(0)
                while not events and time.perf_counter() - t0 < self.spin_s:
                    events = self._selector.select(0)
                if not events:
                    events = self._selector.select(remaining)
                self.wait_s += time.perf_counter() - t0
                for key, _ in events:
                    kind, peer = key.data
                    if kind == "r":
                        self._read(peer, key.fileobj)
                    else:
                        pending[peer] = self._send_some(peer, pending[peer])
                        if not pending[peer]:
                            del pending[peer]
                            self._selector.unregister(key.fileobj)
        finally:
            for peer in pending:
                self._selector.unregister(self._out[peer])

    def _send_some(self, peer: int, view: memoryview) -> memoryview:
        """Send what the socket takes now; returns the rest."""
        try:
            while view:
                view = view[self._out[peer].send(view):]
        except BlockingIOError:
            pass
        except OSError as exc:
            raise ExchangeError(f"lost partition {peer}: sending to it failed ({type(exc).__name__}: {exc})") \
                from None
        return view

    def _read(self, peer: int, sock) -> None:
        try:
            n = sock.recv_into(self._chunk)
        except BlockingIOError:
            return
        except OSError as exc:
            n, reason = 0, f"{type(exc).__name__}: {exc}"
        else:
            reason = "connection closed by the peer"
        if n == 0:
            self._closed[peer] = reason
            self._selector.unregister(sock)
            return
        self._buffers[peer] += memoryview(self._chunk)[:n]

    def _take(self, peer: int):
        """The next whole message ``(head, body)`` received from ``peer``, or None."""
        buf = self._buffers.get(peer)
        if buf is None or len(buf) < _HEADER_BYTES:
            return None
        head = _HEADER.unpack_from(buf)
        end = _HEADER_BYTES + 8 * _body_words(head)
        if len(buf) < end:
            return None
        body = np.frombuffer(buf, dtype=np.int64, count=(end - _HEADER_BYTES) // 8, offset=_HEADER_BYTES).copy()
        del buf[:end]
        return head, body

    async def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            self._accepting = None
        for sock in list(self._in.values()) + list(self._out.values()):
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        self._in.clear()
        self._out.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._selector.close()


# ---------------------------------------------------------------------- UCX
class _Closed:
    """Queue sentinel: the connection from a peer closed (``reason``)."""

    def __init__(self, reason: str):
        self.reason = reason


class _UcxComm:
    """One direction of a ucxx channel (see the module docstring for the framing).

    ``device``: the array module of GPU memory (CuPy) for channels that receive data there, else None.
    """

    def __init__(self, endpoint, device=None):
        self.endpoint = endpoint
        self.device = device
        self._buffer = None

    async def write(self, head, parts) -> None:
        head = np.array(head, dtype=np.int64)
        if head[6]:  # data apart: [header | extra] inline, then the data as it is (GPU-direct)
            data, extra = parts
            if _HEADER_WORDS + extra.size <= UCX_INLINE_WORDS:
                await self.endpoint.send(np.concatenate([head, extra]))
            else:
                await self.endpoint.send(head)
                await self.endpoint.send(extra)
            if data.size:
                await self.endpoint.send(data)
        elif _HEADER_WORDS + sum(a.size for a in parts) <= UCX_INLINE_WORDS:
            await self.endpoint.send(np.concatenate([head, *parts]) if parts else head)
        else:
            await self.endpoint.send(head)
            await self.endpoint.send(np.concatenate(parts) if len(parts) > 1 else parts[0])

    async def read(self) -> tuple:
        """(header, body, extra) of the next message; extra is None unless the data came apart."""
        if self._buffer is None:
            self._buffer = np.empty(UCX_INLINE_WORDS, dtype=np.int64)
        await self.endpoint.recv(self._buffer)
        head = tuple(self._buffer[:_HEADER_WORDS].tolist())
        n_data, n_extra, apart = head[4], max(head[5], 0), head[6]
        if apart:
            if _HEADER_WORDS + n_extra <= UCX_INLINE_WORDS:
                extra = self._buffer[_HEADER_WORDS:_HEADER_WORDS + n_extra].copy()
            else:
                extra = np.empty(n_extra, dtype=np.int64)
                await self.endpoint.recv(extra)
            body = self._empty(n_data)
            if n_data:
                await self.endpoint.recv(body)
            return head, body, extra
        n = _body_words(head)
        if _HEADER_WORDS + n <= UCX_INLINE_WORDS:
            body = self._buffer[_HEADER_WORDS:_HEADER_WORDS + n].copy()
        else:
            body = np.empty(n, dtype=np.int64)
            await self.endpoint.recv(body)
        if self.device is not None:  # data from a host sender, to GPU memory all the same
            return head, self.device.asarray(body[:head[4]]), body[head[4]:]
        return head, body, None

    def _empty(self, n: int):
        return (np if self.device is None else self.device).empty(n, dtype=np.int64)

    async def close(self) -> None:
        try:
            await self.endpoint.close()
        except Exception:  # noqa: BLE001 - closing a broken endpoint: drop it hard
            self.endpoint.abort()


class _UcxTransport(_Transport):
    """ucxx endpoints on the worker's event loop; :meth:`exchange` hands each exchange to that loop."""

    def __init__(self, rank: int, timeout: float, spin_s: float = 0.0, device: bool = False):
        super().__init__(rank, timeout)  # no spin_s: ucxx's own progress mode decides about polling
        self._device = _cupy() if device else None
        self._loop = None
        self._listener = None
        self._out: dict = {}
        self._queues: dict = {}
        self._comms_in: list = []

    def _queue(self, peer: int) -> asyncio.Queue:
        if peer not in self._queues:
            self._queues[peer] = asyncio.Queue()
        return self._queues[peer]

    async def listen(self, host: str, port: int) -> int:
        import ucxx

        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        self._listener = ucxx.create_listener(self._serve, port or None)
        return self._listener.port

    async def _serve(self, endpoint) -> None:
        """Read one peer's messages into its queue until the channel closes (then queue a _Closed)."""
        comm = _UcxComm(endpoint, self._device)
        self._comms_in.append(comm)
        queue = None
        try:
            head, _, _ = await comm.read()  # hello: who is at the other end
            peer = int(head[2])
            queue = self._queue(peer)
            self._peer_connected(peer)
            while True:
                queue.put_nowait(await comm.read())
        except asyncio.CancelledError:  # the loop is shutting down: end quietly
            if queue is not None:
                queue.put_nowait(_Closed("channel closed"))
        except Exception as exc:  # noqa: BLE001 - ucxx reports a closed peer with its own errors
            if queue is not None:
                queue.put_nowait(_Closed(f"{type(exc).__name__}: {exc}"))
            else:
                self._refused = f"{type(exc).__name__}: {exc}"

    async def connect(self, peer: int, host: str, port: int) -> None:
        import ucxx

        self._loop = asyncio.get_running_loop()
        endpoint = await asyncio.wait_for(ucxx.create_endpoint(host, port), self.timeout)
        comm = _UcxComm(endpoint)
        await comm.write(*_frame(-1, -1, self.rank, None, None))
        self._out[peer] = comm

    def has_out(self, peer: int) -> bool:
        return peer in self._out

    def exchange(self, interval: int, frames: dict, wanted, overlap=None) -> dict:
        if overlap is not None:
            overlap()  # the sends go from the event loop: nothing to overlap with in this thread
        if self._loop is None or self._loop.is_closed():
            raise ExchangeError(f"partition {self.rank}: its channels are closed")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("Channels.exchange blocks: call it from the partition's thread, not the event loop")
        return asyncio.run_coroutine_threadsafe(self.exchange_async(interval, frames, wanted), self._loop).result()

    async def exchange_async(self, interval: int, frames: dict, wanted) -> dict:
        t0 = time.perf_counter()
        try:
            for peer, (head, parts) in frames.items():  # the peers' reader tasks always have a receive posted
                write = self._out[peer].write(head, parts)
                try:
                    if not head[6] and sum(a.size for a in parts) + _HEADER_WORDS <= UCX_INLINE_WORDS:
                        await write  # small host message: eager, completes locally
                    else:  # rendezvous: waits for the peer
                        await asyncio.wait_for(write, self.timeout)
                except asyncio.TimeoutError:
                    raise ExchangeError(f"partition {peer} took no data from partition {self.rank} for "
                                        f"{self.timeout:g} s (lost partition {peer}?)") from None
                except Exception as exc:  # noqa: BLE001 - any transport failure means the peer is gone
                    raise ExchangeError(f"lost partition {peer}: sending to it failed "
                                        f"({type(exc).__name__}: {exc})") from None
            got = {}
            for peer in wanted:
                queue = self._queue(peer)
                if queue.empty():
                    try:
                        msg = await asyncio.wait_for(queue.get(), self.timeout)
                    except asyncio.TimeoutError:
                        raise _silent(self.rank, peer, interval, self.timeout) from None
                else:
                    msg = queue.get_nowait()
                if isinstance(msg, _Closed):
                    queue.put_nowait(msg)  # every later receive fails the same way
                    raise _lost(self.rank, peer, msg.reason)
                got[peer] = msg
            return got
        finally:
            self.wait_s += time.perf_counter() - t0  # all of it: the loop is free meanwhile

    async def close(self) -> None:
        for comm in list(self._out.values()) + self._comms_in:
            await comm.close()
        self._out.clear()
        self._comms_in.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def _cupy():
    """CuPy, the array module of GPU memory (imported only for channels that receive there)."""
    import cupy

    return cupy


# ------------------------------------------------------------------ channels
class Channels:
    """The channels of partition ``rank``: a listener and one outgoing connection per peer.

    Counters ``bytes_sent`` and ``messages_sent`` count payload bytes (the
    arrays, not the headers) and messages since the channels were opened;
    ``wait_s`` is the time spent blocked waiting for peers; ``device_bytes_sent``
    the payload bytes sent straight from GPU memory. ``spin_s``: seconds a
    TCP receive polls before it sleeps (0 where partitions share cores, see
    :class:`_TcpTransport`). ``device``: receive data into GPU memory (CuPy)
    where the transport can (ucx; see :attr:`device_buffers`).
    """

    def __init__(self, rank: int, timeout: float = RECEIVE_TIMEOUT_S, spin_s: float = 0.0, device: bool = False):
        self.rank = rank
        self.timeout = float(timeout)
        self.spin_s = float(spin_s)
        self.device = bool(device)
        self.bytes_sent = 0
        self.device_bytes_sent = 0
        self.messages_sent = 0
        self._transport = None

    @property
    def wait_s(self) -> float:
        return 0.0 if self._transport is None else self._transport.wait_s

    @property
    def wire_bytes_sent(self) -> int:
        """Payload and header bytes of the messages sent (what crossed the wire, less the transport's own
        framing)."""
        return self.bytes_sent + self.messages_sent * _HEADER_BYTES

    async def listen(self, address: str) -> str:
        """Start listening on ``address`` (e.g. ``"tcp://10.0.0.1:0"``); returns the contact address."""
        scheme, host, port = _split_address(address)
        bound = await self._transport_for(scheme, address).listen(host, port)
        return f"{address.rsplit(':', 1)[0]}:{bound}"

    def _transport_for(self, scheme: str, address: str):
        kinds = {"tcp": _TcpTransport, "ucx": _UcxTransport, "ucxx": _UcxTransport}
        if scheme not in kinds:
            raise ValueError(f"dsnn channels support tcp:// and ucx:// addresses, got {address!r}")
        if self._transport is None:
            if kinds[scheme] is _UcxTransport:
                self._transport = _UcxTransport(self.rank, self.timeout, device=self.device)
            else:
                self._transport = _TcpTransport(self.rank, self.timeout, self.spin_s)
        elif not isinstance(self._transport, kinds[scheme]):
            raise ValueError(f"partition {self.rank} has {type(self._transport).__name__} channels, "
                             f"cannot add {address!r}")
        return self._transport

    async def connect(self, peers: dict) -> None:
        """Open one connection to each peer: ``{rank: contact address}``."""
        for peer, address in peers.items():
            scheme, host, port = _split_address(address)
            transport = self._transport_for(scheme, address)
            if not transport.has_out(int(peer)):
                await transport.connect(int(peer), host, port)

    async def wait_accepted(self, peers) -> None:
        """Wait until every peer in ``peers`` has connected to this partition (ExchangeError after timeout)."""
        await self._transport.wait_accepted(list(peers))

    @property
    def on_loop(self) -> bool:
        """Whether the transport lives on the event loop (ucx: use :meth:`exchange_async` there) rather
        than in the calling thread (tcp: use :meth:`exchange` from the partition's thread)."""
        return isinstance(self._transport, _UcxTransport)

    @property
    def device_buffers(self) -> bool:
        """Whether data in GPU memory travels GPU-direct and arrives in GPU memory (``device`` channels
        over ucx); over tcp, GPU data is staged through host memory and arrives there."""
        return self.device and self.on_loop

    def exchange(self, interval: int, sends: dict, receives: dict, overlap=None) -> dict:
        """One step of an exchange, blocking: send and receive at once.

        ``sends`` maps a peer to ``(tag, data, extra)`` (int64 arrays, any
        shape; ``extra`` may be None); ``receives`` maps a peer to the tag
        expected from it. Returns ``{peer: (data, extra)}`` for the peers of
        ``receives``; every message must be for ``interval`` and its tag.
        ``overlap()``, if given, is work that runs while the messages travel
        (over tcp once the sends are under way; over ucx before them).
        Call it from a thread, never from the event loop.
        """
        frames = self._frames(interval, sends)
        got = self._transport.exchange(interval, frames, list(receives), overlap)
        return self._received(interval, sends, receives, got)

    async def exchange_async(self, interval: int, sends: dict, receives: dict) -> dict:
        """:meth:`exchange` as a coroutine of the event loop the channels were opened on."""
        frames = self._frames(interval, sends)
        if self.on_loop:
            got = await self._transport.exchange_async(interval, frames, list(receives))
        else:
            got = await asyncio.to_thread(self._transport.exchange, interval, frames, list(receives))
        return self._received(interval, sends, receives, got)

    def _frames(self, interval: int, sends: dict) -> dict:
        if self._transport is None:
            raise ExchangeError(f"partition {self.rank} has no channels open")
        for peer in sends:
            if not self._transport.has_out(peer):
                raise ExchangeError(f"partition {self.rank} has no channel to partition {peer}")
        apart = self.on_loop  # over ucx, data in GPU memory goes as it is, in a send of its own
        frames = {q: _frame(interval, tag, self.rank, data, extra, apart and on_device(data) and data.size > 0)
                  for q, (tag, data, extra) in sends.items()}
        if any(head[6] for head, _ in frames.values()):
            # the kernels that made the data run asynchronously on CuPy's stream; UCX copies on its own
            _cupy().cuda.get_current_stream().synchronize()
        return frames

    def _received(self, interval: int, sends: dict, receives: dict, got: dict) -> dict:
        """Count what went out; check and unpack what came in."""
        for _, (_, data, extra) in sends.items():
            self.bytes_sent += data.nbytes + (0 if extra is None else extra.nbytes)
            if self.on_loop and on_device(data):
                self.device_bytes_sent += data.nbytes
            self.messages_sent += 1
        out = {}
        for peer, tag in receives.items():
            msg = _message(*got[peer])
            if msg["k"] != interval or msg["tag"] != tag:
                raise ExchangeError(
                    f"partition {self.rank} expected interval {interval} (tag {tag}) from partition {peer}, "
                    f"got interval {msg['k']} (tag {msg['tag']}): a message was lost or duplicated")
            out[peer] = (msg["data"], msg["extra"])
        return out

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
