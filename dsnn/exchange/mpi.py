"""MPI channels: point-to-point messages (mpi4py) between partitions whose workers are MPI ranks.

Under a dask-mpi launch every worker is a rank of ``MPI.COMM_WORLD``; the
interconnect's MPI is then what moves the spikes, driven by the
partition's own thread (MPI must provide at least
``MPI_THREAD_SERIALIZED``: only that thread calls it). A channel is a
(sender rank, receiver rank) pair under one tag; MPI delivers the messages
of a pair in order, and each carries the framing header, so late, early
or duplicate messages raise as over the other transports. A receive polls
(``Iprobe``) until its message is there or ``timeout`` passes. One
partition per worker (a rank is one address); where a worker holds
several, the build uses shared memory or TCP instead.

The collective exchange runs as MPI's own all-gather (``Iallgather`` of
the block sizes, then ``Iallgatherv`` of the blocks) on a communicator of
the partitions' ranks, made when the channels open (:meth:`MpiTransport.
open_collective`): the implementation HPC interconnects tune.

A rank that dies takes the MPI job down with it (the MPI runtime aborts
every rank): the run ends, with MPI's message instead of dsnn's.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from .framing import HEADER_WORDS, ExchangeError, Transport, body_words, on_device, silent

__all__ = ["MpiTransport", "world_rank", "TAG"]

#: MPI tag of dsnn's spike messages (distinct from whatever else the ranks may send)
TAG = 0x6473

#: MPI tag of the greeting a sender sends once, naming its partition to the receiver
HELLO_TAG = TAG + 1

#: seconds a waiting partition with a core of its own polls back to back before it naps between polls
SPIN_S = 2e-3

#: seconds between polls of a receive once it stopped spinning
NAP_S = 20e-6


def world_rank():
    """This process's rank in ``MPI.COMM_WORLD`` if it runs under MPI with other ranks and MPI lets its
    worker threads call it (``MPI_THREAD_SERIALIZED`` or better), else None. Imports mpi4py only where
    a launch already did."""
    import sys

    if "mpi4py.MPI" not in sys.modules:
        return None
    MPI = sys.modules["mpi4py.MPI"]
    if not MPI.Is_initialized() or MPI.Is_finalized() or MPI.COMM_WORLD.Get_size() < 2:
        return None
    if MPI.Query_thread() < MPI.THREAD_SERIALIZED:
        return None
    return MPI.COMM_WORLD.Get_rank()


class MpiTransport(Transport):
    """Channels of one partition over ``MPI.COMM_WORLD``: its address is ``mpi://host:<world rank>``."""

    def __init__(self, rank: int, timeout: float, spin_s: float = 0.0):
        super().__init__(rank, timeout)
        from mpi4py import MPI

        self._MPI = MPI
        self._comm = MPI.COMM_WORLD
        self.spin_s = SPIN_S if spin_s > 0 else 0.0  # as shm: a partition with a core of its own polls longer
        self._out: dict = {}  # partition -> world rank we send to
        self._in: dict = {}  # partition -> world rank it sends to us from
        self._sending: list = []  # (request, buffer) of sends not known complete

    async def listen(self, host: str, port: int) -> int:
        if world_rank() is None:
            raise ExchangeError("mpi:// channels need a run under MPI (dask-mpi) with MPI_THREAD_SERIALIZED")
        return self._comm.Get_rank()

    async def connect(self, peer: int, host: str, port: int) -> None:
        self._out[peer] = int(port)
        hello = np.array([self.rank], dtype=np.int64)
        self._comm.Send(hello, dest=int(port), tag=HELLO_TAG)  # buffered by MPI: one word

    def has_out(self, peer: int) -> bool:
        return peer in self._out

    async def wait_accepted(self, peers) -> None:
        """Take the greetings of ``peers`` (which world rank each partition sends from)."""
        MPI, status = self._MPI, self._MPI.Status()
        deadline = time.monotonic() + self.timeout
        while missing := [q for q in peers if q not in self._in]:
            if self._comm.Iprobe(source=MPI.ANY_SOURCE, tag=HELLO_TAG, status=status):
                hello = np.empty(1, dtype=np.int64)
                self._comm.Recv(hello, source=status.Get_source(), tag=HELLO_TAG)
                self._in[int(hello[0])] = status.Get_source()
                continue
            if time.monotonic() > deadline:
                raise ExchangeError(f"partition {missing[0]} never connected to partition {self.rank} "
                                    f"within {self.timeout:g} s")
            await asyncio.sleep(1e-3)

    def open_collective(self, world_ranks: list) -> None:
        """Make the communicator of the partitions' ranks (``world_ranks[p]``: partition p's), in partition
        order; every partition calls this at once (MPI_Comm_create_group)."""
        group = self._comm.Get_group().Incl([int(r) for r in world_ranks])
        self._collective = self._comm.Create_group(group, tag=TAG)
        group.Free()

    @property
    def native_allgather(self) -> bool:
        return getattr(self, "_collective", None) is not None

    def allgather(self, interval: int, block: np.ndarray, overlap=None) -> list:
        """Every partition's block (int64, shape (rows, n), n per partition) by MPI's all-gather, as
        :func:`~.algorithms.bruck_allgather` returns them: element i is partition (rank + i) % P's.
        ``overlap()`` runs while the sizes travel."""
        MPI, comm = self._MPI, self._collective
        P, rows = comm.Get_size(), block.shape[0]
        block = np.ascontiguousarray(block.get() if on_device(block) else block, dtype=np.int64)
        counts = np.empty(P, dtype=np.int64)
        deadline = time.monotonic() + self.timeout
        request = comm.Iallgather(np.array([block.shape[1]], dtype=np.int64), counts)
        if overlap is not None:
            overlap()
        t0 = time.perf_counter()
        self._wait_for(request, interval, deadline)
        words = rows * counts
        displs = np.concatenate([[0], np.cumsum(words)[:-1]])
        data = np.empty(int(words.sum()), dtype=np.int64)
        self._wait_for(comm.Iallgatherv(block.reshape(-1), [data, words, displs, MPI.INT64_T]), interval, deadline)
        self.wait_s += time.perf_counter() - t0
        blocks = [data[d:d + w].reshape(rows, w // rows) for d, w in zip(displs, words)]
        rank = comm.Get_rank()
        return [blocks[(rank + i) % P] for i in range(P)]

    def _wait_for(self, request, interval, deadline) -> None:
        """Poll a collective's request until it completes (ExchangeError after ``timeout``). MPI moves a
        non-blocking collective on only while it is tested, round after round: polls back to back for
        ``spin_s`` (where the partition has a core of its own), then with naps."""
        t0 = time.perf_counter()
        while not request.Test():
            if time.monotonic() > deadline:
                raise ExchangeError(f"partition {self.rank}: the all-gather of interval {interval} did not "
                                    f"complete within {self.timeout:g} s (lost partition?)")
            if time.perf_counter() - t0 > self.spin_s:
                time.sleep(NAP_S)

    def exchange(self, interval: int, frames: dict, wanted, overlap=None) -> dict:
        """Send ``frames`` ({peer: (head, parts)}) and take one message ``(head, body)`` from each peer in
        ``wanted``; ``overlap()`` runs while the messages travel."""
        MPI = self._MPI
        for peer, (head, parts) in frames.items():
            parts = [a.get() if on_device(a) else a for a in parts]  # host memory only
            buf = np.concatenate([np.asarray(head, dtype=np.int64), *[a.reshape(-1) for a in parts]])
            self._sending.append((self._comm.Isend(buf, dest=self._out[peer], tag=TAG), buf))
        if overlap is not None:
            overlap()
        got, status = {}, MPI.Status()
        t0 = time.perf_counter()
        deadline = time.monotonic() + self.timeout
        try:
            while len(got) < len(wanted):
                for peer in wanted:
                    if peer not in got and self._comm.Iprobe(source=self._in[peer], tag=TAG, status=status):
                        buf = np.empty(status.Get_count(MPI.INT64_T), dtype=np.int64)
                        self._comm.Recv(buf, source=self._in[peer], tag=TAG)
                        head = tuple(buf[:HEADER_WORDS].tolist())
                        if buf.shape[0] != HEADER_WORDS + body_words(head):
                            raise ExchangeError(f"partition {self.rank} got a message of {buf.shape[0]} words "
                                                f"from partition {peer} whose header says otherwise")
                        got[peer] = (head, buf[HEADER_WORDS:])
                if len(got) == len(wanted):
                    break
                if time.monotonic() > deadline:
                    raise silent(self.rank, next(q for q in wanted if q not in got), interval, self.timeout)
                if time.perf_counter() - t0 > self.spin_s:
                    time.sleep(NAP_S)
            self._finish_sends(deadline)
        finally:
            self.wait_s += time.perf_counter() - t0
        return got

    def _finish_sends(self, deadline: float) -> None:
        """Wait until this interval's sends left their buffers (each buffer is then free)."""
        while self._sending:
            self._sending = [(r, b) for r, b in self._sending if not r.Test()]
            if self._sending:
                if time.monotonic() > deadline:
                    raise ExchangeError(f"partition {self.rank}'s messages were not taken within "
                                        f"{self.timeout:g} s (lost partition?)")
                time.sleep(NAP_S)

    async def close(self) -> None:
        for request, _ in self._sending:
            request.Cancel()
        self._sending = []
        if getattr(self, "_collective", None) is not None:  # every partition closes (sim.close): freed together
            self._collective.Free()
            self._collective = None
        self._out.clear()
        self._in.clear()
