"""The in-process runner: every partition in this process, stepped by the one partition loop.

Partitions exchange through in-memory channels (:mod:`dsnn.exchange.memory`)
with the same algorithms as on a cluster, Bruck's all-gather included.
``threads`` threads each drive a contiguous block of the partitions: a
thread advances each of its partitions until it waits for messages, then
the next, and sleeps only when all of its partitions wait. The kernels
release the GIL, so partitions on different threads compute at once; the
rest of an interval (framing, routing, the loop itself: ~0.1 ms per
partition) holds it. So threads pay only where an interval has enough
compiled work: by default one thread per core (at most one per partition)
where every partition updates at least :data:`THREADED_NEURON_STEPS`
neuron-steps per interval, else one thread (measured here, 2 cores:
Brunel at scale 0.5, 94k neuron-steps per partition and interval, runs
1.7x faster on 2 threads; the microcircuit at scale 0.1 with 0.1 ms
intervals, 3.9k, 10-20 % slower). A partition that fails closes its
channels, so the others stop at once with "lost partition"; the run then
raises the first partition's own error.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from ..backends import gpu
from ..construction import estimate
from ..construction.build import build_partition
from ..exchange.channels import Channels
from ..exchange.framing import ExchangeError
from ..exchange.memory import MemoryHub
from ..support.jit import compile_seconds
from ..support.machine import cores
from .handshake import exchange_plans
from .loop import PartitionLoop
from .simulation import Simulation

__all__ = ["build_in_process", "InProcessRunner"]

#: seconds the client thread sleeps between two looks at a running run
POLL_S = 0.05

#: neuron-steps per interval that every partition must update for the default to use several threads
THREADED_NEURON_STEPS = 20_000


def default_threads(decomposition, interval: int) -> int:
    """Threads for the partitions of ``decomposition`` with ``interval`` steps per interval: one per core
    (at most one per partition) where every partition has :data:`THREADED_NEURON_STEPS` to update per
    interval, else 1 (see the module docstring)."""
    if min(decomposition.sizes()) * interval < THREADED_NEURON_STEPS:
        return 1
    return min(decomposition.n_partitions, cores())


def build_in_process(net, decomposition, exchange: str, device: str, timeout: float,
                     threads: int | None = None) -> Simulation:
    """Build every partition of ``decomposition`` in this process (refusing, before any work, a network
    that does not fit in this host's memory) and return its :class:`Simulation`; ``threads`` None is
    :func:`default_threads`."""
    P = decomposition.n_partitions
    if device == "gpu":
        gpu.require()
    estimate.check_fits(estimate.partition_bytes(net, decomposition), [estimate.host_available_bytes()] * P,
                        ["this process"] * P)
    t0, c0 = time.perf_counter(), compile_seconds()
    parts = [build_partition(net, decomposition, p) for p in range(P)]
    if device == "gpu" or (device == "auto" and gpu.available()):
        parts = [part.to_gpu() for part in parts]
    hub = MemoryHub(P)
    plans = exchange_plans(parts, decomposition, exchange)
    loops = [PartitionLoop(part, plan, Channels.in_memory(hub, p, timeout))
             for p, (part, plan) in enumerate(zip(parts, plans))]
    for loop in loops:
        loop.warm_up()
    if threads is None:
        threads = default_threads(decomposition, net.min_delay_steps)
    runner = InProcessRunner(loops, hub, timeout, threads)
    return Simulation(net, decomposition, exchange, runner, time.perf_counter() - t0, compile_seconds() - c0)


class InProcessRunner:
    """Runs the partition loops of one process in ``threads`` threads over in-memory channels."""

    workers = None

    def __init__(self, loops: list, hub: MemoryHub, timeout: float, threads: int = 1):
        self.loops = loops
        self.hub = hub
        self.timeout = timeout
        self.threads = max(1, min(int(threads), len(loops)))
        self._closed = False

    @property
    def partitions(self) -> list:
        return [loop.partition for loop in self.loops]

    def run(self, n_steps: int, on_poll=None) -> list:
        """Advance every partition by ``n_steps`` steps; ``on_poll()`` is called every :data:`POLL_S`
        seconds meanwhile. Returns the partitions' counters."""
        if self._closed:
            raise RuntimeError("run: this simulation was closed")
        for loop in self.loops:
            loop.check_runnable()
        bounds = [round(i * len(self.loops) / self.threads) for i in range(self.threads + 1)]
        groups = [self.loops[a:b] for a, b in zip(bounds, bounds[1:])]  # neighbours share a thread
        with ThreadPoolExecutor(self.threads, thread_name_prefix="dsnn-partitions") as pool:
            futures = [pool.submit(self._drive, group, n_steps) for group in groups]
            try:
                while not all(f.done() for f in futures):
                    wait(futures, timeout=POLL_S, return_when=FIRST_EXCEPTION)
                    if on_poll is not None:
                        on_poll()
            except BaseException as exc:  # interrupted: stop the partitions, then let the error through
                for loop in self.loops:
                    loop.fail(exc)
                    self.hub.close(loop.rank, f"run interrupted ({type(exc).__name__})")
                raise
        errors = {}
        for f in futures:
            if f.exception() is not None:
                errors.update(getattr(f.exception(), "partition_errors", {}))
        if errors:
            root = [p for p, e in errors.items() if "lost partition" not in str(e)]
            p = min(root) if root else min(errors)
            error = errors[p]
            raise RuntimeError(f"run: partition {p} failed: {type(error).__name__}: {error}") from error
        return [loop.counters() for loop in self.loops]

    def _drive(self, loops: list, n_steps: int) -> None:
        """Advance the partitions ``loops`` by ``n_steps`` steps in this thread (see the module docstring).

        The time a partition is pending (its thread sleeping, or stepping its other partitions) counts as
        its wait, so that its exchange time is its own framing and copying.
        """
        pending = {}  # rank -> (loop, generator, the exchange step it waits in, since when)

        def advance(loop, steps, got):
            """Run ``loop`` until it waits for messages (then it is pending) or its run ends."""
            while True:
                try:
                    request = steps.send(got)
                except StopIteration:
                    return
                interval, sends, receives, overlap = request
                loop.channels.post(interval, sends)
                if overlap is not None:
                    overlap()
                if not loop.channels.ready(receives):
                    pending[loop.rank] = (loop, steps, request, time.perf_counter())
                    return
                got = loop.channels.take(interval, receives)

        errors = {}
        try:
            for loop in loops:
                try:
                    steps = loop.steps(n_steps)
                    advance(loop, steps, None)
                except BaseException as exc:
                    errors[loop.rank] = exc
                    raise
            while pending:
                progressed = False
                for rank, (loop, steps, (interval, _, receives, _), since) in list(pending.items()):
                    try:
                        if loop.channels.ready(receives):
                            del pending[rank]
                            loop.channels.count_wait(time.perf_counter() - since)
                            advance(loop, steps, loop.channels.take(interval, receives))
                            progressed = True
                    except BaseException as exc:
                        errors[rank] = exc
                        raise
                if not progressed:
                    self._wait(pending)
        except BaseException as exc:
            for loop in loops:
                loop.fail(errors.get(loop.rank, exc))
                self.hub.close(loop.rank, f"partition {loop.rank} stopped: {type(exc).__name__}")
            exc.partition_errors = errors or {loops[0].rank: exc}
            raise

    def _wait(self, pending: dict) -> None:
        """Sleep until a message arrives for a pending partition (ExchangeError after ``timeout`` s)."""
        deadline = time.monotonic() + self.timeout
        with self.hub.condition:
            while not any(loop.channels.ready(request[2]) for loop, _, request, _ in pending.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    loop, _, (interval, _, receives, _), _ = next(iter(pending.values()))
                    late = next(q for q in receives if not loop.channels.ready({q: 0}))
                    raise ExchangeError(f"partition {loop.rank} received nothing from partition {late} for "
                                        f"interval {interval} within {self.timeout:g} s (lost partition {late}?)")
                self.hub.wait(remaining)

    def call(self, what: str, method: str, *args) -> list:
        """``method(*args)`` of every partition loop, in partition order."""
        return [getattr(loop, method)(*args) for loop in self.loops]

    def poll_counters(self, due: bool) -> list | None:
        """The partitions' counters now, if ``due`` (they are read directly, while the run goes on)."""
        return [loop.counters() for loop in self.loops] if due else None

    def close(self) -> None:
        for loop in self.loops:
            self.hub.close(loop.rank, "simulation closed")
        self._closed = True

