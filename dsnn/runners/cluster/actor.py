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
from ...support.machine import cores
from ..handshake import needs_of, send_maps_of
from ..loop import ExchangePlan, PartitionLoop
from .workers import host_of

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


def _tls_contexts() -> tuple:
    """(server, client) ``ssl.SSLContext`` of this worker's TLS ``Security``: the cluster's certificates."""
    from distributed import get_worker

    security = get_worker().security
    return (security.get_listen_args("worker")["ssl_context"],
            security.get_connection_args("worker")["ssl_context"])


def _advance(steps, got):
    """Send ``got`` into the generator ``steps``: ``(True, None)`` when it finished, else ``(False, request)``."""
    try:
        return False, steps.send(got)
    except StopIteration:
        return True, None


class PartitionActor:
    """Holds one built partition on its worker and runs its :class:`PartitionLoop`.

    Made from partition ``rank``'s :class:`~dsnn.runners.cluster.graph.Directory` (what every partition of
    the build shares), its ``exchange`` mode ("p2p" or "collective") and ``timeout`` (seconds a receive
    may wait). It works out what its partition needs from each owner (its images, through the
    decomposition). Then, called once each by the client, the actors set up their channels among
    themselves, actor to actor through the workers' RPC: :meth:`open` listens, :meth:`introduce` tells
    each partition this one receives from its address (and for p2p what it needs from it, with its slots:
    the image handshake), and :meth:`connect` makes the send maps and connects to the partitions it sends
    to. No Dask task per pair of partitions, and nothing of size P x P through the client.
    """

    def __init__(self, partition, directory, rank: int, exchange: str, timeout: float):
        t0 = time.perf_counter()
        rank = int(rank)
        channels = Channels(rank, timeout, spin_s=spin_seconds(directory.on_host(rank), directory.on_worker(rank)),
                            device=partition.gpu, secret=directory.secret,
                            tls=_tls_contexts() if directory.scheme == "tls" else None)
        needs = {q: piece for q, piece in needs_of(partition, directory.decomposition).items()
                 if piece[0].shape[0]}
        plan = ExchangePlan(rank, directory.decomposition.n_partitions, exchange, [], sorted(needs))
        self.loop = PartitionLoop(partition, plan, channels)
        self.rank = rank
        self._directory = directory
        self._needs = needs if exchange == "p2p" else {}  # until told to the owners
        self._n_owners = len(needs)
        self._address = None  # this partition's channel address, once listening
        self._pieces: dict = {}  # receiver -> (gids, its slots) of what it needs from this partition (p2p)
        self._addresses: dict = {}  # partition this one sends to -> its channel address
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"dsnn-partition-{rank}")
        self.loop.warm_up()
        self._setup_s = time.perf_counter() - t0

    # ------------------------------------------------------------ channels and the image handshake
    async def open(self) -> str:
        """Listen for the partitions that send to this one (the directory's scheme, this worker's host, a
        free port); returns the contact address."""
        worker = self._directory.workers[self.rank]
        self._address = await self.loop.channels.listen(f"{self._directory.scheme}://{host_of(worker)}:0")
        return self._address

    async def introduce(self) -> int:
        """Tell every partition this one receives from its channel address, and for p2p which of their
        neurons it needs with its slots for them; returns how many owners it needs neurons of.

        Worker to worker through the worker's RPC (what an actor handle does inside, without the Dask
        client a handle opens on a worker, which would outlive the scheduler at shutdown)."""
        from distributed import get_worker
        from distributed.protocol import to_serialize

        worker = get_worker()

        async def tell(q):
            address, key = self._directory.actor(q)
            gids, slots = self._needs.get(q, (None, None))
            reply = await worker.rpc(address).actor_execute(
                function="take_receiver", actor=key, kwargs={},
                args=[to_serialize(self.rank), to_serialize(self._address), to_serialize(gids),
                      to_serialize(slots)])
            if reply["status"] != "OK":
                raise RuntimeError(f"partition {q} refused the introduction of partition {self.rank}: {reply!r}")

        await asyncio.gather(*[tell(q) for q in self.loop.plan.receive_peers()])
        self._needs = {}
        return self._n_owners

    async def take_receiver(self, receiver: int, address: str, gids, slots) -> None:
        """Partition ``receiver`` receives from this one at ``address``; for p2p it needs the neurons
        ``gids`` (sorted) of this partition, in its slots ``slots``."""
        self._addresses[int(receiver)] = address
        if gids is not None:
            self._pieces[int(receiver)] = (gids, slots)

    async def connect(self) -> list:
        """Make the send maps (p2p) from what the receivers said, open channels to the partitions this one
        sends to and wait for those it receives from to connect; returns the partitions it sends to."""
        plan, channels = self.loop.plan, self.loop.channels
        if plan.mode == "p2p":
            plan.send_maps = send_maps_of(self.loop.partition, self._pieces)
            self._pieces = {}
        missing = [q for q in plan.out_peers() if q not in self._addresses]
        if missing:
            raise RuntimeError(f"partition {self.rank} sends to partitions {missing}, which did not introduce "
                               "themselves")
        peers = {q: self._addresses[q] for q in plan.out_peers()}
        await channels.connect(peers)
        await channels.wait_accepted(plan.receive_peers())
        if plan.mode == "collective" and channels.kind == "mpi" and plan.n_partitions > 1:
            channels.open_collective(list(self._directory.world_ranks))  # MPI's own all-gather
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
        """The loop's :meth:`~PartitionLoop.info`, ``setup_s``: the seconds the actor took to start (its
        partition's needs, its kernels), and ``address``: where its channels listen."""
        return dict(self.loop.info(), setup_s=self._setup_s, address=self._address)

    def checkpoint(self, directory: str) -> dict:
        return self.loop.checkpoint(directory)

    def restore(self, path: str, manifest: dict) -> int:
        return self.loop.restore(path, manifest)

    def stream_recordings(self, directory: str, max_records: int) -> None:
        return self.loop.stream_recordings(directory, max_records)

    def membrane_potentials(self, gids) -> tuple:
        return self.loop.membrane_potentials(gids)

    def state_values(self, gids, name: str) -> tuple:
        return self.loop.state_values(gids, name)

    def set_membrane_potentials(self, gids, values) -> int:
        return self.loop.set_membrane_potentials(gids, values)

    def spikes(self, recorder_gid: int) -> list:
        return self.loop.spikes(recorder_gid)

    def voltages(self, voltmeter_gid: int) -> list:
        return self.loop.voltages(voltmeter_gid)

    def connections(self, network, projection: int | None = None):
        return self.loop.connections(network, projection)

    async def close(self) -> None:
        await self.loop.channels.close()
        self._pool.shutdown(wait=False)
