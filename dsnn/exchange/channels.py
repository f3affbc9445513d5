"""Direct channels between partitions, opened once at build time, used once per interval.

:class:`Channels` is what a partition's loop talks to, whatever carries the
messages (see :mod:`.framing` for the messages themselves):

- ``tcp://`` (:mod:`.tcp`): non-blocking sockets driven by the partition's
  own thread;
- ``shm://`` (:mod:`.shm`): buffers in shared memory between the
  processes of one host, driven by the partition's own thread;
- ``ucx://`` (:mod:`.ucx`): ucxx endpoints on the worker's event loop, GPU
  memory sent as it is;
- ``mpi://`` (:mod:`.mpi`): MPI point-to-point messages between workers
  that are MPI ranks (dask-mpi), driven by the partition's own thread;
- in memory (:mod:`.memory`): mailboxes between the partitions of one
  process (the in-process runner).

The loop calls :meth:`Channels.exchange` once per interval (once per round
of the collective): it sends one message to each of some peers and waits
for one message from each of some others, all at once, so two partitions
that send each other large messages never wait on each other. Every
receive checks that the message is for the interval and tag expected: a
late, early or duplicate message raises :class:`ExchangeError`, a closed
channel names the lost partition, and a silent peer raises after
``timeout`` seconds. Nothing here knows about neurons.
"""

from __future__ import annotations

import asyncio

from .framing import HEADER_BYTES, ExchangeError, frame, message, on_device, split_address, unexpected
from .memory import MemoryHub
from .mpi import MpiTransport
from .shm import ShmTransport
from .tcp import TcpTransport
from .ucx import UcxTransport

__all__ = ["Channels", "ExchangeError", "RECEIVE_TIMEOUT_S"]

#: default seconds a partition waits for one message before giving up
RECEIVE_TIMEOUT_S = 20.0


class Channels:
    """The channels of partition ``rank``: a listener and one outgoing connection per peer.

    Counters ``bytes_sent`` and ``messages_sent`` count payload bytes (the
    arrays, not the headers) and messages since the channels were opened;
    ``wait_s`` is the time spent blocked waiting for peers; ``device_bytes_sent``
    the payload bytes sent straight from GPU memory. ``spin_s``: seconds a
    TCP receive polls before it sleeps (0 where partitions share cores, see
    :class:`~.tcp.TcpTransport`). ``device``: receive data into GPU memory
    (CuPy) where the transport can (ucx; see :attr:`device_buffers`).
    ``secret``: bytes every incoming tcp or ucx connection must present in its
    hello, else it is dropped without a trace (a build makes one and hands it
    to its partitions through Dask); shm channels are files only this user
    can map, mpi ones join only the launch's ranks. ``tls``: the cluster's
    (server, client) ``ssl.SSLContext`` for ``tls://`` channels (TCP with TLS).
    """

    def __init__(self, rank: int, timeout: float = RECEIVE_TIMEOUT_S, spin_s: float = 0.0, device: bool = False,
                 secret: bytes = b"", tls=None):
        self.rank = rank
        self.secret = bytes(secret)
        self.tls = tls  # (server, client) ssl.SSLContext for tls:// channels
        self.timeout = float(timeout)
        self.spin_s = float(spin_s)
        self.device = bool(device)
        self.bytes_sent = 0
        self.device_bytes_sent = 0
        self.messages_sent = 0
        self._transport = None

    @classmethod
    def in_memory(cls, hub: MemoryHub, rank: int, timeout: float = RECEIVE_TIMEOUT_S) -> "Channels":
        """Partition ``rank``'s channels to the other partitions of ``hub`` (all in this process)."""
        channels = cls(rank, timeout)
        channels._transport = hub.transport(rank, channels.timeout)
        return channels

    @property
    def wait_s(self) -> float:
        return 0.0 if self._transport is None else self._transport.wait_s

    @property
    def wire_bytes_sent(self) -> int:
        """Payload and header bytes of the messages sent (what crossed the wire, less the transport's own
        framing)."""
        return self.bytes_sent + self.messages_sent * HEADER_BYTES

    async def listen(self, address: str) -> str:
        """Start listening on ``address`` (e.g. ``"tcp://10.0.0.1:0"``, ``"shm://10.0.0.1:0"``); returns the
        contact address."""
        scheme, host, port = split_address(address)
        bound = await self._transport_for(scheme, address).listen(host, port)
        return f"{address.rsplit(':', 1)[0]}:{bound}"

    def _transport_for(self, scheme: str, address: str):
        kinds = {"tcp": TcpTransport, "tls": TcpTransport, "shm": ShmTransport, "ucx": UcxTransport,
                 "ucxx": UcxTransport, "mpi": MpiTransport}
        if scheme not in kinds:
            raise ValueError(f"dsnn channels support tcp://, tls://, shm://, ucx:// and mpi:// addresses, got "
                             f"{address!r}")
        if scheme == "tls" and self.tls is None:
            raise ValueError(f"tls:// channels need the cluster's TLS contexts (Channels(tls=...)), got {address!r}")
        if self._transport is None:
            if kinds[scheme] is UcxTransport:
                self._transport = UcxTransport(self.rank, self.timeout, device=self.device, secret=self.secret)
            elif kinds[scheme] is TcpTransport:
                self._transport = TcpTransport(self.rank, self.timeout, self.spin_s, secret=self.secret,
                                               tls=self.tls if scheme == "tls" else None)
            else:  # shm: files only this user can map; mpi: only the launch's ranks
                self._transport = kinds[scheme](self.rank, self.timeout, self.spin_s)
        elif not isinstance(self._transport, kinds[scheme]):
            raise ValueError(f"partition {self.rank} has {type(self._transport).__name__} channels, "
                             f"cannot add {address!r}")
        return self._transport

    async def connect(self, peers: dict) -> None:
        """Open one connection to each peer: ``{rank: contact address}``."""
        for peer, address in peers.items():
            scheme, host, port = split_address(address)
            transport = self._transport_for(scheme, address)
            if not transport.has_out(int(peer)):
                await transport.connect(int(peer), host, port)

    async def wait_accepted(self, peers) -> None:
        """Wait until every peer in ``peers`` has connected to this partition (ExchangeError after timeout)."""
        if hasattr(self._transport, "wait_accepted"):
            await self._transport.wait_accepted(list(peers))

    @property
    def kind(self) -> str:
        """What carries the messages: "tcp", "tls", "shm", "ucx", "mpi", "memory", or "none" before any
        channel opens."""
        names = {TcpTransport: "tcp", ShmTransport: "shm", UcxTransport: "ucx", MpiTransport: "mpi"}
        if self._transport is None:
            return "none"
        if isinstance(self._transport, TcpTransport) and self._transport._tls is not None:
            return "tls"
        return names.get(type(self._transport), "memory")

    @property
    def on_loop(self) -> bool:
        """Whether the transport lives on the event loop (ucx: use :meth:`exchange_async` there) rather
        than in the calling thread (tcp, memory: use :meth:`exchange` from the partition's thread)."""
        return isinstance(self._transport, UcxTransport)

    @property
    def device_buffers(self) -> bool:
        """Whether data in GPU memory travels GPU-direct and arrives in GPU memory (``device`` channels
        over ucx); over tcp, GPU data is staged through host memory and arrives there."""
        return self.device and self.on_loop

    # ------------------------------------------------------------------ blocking
    def exchange(self, interval: int, sends: dict, receives: dict, overlap=None) -> dict:
        """One step of an exchange, blocking: send and receive at once.

        ``sends`` maps a peer to ``(tag, data, extra)`` (int64 arrays, any
        shape; ``extra`` may be None); ``receives`` maps a peer to the tag
        expected from it. Returns ``{peer: (data, extra)}`` for the peers of
        ``receives``; every message must be for ``interval`` and its tag.
        ``overlap()``, if given, is work that runs while the messages travel
        (over tcp and in memory once the sends are under way; over ucx
        before them). Call it from a thread, never from the event loop.
        """
        frames = self._frames(interval, sends)
        got = self._transport.exchange(interval, frames, list(receives), overlap)
        self._count(sends)
        return self._checked(interval, receives, got)

    @property
    def spike_messages(self) -> bool:
        """Whether the transport writes and reads spike messages in compiled calls (shared memory): see
        :meth:`exchange_spikes`."""
        return hasattr(self._transport, "send_spikes")

    def exchange_spikes(self, interval: int, sends: list, receives: list, idx, steps, images, first_slot: int,
                        overlap=None) -> tuple:
        """One exchange step of spike messages, each written and read in one compiled call (where
        :attr:`spike_messages`): the same messages as :meth:`exchange` of (2, m) int64 arrays, tag 0.

        ``sends``: ``(peer, ids, keys)`` per message: the spikes ``(idx, steps)`` (local indices, steps) as
        ``ids[idx]`` where ``keys`` is None, else only those whose ``idx`` is in the sorted ``keys``, as
        ``ids[position]``. ``receives``: the peers to take one message from, in order. ``images`` (sorted
        gids, or empty): keep only those of the received spikes, as ``first_slot + position``. Returns
        (slots, steps) int64 views valid until the next exchange; ``overlap()`` runs while they travel.
        """
        transport = self._transport
        early: dict = {}
        for peer, ids, keys in sends:
            if not transport.has_out(peer):
                raise ExchangeError(f"partition {self.rank} has no channel to partition {peer}")
            self.bytes_sent += 16 * transport.send_spikes(interval, 0, peer, ids, idx, steps, keys, receives, early)
        self.messages_sent += len(sends)
        if overlap is not None:
            overlap()
        return transport.receive_spikes(interval, 0, receives, images, first_slot, early)

    @property
    def native_allgather(self) -> bool:
        """Whether the transport gathers every partition's block itself (MPI): see :meth:`allgather`."""
        return bool(getattr(self._transport, "native_allgather", False))

    def open_collective(self, world_ranks: list) -> None:
        """Prepare the transport's own all-gather over the partitions' ranks (MPI; all partitions at once)."""
        self._transport.open_collective(world_ranks)

    def allgather(self, interval: int, block, overlap=None) -> list:
        """Every partition's block by the transport's own all-gather, in the order of
        :func:`~.algorithms.bruck_allgather`'s result; ``overlap()`` runs while it travels."""
        blocks = self._transport.allgather(interval, block, overlap)
        self.bytes_sent += int(block.nbytes)
        self.messages_sent += 1
        return blocks

    async def exchange_async(self, interval: int, sends: dict, receives: dict) -> dict:
        """:meth:`exchange` as a coroutine of the event loop the channels were opened on."""
        frames = self._frames(interval, sends)
        if self.on_loop:
            got = await self._transport.exchange_async(interval, frames, list(receives))
        else:
            got = await asyncio.to_thread(self._transport.exchange, interval, frames, list(receives))
        self._count(sends)
        return self._checked(interval, receives, got)

    # ------------------------------------------------- non-blocking (in memory)
    def post(self, interval: int, sends: dict) -> None:
        """Send without waiting (in-memory channels): the first half of :meth:`exchange`."""
        self._transport.post(self._frames(interval, sends))
        self._count(sends)

    def ready(self, receives: dict) -> bool:
        """Whether :meth:`take` would find a message from every peer of ``receives`` (in memory)."""
        return self._transport.ready(list(receives))

    def take(self, interval: int, receives: dict) -> dict:
        """The second half of :meth:`exchange` once :meth:`ready` (in-memory channels)."""
        return self._checked(interval, receives, self._transport.take(list(receives)))

    def count_wait(self, seconds: float) -> None:
        """Add ``seconds`` spent blocked for peers outside :meth:`exchange` (a driver waiting for several
        partitions at once) to :attr:`wait_s`."""
        self._transport.wait_s += seconds

    # ------------------------------------------------------------------ framing
    def _frames(self, interval: int, sends: dict) -> dict:
        if self._transport is None:
            raise ExchangeError(f"partition {self.rank} has no channels open")
        for peer in sends:
            if not self._transport.has_out(peer):
                raise ExchangeError(f"partition {self.rank} has no channel to partition {peer}")
        apart = self.on_loop  # over ucx, data in GPU memory goes as it is, in a send of its own
        frames = {q: frame(interval, tag, self.rank, data, extra, apart and on_device(data) and data.size > 0)
                  for q, (tag, data, extra) in sends.items()}
        if any(head[6] for head, _ in frames.values()):
            # the kernels that made the data run asynchronously on CuPy's stream; UCX copies on its own
            import cupy

            cupy.cuda.get_current_stream().synchronize()
        return frames

    def _count(self, sends: dict) -> None:
        for _, (_, data, extra) in sends.items():
            self.bytes_sent += data.nbytes + (0 if extra is None else extra.nbytes)
            if self.on_loop and on_device(data):
                self.device_bytes_sent += data.nbytes
            self.messages_sent += 1

    def _checked(self, interval: int, receives: dict, got: dict) -> dict:
        """Unpack what came in, checking that each message is for ``interval`` and its tag."""
        out = {}
        for peer, tag in receives.items():
            msg = message(*got[peer])
            if msg["k"] != interval or msg["tag"] != tag:
                raise unexpected(self.rank, peer, interval, tag, msg["k"], msg["tag"])
            out[peer] = (msg["data"], msg["extra"])
        return out

    async def close(self) -> None:
        if self._transport is not None:
            await self._transport.close()
