"""The Partition actor: one per worker, stepping its partition and exchanging spikes by itself.

The client calls :meth:`PartitionActor.run` once per ``sim.run``; the actor
then loops over the min-delay intervals on its own, on the worker's event
loop, which it yields at every message. Numerics of an interval that took
longer than :data:`INLINE_S` last time run in a dedicated thread instead (the
kernels release the GIL), so the loop stays free for heartbeats and the
dashboard however large the partition; short ones run inline, since handing
work to a thread costs ~0.2 ms here, more than a small interval's compute.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .exchange import filter_images, route
from .exchange.algorithms import bruck_allgather, bruck_peers, point_to_point
from .exchange.channels import Channels
from .results import connections_frame, voltage_chunks

__all__ = ["PartitionActor", "INLINE_S"]

#: numerics that took less than this (seconds) run on the event loop itself
INLINE_S = 0.05


class PartitionActor:
    """Holds one built :class:`~dsnn.partition.Partition` on its worker and runs it.

    ``plan`` gives ``rank``, ``n_partitions``, ``exchange`` ("p2p" or
    "collective"), ``in_peers`` (ranks that send to this one in p2p) and
    ``timeout`` (seconds a receive may wait).
    """

    def __init__(self, partition, send_maps, plan: dict):
        self.partition = partition
        self.send_maps = send_maps
        self.rank = int(plan["rank"])
        self.P = int(plan["n_partitions"])
        self.exchange = plan["exchange"]
        self.in_peers = list(plan["in_peers"])
        self.channels = Channels(self.rank, plan["timeout"])
        self.interval_index = 0
        self.timers = {"update": 0.0, "deliver": 0.0, "exchange": 0.0}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"dsnn-partition-{self.rank}")
        self.failed = None
        self._last: dict = {}  # seconds the last update / deliver took

    # ------------------------------------------------------------ channels
    async def open(self, address: str) -> str:
        """Listen on ``address`` (protocol and host of this worker, port 0); returns the contact address."""
        return await self.channels.listen(address)

    def out_peers(self) -> list:
        if self.exchange == "p2p":
            return [m.receiver for m in self.send_maps]
        return sorted(set(bruck_peers(self.rank, self.P)[0]))

    async def connect(self, addresses: list) -> list:
        """Open channels to the peers this partition sends to (``addresses`` by rank)."""
        peers = {q: addresses[q] for q in self.out_peers()}
        await self.channels.connect(peers)
        return sorted(peers)

    # ------------------------------------------------------------ running
    async def run(self, n_steps: int) -> dict:
        """Advance by ``n_steps`` steps, exchanging spikes once per interval; returns counters."""
        if self.failed:
            raise RuntimeError(f"partition {self.rank} failed earlier: {self.failed}")
        loop = asyncio.get_running_loop()
        L = self.partition.interval
        try:
            while n_steps > 0:
                n = min(L, n_steps)
                await self._interval(loop, n)
                n_steps -= n
        except BaseException as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            await self.channels.close()  # peers see the channel close at once instead of waiting
            raise
        return self.counters()

    async def _interval(self, loop, n: int) -> None:
        k = self.interval_index
        t0 = time.perf_counter()
        outgoing, block = await self._compute(loop, "update", self._update, n)
        t1 = time.perf_counter()
        if self.exchange == "p2p":
            received = await point_to_point(self.channels, k, outgoing, self.in_peers)
        else:
            blocks = await bruck_allgather(self.channels, k, self.rank, self.P, block)
            received = [np.concatenate(blocks[1:], axis=-1)] if len(blocks) > 1 else []
        t2 = time.perf_counter()
        if received:
            await self._compute(loop, "deliver", self._deliver, received)
        t3 = time.perf_counter()
        self.timers["update"] += t1 - t0
        self.timers["exchange"] += t2 - t1
        self.timers["deliver"] += t3 - t2
        self.interval_index += 1

    async def _compute(self, loop, what: str, fn, arg):
        if self._last.get(what, 0.0) < INLINE_S:
            t0 = time.perf_counter()
            out = fn(arg)
            self._last[what] = time.perf_counter() - t0
            return out
        t0 = time.perf_counter()
        out = await loop.run_in_executor(self._pool, fn, arg)
        self._last[what] = time.perf_counter() - t0
        return out

    def _update(self, n: int):
        """Advance, deliver the partition's own spikes, and prepare what goes out."""
        part = self.partition
        idx, steps = part.advance(n)
        part.deliver(idx, steps)
        if self.exchange == "p2p":
            return {m.receiver: np.stack(route(m, idx, steps)) for m in self.send_maps}, None
        return None, np.stack([part.local_gids[idx], steps])

    def _deliver(self, received: list) -> None:
        part = self.partition
        data = np.concatenate(received, axis=-1) if len(received) > 1 else received[0]
        if self.exchange == "p2p":
            part.deliver(data[0], data[1])
        else:
            part.deliver(*filter_images(part.image_gids, part.n_local, data[0], data[1]))

    # ------------------------------------------------------------ results
    def counters(self) -> dict:
        part = self.partition
        return {"rank": self.rank, "step": part.step, "spikes": part.spike_count,
                "bytes_sent": self.channels.bytes_sent, "messages_sent": self.channels.messages_sent,
                "timers": dict(self.timers)}

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
