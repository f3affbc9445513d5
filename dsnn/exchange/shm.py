"""Shared-memory channels between the partitions of one host.

Between two worker processes of one machine a TCP exchange costs two
system calls and a wake-up per message (~50-90 us per interval measured on
this 2-core machine with 0.1 ms intervals). Here each channel p -> q is a
file in ``/dev/shm`` that both processes map: a circular byte buffer that
only p writes and only q reads, with two counters, the bytes written and
the bytes read. p copies a message (header and data, as on every
transport) into the buffer and then publishes the new written count; q
polls that count, copies the message out and publishes the read count. A
message is therefore one copy each way and no system call, each a
compiled call (:mod:`.shm_records`; spike messages are made from and read
into the loop's arrays in the same calls: :meth:`ShmTransport.send_spikes`,
:meth:`ShmTransport.receive_spikes`). The counters are plain int64 stores
behind a fence: x86-64 keeps stores in order and loads in order, so a
reader that sees the count sees the bytes before it; the transport is
offered on x86-64 Linux only (:func:`available`).

A message larger than half the buffer moves the channel to a buffer
twice as large (a new file, announced in the old one once the reader has
taken everything). The receiver unlinks each file once it has mapped it,
so nothing is left in ``/dev/shm`` once both ends are mapped, whatever
happens to the processes later; a file whose writer died before that is
removed by the next partition that listens (:func:`sweep`). A peer that closes its channels marks
them closed, and a waiting partition checks that the peer process still
lives, so a lost partition ends the run with an error, never a hang.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import platform
import secrets
import time

import numpy as np

from .framing import HEADER_WORDS, ExchangeError, Transport, lost, on_device, silent, unexpected
from .maps import filter_images
from .shm_records import CAPACITY as _CAPACITY
from .shm_records import CLOSED as _CLOSED
from .shm_records import CONTROL_BYTES as _CONTROL_BYTES
from .shm_records import NEXT as _NEXT
from .shm_records import READ as _READ
from .shm_records import READER as _READER
from .shm_records import WRITER as _WRITER
from .shm_records import WRITTEN as _WRITTEN
from .shm_records import put_record, put_spikes, take_record, take_spikes

__all__ = ["ShmTransport", "available", "sweep", "SHM_DIR"]

#: where the channel files live (a tmpfs on Linux)
SHM_DIR = "/dev/shm"

#: bytes of a new channel's buffer; a message larger than half of it moves the channel to a larger one
INITIAL_BYTES = 1 << 20

#: seconds a waiting partition with a core of its own polls before it starts to sleep between polls
SPIN_S = 2e-3

#: seconds between polls once it sleeps, and between checks that the peer process lives
NAP_S = 20e-6
ALIVE_EVERY_S = 0.2

_NO_EXTRA = np.zeros(0, dtype=np.int64)


def available() -> bool:
    """Whether shared-memory channels work here: Linux with ``/dev/shm``, on x86-64 (see the module)."""
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64") and os.path.isdir(SHM_DIR)


class _Buffer:
    """One mapped channel file: control words and a circular buffer of ``capacity`` bytes."""

    def __init__(self, path: str, capacity: int = 0):
        """Map the file at ``path``; with a ``capacity``, create it first (under a temporary name, renamed
        once sized and initialised, so that a reader never maps it half made)."""
        made = f"{path}.{os.getpid()}.new" if capacity else path
        fd = os.open(made, os.O_RDWR | (os.O_CREAT | os.O_EXCL if capacity else 0), 0o600)
        try:
            if capacity:
                try:  # reserve the pages now: a full tmpfs fails here, not with SIGBUS at a later write
                    os.posix_fallocate(fd, 0, _CONTROL_BYTES + capacity)
                except OSError as exc:
                    _unlink(made)
                    raise ExchangeError(
                        f"no room in {SHM_DIR} for a shared-memory channel of {capacity / 2**20:.1f} MiB "
                        f"({exc.strerror}): enlarge it (e.g. docker --shm-size) or set the Dask config "
                        "dsnn.shared-memory: False for TCP channels") from None
            self.map = mmap.mmap(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        self.path = path
        self.control = np.frombuffer(self.map, dtype=np.int64, count=_CONTROL_BYTES // 8)
        self.words = np.frombuffer(self.map, dtype=np.int64, offset=_CONTROL_BYTES)  # records are int64 words
        if capacity:
            self.control[_CAPACITY] = capacity
            self.control[_WRITER] = os.getpid()
            os.rename(made, path)
        self.capacity = int(self.control[_CAPACITY])

    def close(self) -> None:
        self.control = self.words = None
        try:
            self.map.close()
        except BufferError:  # a message still being read holds a view; the mapping goes with it
            pass


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class ShmTransport(Transport):
    """The shared-memory channels of one partition (see the module). ``spin_s`` > 0: this partition has a
    core of its own, so it polls for up to :data:`SPIN_S` before it naps; 0: it yields the core at once."""

    def __init__(self, rank: int, timeout: float, spin_s: float = 0.0):
        super().__init__(rank, timeout)
        self.spin_s = SPIN_S if spin_s > 0 else 0.0
        self._name = None  # this partition's contact name: peers create "<name>-<their rank>"
        self._out: dict = {}  # peer -> _Buffer we write
        self._in: dict = {}  # peer -> _Buffer we read
        self._generation: dict = {}  # (peer, "in" or "out") -> number of the channel's current file
        self._closed: dict = {}  # peer -> why its channel closed
        self._head = np.zeros(HEADER_WORDS, dtype=np.int64)  # the header of the message last taken
        self._in_slots = np.empty(1024, dtype=np.int64)  # spikes received this interval (receive_spikes)
        self._in_steps = np.empty(1024, dtype=np.int64)
        self._n_in = 0

    async def listen(self, host: str, port: int) -> int:
        sweep()
        self._arrived = asyncio.Event()
        number = secrets.randbits(62)
        self._name = f"dsnn-{number:x}"
        return number

    async def connect(self, peer: int, host: str, port: int) -> None:
        base = os.path.join(SHM_DIR, f"dsnn-{port:x}-{self.rank}")
        self._out[peer] = _Buffer(f"{base}.0", INITIAL_BYTES)
        self._generation[(peer, "out")] = 0

    def has_out(self, peer: int) -> bool:
        return peer in self._out

    async def wait_accepted(self, peers) -> None:
        deadline = time.monotonic() + self.timeout
        for q in peers:
            path = os.path.join(SHM_DIR, f"{self._name}-{q}.0")
            while q not in self._in:
                try:
                    self._in[q] = _Buffer(path)
                except FileNotFoundError:
                    if time.monotonic() > deadline:
                        raise ExchangeError(
                            f"partition {q} never connected to partition {self.rank} within {self.timeout:g} s (no "
                            f"shared-memory channel {path}: do the workers share /dev/shm? Dask config "
                            "dsnn.shared-memory: False uses TCP)") from None
                    await asyncio.sleep(1e-3)
            _unlink(path)
            self._in[q].control[_READER] = os.getpid()
            self._generation[(q, "in")] = 0
            self._connected.add(q)

    # ------------------------------------------------------------------ messages
    def exchange(self, interval: int, frames: dict, wanted, overlap=None) -> dict:
        """Send ``frames`` ({peer: (head, parts)}) and take one message ``(head, body)`` from each peer in
        ``wanted``; ``overlap()`` runs once the messages are written."""
        early: dict = {}
        for peer, (head, parts) in frames.items():
            parts = [a.get() if on_device(a) else a for a in parts]  # host memory only
            k, tag, _, rows, n_data, n_extra, _ = head
            data = parts[0].reshape(-1) if n_data else _NO_EXTRA
            extra = parts[-1].reshape(-1) if n_extra > 0 else _NO_EXTRA
            self._send(peer, k, tag, rows, data, extra, n_extra, wanted, early)
        if overlap is not None:
            overlap()
        got = {q: early[q] for q in wanted if q in early}
        self._wait(interval, [q for q in wanted if q not in got], got)
        return got

    def _send(self, peer, k, tag, rows, data, extra, n_extra, wanted, early) -> None:
        """Write one message (header fields, ``data`` and ``extra`` as 1-D host int64 arrays, ``n_extra`` -1
        for no extra) as one record of the channel to ``peer``."""
        record = 8 * (1 + HEADER_WORDS + data.shape[0] + extra.shape[0])
        buf = self._out[peer]
        if 2 * record > buf.capacity:
            buf = self._grow(peer, record, k, wanted, early)
        if not put_record(buf.control, buf.words, k, tag, self.rank, rows, data, extra, n_extra):
            # no room until the reader takes what is there
            self._until(lambda: put_record(buf.control, buf.words, k, tag, self.rank, rows, data, extra, n_extra),
                        peer, k, wanted, early)

    # ------------------------------------------------------------ spike messages
    def send_spikes(self, k: int, tag: int, peer: int, ids, idx, steps, keys, wanted, early) -> int:
        """Write the spike message of interval ``k`` to ``peer`` in one compiled call
        (:func:`~.shm_records.put_spikes`: all spikes as ``ids[idx]``, or with ``keys`` the routed ones);
        returns the spikes it holds. Meanwhile messages from ``wanted`` peers may be taken into ``early``."""
        buf = self._out[peer]
        routed = keys is not None
        keys = _NO_EXTRA if keys is None else keys
        sent = put_spikes(buf.control, buf.words, k, tag, self.rank, ids, idx, steps, keys, routed)
        if sent < 0:  # larger than half the buffer
            buf = self._grow(peer, -sent, k, wanted, early)
            sent = put_spikes(buf.control, buf.words, k, tag, self.rank, ids, idx, steps, keys, routed)
        if sent == 0:  # no room until the reader takes what is there
            result = []

            def put():
                result.append(put_spikes(buf.control, buf.words, k, tag, self.rank, ids, idx, steps, keys, routed))
                return result[-1] > 0

            self._until(put, peer, k, wanted, early)
            sent = result[-1]
        return sent - 1

    def receive_spikes(self, k: int, tag: int, peers, images, first_slot: int, early) -> tuple:
        """The spikes of interval ``k``'s message from each of ``peers``, as (slots, steps) int64 views valid
        until the next call: with ``images`` (sorted gids) those of the image neurons, at ``first_slot +
        position``; else the slots as sent. ``early``: messages already taken ``{peer: (head, body)}``."""
        self._n_in = 0

        def took(q) -> bool:
            if q in early:
                self._append_taken(k, tag, q, early.pop(q), images, first_slot)
                return True
            return self._take_spikes(k, tag, q, images, first_slot)

        missing = list(peers)  # taken in this order, as the spikes are delivered in that order
        while missing and took(missing[0]):
            missing.pop(0)
        if missing:
            def arrived():
                while missing and took(missing[0]):
                    missing.pop(0)
                return not missing

            self._until(arrived, None, k, missing, None)
        n = self._n_in
        return self._in_slots[:n], self._in_steps[:n]

    def _take_spikes(self, k, tag, q, images, first_slot) -> bool:
        """Take interval ``k``'s spike message from ``q`` into the receive arrays if it is there; whether it
        was. Raises ExchangeError if another message is next or the channel closed."""
        buf = self._in[q]
        n = take_spikes(buf.control, buf.words, k, tag, self._head, images, first_slot, self._in_slots,
                        self._in_steps, self._n_in)
        if n >= 0:
            self._n_in = n
            return True
        if n == -1:
            if buf.control[_NEXT] > self._generation[(q, "in")] or buf.control[_CLOSED]:
                msg = self._take(q)  # the channel moved to a larger file (or closed: None)
                if msg is not None:
                    self._append_taken(k, tag, q, msg, images, first_slot)
                    return True
                if q in self._closed:
                    raise lost(self.rank, q, self._closed[q])
            return False
        if n == -2:
            raise unexpected(self.rank, q, k, tag, int(self._head[0]), int(self._head[1]))
        self._grow_receive(self._n_in + (-3 - n))
        return self._take_spikes(k, tag, q, images, first_slot)

    def _append_taken(self, k, tag, q, msg, images, first_slot) -> None:
        """Add the spikes of a message taken as ``(head, body)`` to the receive arrays (checked first)."""
        (got_k, got_tag, _, rows, n_data, n_extra, _), body = msg
        if got_k != k or got_tag != tag or rows != 2 or n_extra != -1:
            raise unexpected(self.rank, q, k, tag, got_k, got_tag)
        ids, steps = body[:n_data // 2], body[n_data // 2:n_data]
        if images.shape[0]:
            ids, steps = filter_images(images, first_slot, ids, steps)
        n = self._n_in
        self._grow_receive(n + ids.shape[0])
        self._in_slots[n:n + ids.shape[0]] = ids
        self._in_steps[n:n + ids.shape[0]] = steps
        self._n_in = n + ids.shape[0]

    def _grow_receive(self, need: int) -> None:
        """Make the receive arrays hold at least ``need`` spikes, keeping what they hold."""
        if need > self._in_slots.shape[0]:
            size = max(need, 2 * self._in_slots.shape[0])
            for name in ("_in_slots", "_in_steps"):
                grown = np.empty(size, dtype=np.int64)
                grown[:self._n_in] = getattr(self, name)[:self._n_in]
                setattr(self, name, grown)

    def _grow(self, peer, record, interval, wanted, early) -> _Buffer:
        """Move the channel to ``peer`` to a file large enough for ``record`` once the reader took all."""
        old = self._out[peer]
        self._until(lambda: old.control[_READ] == old.control[_WRITTEN], peer, interval, wanted, early)
        generation = self._generation[(peer, "out")] + 1
        path = old.path.rsplit(".", 1)[0] + f".{generation}"
        new = _Buffer(path, max(2 * old.capacity, 1 << (2 * record - 1).bit_length()))
        new.control[_WRITTEN] = new.control[_READ] = 0
        old.control[_NEXT] = generation  # the reader moves over once it sees this
        self._out[peer], self._generation[(peer, "out")] = new, generation
        old.close()
        return new

    def _take(self, peer):
        """The next message ``(head, body)`` from ``peer``, or None."""
        buf = self._in[peer]
        head = self._head
        body = take_record(buf.control, buf.words, head)
        if head[0] != -2:
            return tuple(head.tolist()), body
        ctl = buf.control
        generation = int(ctl[_NEXT])
        if generation > self._generation[(peer, "in")]:  # the writer moved to a larger file
            path = buf.path.rsplit(".", 1)[0] + f".{generation}"
            self._in[peer], self._generation[(peer, "in")] = _Buffer(path), generation
            _unlink(path)
            self._in[peer].control[_READER] = os.getpid()
            buf.close()
            return self._take(peer)
        if ctl[_CLOSED]:
            self._closed.setdefault(peer, "its channels closed")
        return None

    def _wait(self, interval: int, missing: list, got: dict) -> None:
        """Take one message from each peer of ``missing`` into ``got``."""

        def arrived():
            for q in list(missing):
                if (msg := self._take(q)) is not None:
                    got[q] = msg
                    missing.remove(q)
                elif q in self._closed:
                    raise lost(self.rank, q, self._closed[q])
            return not missing

        self._until(arrived, None, interval, missing, None)

    def _until(self, done, writing_to, interval, wanted, early) -> None:
        """Poll ``done()`` until true: spin, then nap; meanwhile take early messages from ``wanted`` peers
        into ``early`` (sending, so that two full buffers never wait on each other), and check that the
        peers live. ExchangeError after ``timeout`` seconds."""
        if done():
            return
        t0 = time.perf_counter()
        deadline, next_check = t0 + self.timeout, t0 + ALIVE_EVERY_S
        peers = list(wanted) + ([writing_to] if writing_to is not None else [])
        try:
            while not done():
                now = time.perf_counter()
                if early is not None:
                    for q in wanted:
                        if q not in early and (msg := self._take(q)) is not None:
                            early[q] = msg
                if writing_to is not None:
                    self._closed_peer([writing_to])
                waited = now - t0
                if waited > self.spin_s:  # a core of its own polls; a shared one is yielded, then napped
                    if waited < self.spin_s + 1e-3:
                        os.sched_yield()
                    else:
                        time.sleep(NAP_S)
                if now > next_check:
                    next_check = now + ALIVE_EVERY_S
                    self._check_alive(peers)
                if now > deadline:
                    if writing_to is not None:
                        raise ExchangeError(f"partition {writing_to} took no data from partition {self.rank} "
                                            f"for {self.timeout:g} s (lost partition {writing_to}?)")
                    raise silent(self.rank, wanted[0], interval, self.timeout)
        finally:
            self.wait_s += time.perf_counter() - t0

    def _closed_peer(self, peers) -> None:
        """Raise "lost partition" if a channel from or to one of ``peers`` was closed at the other end."""
        for q in peers:
            for buf in (self._in.get(q), self._out.get(q)):
                if buf is not None and buf.control is not None and buf.control[_CLOSED]:
                    raise lost(self.rank, q, "its channels closed")

    def _check_alive(self, peers) -> None:
        """Raise "lost partition" if the process at the other end of a channel with ``peers`` is gone."""
        for q in peers:
            for buf, end in ((self._in.get(q), _WRITER), (self._out.get(q), _READER)):
                pid = 0 if buf is None or buf.control is None else int(buf.control[end])
                if pid and not _alive(pid):
                    raise lost(self.rank, q, f"its process {pid} is gone")

    async def close(self) -> None:
        for buf in [*self._out.values(), *self._in.values()]:
            if buf.control is not None:
                buf.control[_CLOSED] = 1  # whoever waits at the other end stops at once
            _unlink(buf.path)  # in case the reader never mapped it
            buf.close()
        self._out.clear()
        self._in.clear()


def sweep() -> list:
    """Remove channel files whose writer process is gone (left by a killed process before its reader
    mapped them); returns their paths."""
    removed = []
    for entry in os.scandir(SHM_DIR):
        if not entry.name.startswith("dsnn-"):
            continue
        try:
            with open(entry.path, "rb") as f:
                control = np.frombuffer(f.read(_CONTROL_BYTES), dtype=np.int64)
        except OSError:
            continue
        if control.shape[0] > _WRITER and control[_WRITER] and not _alive(int(control[_WRITER])):
            _unlink(entry.path)
            removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
