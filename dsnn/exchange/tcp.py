"""TCP channels: plain non-blocking sockets driven by a selector in the partition's own thread.

No event loop and no thread hand-off sits between two partitions: an
exchange between two processes costs ~26 us here, against ~190 us through
asyncio streams on the worker's event loop. The worker's event loop only
accepts the connections at build time. Data in GPU memory is staged
through host memory (use ucx for GPU-direct transfers).

With ``tls`` (the cluster's server and client ``ssl.SSLContext``: a TLS
cluster's ``Security``), the same sockets carry TLS: the handshake and the
hello are done blocking, off the event loop, at build time; then the
sockets go non-blocking like plain ones, a read taking every record the
TLS layer holds.
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import ssl
import time

import numpy as np

from .framing import (
    HEADER,
    HEADER_BYTES,
    SECRET_BYTES,
    ExchangeError,
    Transport,
    body_words,
    hello,
    hello_peer,
    lost,
    on_device,
    silent,
)

__all__ = ["TcpTransport"]

#: bytes a TCP channel reads from its socket at a time
READ_CHUNK = 1 << 18


class TcpTransport(Transport):
    """Sockets of one partition: accepted on the event loop, then driven by a selector in the run thread.

    While waiting, it polls for ``spin_s`` seconds before it sleeps in the
    selector: a wake-up from sleep costs ~25 us per message here, half the
    exchange; spinning pays only where every partition has a core of its own.
    """

    def __init__(self, rank: int, timeout: float, spin_s: float = 0.0, secret: bytes = b"", tls=None):
        super().__init__(rank, timeout, secret)
        self._tls = tls  # (server SSLContext, client SSLContext) or None
        self.spin_s = spin_s
        self._selector = selectors.DefaultSelector()
        self._listener = None
        self._accepting = None
        self._in: dict = {}  # peer -> socket it sends to us on
        self._buffers: dict = {}  # peer -> bytes received and not yet taken
        self._closed: dict = {}  # peer -> why its channel closed
        self._out: dict = {}  # peer -> socket we send to it on
        self._chunk = bytearray(READ_CHUNK)

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
            loop.create_task(self._greet(conn))  # one at a time would let a silent stranger hold up the rest

    async def _greet(self, conn) -> None:
        """Keep ``conn`` as a peer's channel if it opens with a hello of this build within the timeout
        (:func:`~.framing.hello_peer`; over TLS after the handshake), from a peer not connected yet; else
        close it, changing nothing."""
        loop = asyncio.get_running_loop()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self._tls is None:
                peer = await asyncio.wait_for(self._hello_plain(conn), self.timeout)
            else:
                conn = await loop.run_in_executor(None, self._hello_tls, conn)
                peer = None if conn is None else conn.dsnn_peer
        except (OSError, asyncio.TimeoutError):
            peer = None
        if peer is None or peer in self._in:
            if conn is not None:
                conn.close()
            return
        conn.setblocking(False)
        self._in[peer] = conn
        self._buffers[peer] = bytearray()
        self._selector.register(conn, selectors.EVENT_READ, ("r", peer))
        self._peer_connected(peer)

    def _hello_of(self, read) -> int | None:
        """The peer a hello read with ``read(n) -> bytes or None`` introduces, or None (a header that
        announces more than a secret is refused before its body is read)."""
        head = read(HEADER_BYTES)
        if head is None:
            return None
        head = HEADER.unpack(head)
        n_extra = max(head[5], 0)
        if n_extra > SECRET_BYTES // 8:
            return None
        body = read(8 * n_extra) if n_extra else b""
        if body is None:
            return None
        return hello_peer(head, np.frombuffer(body, dtype=np.int64) if n_extra else None, self.secret)

    async def _hello_plain(self, conn):
        """The peer a plain connection's hello introduces, or None: the hello is read on the event loop
        (its two reads are small), then decoded by :meth:`_hello_of`."""
        loop = asyncio.get_running_loop()

        async def fill(n):
            buf, k = bytearray(n), 0
            while k < n:
                m = await loop.sock_recv_into(conn, memoryview(buf)[k:])
                if m == 0:
                    return None
                k += m
            return bytes(buf)

        head = await fill(HEADER_BYTES)
        if head is None:
            return None
        n_extra = max(HEADER.unpack(head)[5], 0)
        body = await fill(8 * n_extra) if 0 < n_extra <= SECRET_BYTES // 8 else b""
        parts = iter([head, body])  # what _hello_of will ask for, in its order
        return self._hello_of(lambda n: next(parts, None))

    def _hello_tls(self, conn):
        """(In a thread.) The TLS handshake as the server and the hello, blocking with the timeout: the
        wrapped socket with ``dsnn_peer`` set, or None."""
        conn.setblocking(True)
        conn.settimeout(self.timeout)
        try:
            tls = self._tls[0].wrap_socket(conn, server_side=True)
        except (OSError, ValueError):
            conn.close()
            return None

        def read(n):
            buf = bytearray()
            while len(buf) < n:
                part = tls.recv(n - len(buf))
                if not part:
                    return None
                buf += part
            return bytes(buf)

        try:
            peer = self._hello_of(read)
        except (OSError, ValueError):
            peer = None
        if peer is None:
            tls.close()
            return None
        tls.dsnn_peer = peer
        return tls

    async def connect(self, peer: int, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        head, parts = hello(self.rank, self.secret)
        greeting = b"".join([HEADER.pack(*head), *(bytes(a) for a in parts)])
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is None:
                await loop.sock_sendall(sock, greeting)
            else:
                sock = await loop.run_in_executor(None, self._connect_tls, sock, host, greeting)
        except BaseException:
            sock.close()
            raise
        self._out[peer] = sock

    def _connect_tls(self, sock, host: str, greeting: bytes):
        """(In a thread.) The TLS handshake as the client and the hello, blocking with the timeout; returns
        the wrapped socket, non-blocking."""
        sock.setblocking(True)
        sock.settimeout(self.timeout)
        tls = self._tls[1].wrap_socket(sock, server_hostname=host if self._tls[1].check_hostname else None)
        tls.sendall(greeting)
        tls.setblocking(False)
        return tls

    def has_out(self, peer: int) -> bool:
        return peer in self._out

    def exchange(self, interval: int, frames: dict, wanted, overlap=None) -> dict:
        """Send ``frames`` ({peer: (head, parts)}) and take one message ``(head, body)`` from each peer in
        ``wanted``; ``overlap()`` runs once the sends are under way, while the peers' messages travel."""
        pending = {}
        for peer, (head, parts) in frames.items():
            if any(on_device(a) for a in parts):
                parts = [a.get() if on_device(a) else a for a in parts]  # TCP moves host memory only
            view = memoryview(b"".join([HEADER.pack(*head), *parts]) if parts else HEADER.pack(*head))
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
                        raise lost(self.rank, peer, self._closed[peer])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    late = [q for q in wanted if q not in got]
                    if late:
                        raise silent(self.rank, late[0], interval, self.timeout)
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
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
        except OSError as exc:
            raise ExchangeError(f"lost partition {peer}: sending to it failed ({type(exc).__name__}: {exc})") \
                from None
        return view

    def _read(self, peer: int, sock) -> None:
        """Take what ``sock`` has; over TLS, every record the TLS layer can decrypt now (the selector sees
        only the socket, not what TLS already pulled from it)."""
        while True:
            try:
                n = sock.recv_into(self._chunk)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
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
            if self._tls is None:
                return

    def _take(self, peer: int):
        """The next whole message ``(head, body)`` received from ``peer``, or None."""
        buf = self._buffers.get(peer)
        if buf is None or len(buf) < HEADER_BYTES:
            return None
        head = HEADER.unpack_from(buf)
        end = HEADER_BYTES + 8 * body_words(head)
        if len(buf) < end:
            return None
        body = np.frombuffer(buf, dtype=np.int64, count=(end - HEADER_BYTES) // 8, offset=HEADER_BYTES).copy()
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
