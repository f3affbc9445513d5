"""The partition actor: one per partition on its worker, holding the partition's loop and running it.

The client calls :meth:`PartitionActor.run` once per ``sim.run``; the actor
then loops over the min-delay intervals on its own
(:class:`~dsnn.runners.loop.PartitionLoop`). Over TCP the whole loop runs
in a dedicated thread: numerics (the kernels release the GIL) and the
exchange over the partition's direct sockets (or shared memory, or MPI), so the worker's event loop
stays free for heartbeats and the dashboard however large the partition,
and nothing is handed between threads per interval. Over UCX the endpoints
live on the event loop, so the loop is driven there, exchanging on the
loop and moving numerics to the thread only when they are long enough to
delay the loop. A partition on the GPU exchanging over UCX keeps its
spikes in GPU memory from update to delivery.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from ...exchange.channels import Channels
from ...exchange.framing import split_address
from ...support.machine import cores
from ..handshake import needs_of, send_maps_of
from ..loop import ExchangePlan, PartitionLoop

__all__ = ["PartitionActor", "INLINE_S", "SPIN_S"]

#: over ucx, numerics that took less than this (seconds) run on the event loop itself: handing work
#: to a thread costs ~0.2 ms there, more than a small interval's compute
INLINE_S = 0.05

#: seconds a waiting partition polls its sockets before it sleeps, where it has a core of its own
SPIN_S = 50e-6


def spin_seconds(partitions_on_host: int, partitions_on_worker: int = 1) -> float:
    """:data:`SPIN_S` if this host has a core for each of its partitions and this partition's worker holds
    no other, else 0: spinning would take the core of the partition being waited for, or, in one process,
    the interpreter lock its thread needs (a spinning thread gives it up only every few milliseconds)."""
    return SPIN_S if partitions_on_host <= cores() and partitions_on_worker == 1 else 0.0


def _advance(steps, got):
    """Send ``got`` into the generator ``steps``: ``(True, None)`` when it finished, else ``(False, request)``."""
    try:
        return False, steps.send(got)
    except StopIteration:
        return True, None


class PartitionActor:
    """Holds one built partition on its worker and runs its :class:`PartitionLoop`.

    ``plan`` gives ``rank``, ``n_partitions``, ``exchange`` ("p2p" or
    "collective"), ``timeout`` (seconds a receive may wait),
    ``partitions_on_host`` and ``partitions_on_worker`` (how many partitions
    share this worker's host, and the worker itself). The actor works out
    what its partition needs from each owner (its images, through
    ``decomposition``); for p2p the actors then tell each other, actor to
    actor (:meth:`send_needs`, :meth:`take_need`, :meth:`make_send_maps`):
    no Dask task per pair of partitions, and only id lists move.
    """

    def __init__(self, partition, decomposition, plan: dict):
        rank = int(plan["rank"])
        channels = Channels(rank, plan["timeout"], spin_s=spin_seconds(plan.get("partitions_on_host", 1),
                                                                        plan.get("partitions_on_worker", 1)),
                            device=partition.gpu)
        needs = {q: piece for q, piece in needs_of(partition, decomposition).items() if piece[0].shape[0]}
        exchange = ExchangePlan(rank, int(plan["n_partitions"]), plan["exchange"], [], sorted(needs))
        self.loop = PartitionLoop(partition, exchange, channels)
        self.rank = rank
        self._needs = needs if plan["exchange"] == "p2p" else {}  # until told to the owners
        self._need_counts = {q: int(g.shape[0]) for q, (g, _) in needs.items()}
        self._pieces: dict = {}  # receiver -> (gids, its slots) of what it needs from this partition
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"dsnn-partition-{rank}")
        self.loop.warm_up()

    # ------------------------------------------------------------ the image handshake (p2p)
    def need_counts(self) -> dict:
        """``{owner: how many of its neurons this partition needs}``."""
        return dict(self._need_counts)

    async def send_needs(self, owners: dict) -> int:
        """Tell each owner (``{rank: (its worker's address, its actor's key)}``) which of its neurons this
        partition needs, with this partition's slots for them; returns how many were told.

        Worker to worker through the worker's RPC (what an actor handle does inside, without the Dask
        client a handle opens on a worker, which would outlive the scheduler at shutdown)."""
        from distributed import get_worker
        from distributed.protocol import to_serialize

        worker = get_worker()

        async def tell(q):
            address, key = owners[q]
            gids, slots = self._needs[q]
            reply = await worker.rpc(address).actor_execute(
                function="take_need", actor=key, kwargs={},
                args=[to_serialize(self.rank), to_serialize(gids), to_serialize(slots)])
            if reply["status"] != "OK":
                raise RuntimeError(f"partition {q} refused the needs of partition {self.rank}: {reply!r}")

        await asyncio.gather(*[tell(q) for q in sorted(owners)])
        self._needs = {}
        return len(owners)

    async def take_need(self, receiver: int, gids, slots) -> None:
        """What partition ``receiver`` needs from this one (its gids, sorted, and its slots for them)."""
        self._pieces[int(receiver)] = (gids, slots)

    async def make_send_maps(self) -> list:
        """The send maps from what the receivers said; returns the receivers."""
        self.loop.plan.send_maps = send_maps_of(self.loop.partition, self._pieces)
        self._pieces = {}
        return [m.receiver for m in self.loop.plan.send_maps]

    # ------------------------------------------------------------ channels
    async def open(self, address: str) -> str:
        """Listen on ``address`` (protocol and host of this worker, port 0); returns the contact address."""
        return await self.loop.channels.listen(address)

    async def connect(self, addresses: list) -> list:
        """Open channels to the peers this partition sends to (``addresses`` by rank) and wait for the
        peers it receives from to connect."""
        plan, channels = self.loop.plan, self.loop.channels
        peers = {q: addresses[q] for q in plan.out_peers()}
        await channels.connect(peers)
        await channels.wait_accepted(plan.receive_peers())
        if plan.mode == "collective" and channels.kind == "mpi" and plan.n_partitions > 1:
            channels.open_collective([split_address(a)[2] for a in addresses])  # MPI's own all-gather
        if channels.device_buffers:
            self.loop.use_device_buffers()
        return sorted(peers)

    # ------------------------------------------------------------ running
    async def run(self, n_steps: int) -> dict:
        """Advance by ``n_steps`` steps, exchanging spikes once per interval; returns counters."""
        loop = self.loop
        loop.check_runnable()
        try:
            if loop.channels.on_loop:
                await self._run_on_loop(n_steps)
                return loop.counters()
            return await asyncio.get_running_loop().run_in_executor(self._pool, loop.run, n_steps)
        except BaseException as exc:
            loop.fail(exc)
            await loop.channels.close()  # peers see the channel close at once instead of waiting
            raise

    async def _run_on_loop(self, n_steps: int) -> None:
        """The driver for channels that live on the event loop (ucx): exchanges there, numerics inline
        while they are short, in the partition's thread once one step took longer than INLINE_S."""
        event_loop = asyncio.get_running_loop()
        steps, got, slow = self.loop.steps(n_steps), None, False
        while True:
            t0 = time.perf_counter()
            if slow:
                done, request = await event_loop.run_in_executor(self._pool, _advance, steps, got)
            else:
                done, request = _advance(steps, got)
            slow = time.perf_counter() - t0 > INLINE_S
            if done:
                return
            interval, sends, receives, overlap = request
            if overlap is not None:  # ucx sends from the loop: the overlapped work runs first
                if slow:
                    await event_loop.run_in_executor(self._pool, overlap)
                else:
                    overlap()
            got = await self.loop.channels.exchange_async(interval, sends, receives)

    # ------------------------------------------------------------ results
    def counters(self) -> dict:
        return self.loop.counters()

    def info(self) -> dict:
        return self.loop.info()

    def spikes(self, recorder_gid: int) -> list:
        return self.loop.spikes(recorder_gid)

    def voltages(self, voltmeter_gid: int) -> list:
        return self.loop.voltages(voltmeter_gid)

    def connections(self, network, projection=None):
        return self.loop.connections(network, projection)

    async def close(self) -> None:
        await self.loop.channels.close()
        self._pool.shutdown(wait=False)
