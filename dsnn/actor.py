"""The Partition actor: one per worker, stepping its partition and exchanging spikes by itself.

The client calls :meth:`PartitionActor.run` once per ``sim.run``; the actor
then loops over the min-delay intervals on its own. Over TCP the whole loop
runs in a dedicated thread: numerics (the kernels release the GIL) and the
exchange over the partition's direct sockets (:mod:`dsnn.exchange.channels`),
so the worker's event loop stays free for heartbeats and the dashboard
however large the partition, and nothing is handed between threads per
interval. Over UCX the endpoints live on the event loop, so the loop runs
there, exchanging on the loop and moving numerics to the thread only when
they are long enough to delay the loop. A partition on the GPU exchanging
over UCX keeps its spikes in GPU memory from update to delivery: routing
runs there, and its messages go GPU-direct (only a copy for recording and
counters comes to the host).
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .exchange import filter_images, route
from .exchange.algorithms import bruck_allgather, bruck_peers, point_to_point, run_blocking
from .exchange.channels import Channels
from .results import connections_frame, voltage_chunks

__all__ = ["PartitionActor", "INLINE_S"]

#: over ucx, numerics that took less than this (seconds) run on the event loop itself: handing work
#: to a thread costs ~0.2 ms there, more than a small interval's compute
INLINE_S = 0.05


#: seconds a waiting partition polls its sockets before it sleeps, where it has a core of its own
SPIN_S = 50e-6


def _spin_s(partitions_on_host: int) -> float:
    """:data:`SPIN_S` if this host has a core for each of its partitions, else 0 (spinning would
    take the core of the partition being waited for)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return SPIN_S if partitions_on_host <= cores else 0.0


def _device_tables(partition, send_maps):
    """The exchange's lookup tables in GPU memory: (send maps, local gids, image gids)."""
    from . import gpu
    from .exchange import SendMap

    cp = gpu.cupy()
    maps = [SendMap(m.receiver, cp.asarray(m.local), cp.asarray(m.slots)) for m in send_maps]
    return maps, cp.asarray(partition.local_gids), cp.asarray(partition.image_gids)


def _advance(steps, got):
    """Send ``got`` into the generator ``steps``: ``(True, None)`` when it finished, else ``(False, request)``."""
    try:
        return False, steps.send(got)
    except StopIteration:
        return True, None


class PartitionActor:
    """Holds one built :class:`~dsnn.partition.Partition` on its worker and runs it.

    ``plan`` gives ``rank``, ``n_partitions``, ``exchange`` ("p2p" or
    "collective"), ``in_peers`` (ranks that send to this one in p2p),
    ``timeout`` (seconds a receive may wait) and ``partitions_on_host``
    (how many partitions share this worker's host).
    """

    def __init__(self, partition, send_maps, plan: dict):
        self.partition = partition
        self.send_maps = send_maps
        self.rank = int(plan["rank"])
        self.P = int(plan["n_partitions"])
        self.exchange = plan["exchange"]
        self.in_peers = list(plan["in_peers"])
        self.channels = Channels(self.rank, plan["timeout"], spin_s=_spin_s(plan.get("partitions_on_host", 1)),
                                 device=partition.gpu)
        self._device = None  # (send maps, local gids, image gids) in GPU memory, for GPU-direct exchange
        self.interval_index = 0
        self.timers = {"update": 0.0, "deliver": 0.0, "exchange": 0.0}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"dsnn-partition-{self.rank}")
        self.failed = None

    # ------------------------------------------------------------ channels
    async def open(self, address: str) -> str:
        """Listen on ``address`` (protocol and host of this worker, port 0); returns the contact address."""
        return await self.channels.listen(address)

    def out_peers(self) -> list:
        if self.exchange == "p2p":
            return [m.receiver for m in self.send_maps]
        return sorted(set(bruck_peers(self.rank, self.P)[0]))

    def _receive_peers(self) -> list:
        if self.exchange == "p2p":
            return self.in_peers
        return sorted(set(bruck_peers(self.rank, self.P)[1]))

    async def connect(self, addresses: list) -> list:
        """Open channels to the peers this partition sends to (``addresses`` by rank) and wait for the
        peers it receives from to connect."""
        peers = {q: addresses[q] for q in self.out_peers()}
        await self.channels.connect(peers)
        await self.channels.wait_accepted(self._receive_peers())
        if self.channels.device_buffers:
            self._device = _device_tables(self.partition, self.send_maps)
        return sorted(peers)

    # ------------------------------------------------------------ running
    async def run(self, n_steps: int) -> dict:
        """Advance by ``n_steps`` steps, exchanging spikes once per interval; returns counters."""
        if self.failed:
            raise RuntimeError(f"partition {self.rank} failed earlier: {self.failed}")
        try:
            if self.channels.on_loop:
                await self._run_on_loop(n_steps)
            else:
                await asyncio.get_running_loop().run_in_executor(self._pool, self._run_in_thread, n_steps)
        except BaseException as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            await self.channels.close()  # peers see the channel close at once instead of waiting
            raise
        return self.counters()

    def _lengths(self, n_steps: int):
        """Steps of each interval of a run of ``n_steps`` steps."""
        L = self.partition.interval
        while n_steps > 0:
            yield min(L, n_steps)
            n_steps -= L

    def _run_in_thread(self, n_steps: int) -> None:
        for n in self._lengths(n_steps):
            run_blocking(self._interval(n), self.channels)

    async def _run_on_loop(self, n_steps: int) -> None:
        """The run loop for channels that live on the event loop (ucx): exchanges there, numerics inline
        while they are short, in the partition's thread once one step took longer than INLINE_S."""
        loop = asyncio.get_running_loop()
        slow = False
        for n in self._lengths(n_steps):
            steps, got = self._interval(n), None
            while True:
                t0 = time.perf_counter()
                if slow:
                    done, request = await loop.run_in_executor(self._pool, _advance, steps, got)
                else:
                    done, request = _advance(steps, got)
                slow = time.perf_counter() - t0 > INLINE_S
                if done:
                    break
                interval, sends, receives, overlap = request
                if overlap is not None:  # ucx sends from the loop: the overlapped work runs first
                    if slow:
                        await loop.run_in_executor(self._pool, overlap)
                    else:
                        overlap()
                got = await self.channels.exchange_async(interval, sends, receives)

    def _interval(self, n: int):
        """One interval of ``n`` steps: update, exchange (a generator of exchange steps) with the delivery
        of the partition's own spikes while the messages travel, then delivery of what arrived."""
        k = self.interval_index
        t0 = time.perf_counter()
        outgoing, block, idx, steps = self._update(n)
        local_s = 0.0

        def deliver_own():
            nonlocal local_s
            t = time.perf_counter()
            self.partition.deliver(idx, steps)
            local_s = time.perf_counter() - t

        t1 = time.perf_counter()
        if self.exchange == "p2p":
            received = yield from point_to_point(k, outgoing, self.in_peers, deliver_own)
        else:
            blocks = yield from bruck_allgather(k, self.rank, self.P, block, deliver_own)
            received = [np.concatenate(blocks[1:], axis=-1)] if len(blocks) > 1 else []
        t2 = time.perf_counter()
        if received:
            self._deliver(received)
        t3 = time.perf_counter()
        self.timers["update"] += t1 - t0
        self.timers["exchange"] += t2 - t1 - local_s
        self.timers["deliver"] += t3 - t2 + local_s
        self.interval_index += 1

    def _update(self, n: int):
        """Advance and prepare what goes out (in GPU memory where the exchange is GPU-direct: NumPy's
        functions dispatch to CuPy there); returns (p2p messages, collective block, spikes)."""
        part = self.partition
        send_maps, local_gids, _ = self._device or (self.send_maps, part.local_gids, None)
        idx, steps = part.advance(n, device=self._device is not None)
        if self.exchange == "p2p":
            return {m.receiver: np.stack(route(m, idx, steps)) for m in send_maps}, None, idx, steps
        return None, np.stack([local_gids[idx], steps]), idx, steps

    def _deliver(self, received: list) -> None:
        part = self.partition
        data = np.concatenate(received, axis=-1) if len(received) > 1 else received[0]
        if self.exchange == "p2p":
            part.deliver(data[0], data[1])
        else:
            image_gids = part.image_gids if self._device is None else self._device[2]
            part.deliver(*filter_images(image_gids, part.n_local, data[0], data[1]))

    # ------------------------------------------------------------ results
    def counters(self) -> dict:
        """Step, spikes (in all and per population index), bytes and messages sent, time split; also read
        while a run goes on (by progress bars and live views)."""
        part = self.partition
        return {"rank": self.rank, "step": part.step, "spikes": part.spike_count,
                "populations": part.population_spikes(),
                "bytes_sent": self.channels.bytes_sent, "messages_sent": self.channels.messages_sent,
                "device_bytes_sent": self.channels.device_bytes_sent,
                "wire_bytes_sent": self.channels.wire_bytes_sent, "timers": self.time_split()}

    def time_split(self) -> dict:
        """Seconds spent so far in update, deliver, exchange (framing, sending, reading) and wait (blocked
        for peers: their compute time beyond ours, and the transport's latency)."""
        wait = self.channels.wait_s
        return {"update": self.timers["update"], "deliver": self.timers["deliver"],
                "exchange": max(self.timers["exchange"] - wait, 0.0), "wait": wait}

    def info(self) -> dict:
        part = self.partition
        return {"n_local": part.n_local, "n_images": int(part.image_gids.shape[0]),
                "n_synapses": part.n_synapses, "nbytes": part.nbytes(), "gpu": part.gpu,
                "interval": part.interval}

    def spikes(self, recorder_gid: int) -> list:
        """(gids, update steps) chunks recorded for ``recorder_gid``."""
        return list(self.partition.recorded_spikes.get(recorder_gid, []))

    def voltages(self, voltmeter_gid: int) -> list:
        return voltage_chunks(self.partition, voltmeter_gid)

    def connections(self, network, projection=None):
        return connections_frame([self.partition], network, projection)

    async def close(self) -> None:
        await self.channels.close()
        self._pool.shutdown(wait=False)
