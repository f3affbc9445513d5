"""A network built on a Dask cluster: one Partition actor per worker.

The client makes a constant number of calls per ``run`` (one per actor); the
actors step and exchange spikes by themselves (:mod:`dsnn.actor`). Results
are gathered from the workers on request.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .build import time_ms
from .construction import worker_addresses
from .network import Network
from .results import memory_totals, sorted_connections, voltages_frame
from .progress import RunWatch
from .simulation import check_device, collect_spikes, run_steps

__all__ = ["ClusterSimulation"]

#: seconds between the client's checks of the actors and the workers during a call
POLL_S = 0.05


def _unreachable(exc: BaseException) -> bool:
    """Whether an actor call failed because its worker is gone (not because the actor raised)."""
    from distributed.comm.core import CommClosedError

    return isinstance(exc, (CommClosedError, ConnectionError)) or "Unable to contact Actor's worker" in str(exc)


def _snapshot(counters: list) -> tuple:
    """(spikes, spikes per population index, time split) from the actors' counters or progress."""
    populations: dict = {}
    for c in counters:
        for i, n in c["populations"].items():
            populations[i] = populations.get(i, 0) + n
    return sum(c["spikes"] for c in counters), populations, [c["timers"] for c in counters]


class ClusterSimulation:
    """A built network on a Dask cluster, ready to run (same methods as the in-process Simulation).

    Attributes
    ----------
    workers : list of str
        The worker address of each partition.
    exchange : str
        ``"p2p"`` or ``"collective"``.
    timeout : float
        Seconds a partition waits for one message before the run fails.
    """

    def __init__(self, client, network: Network, decomposition, exchange: str, actors, workers, info,
                 timeout: float, build_s: float):
        self.client = client
        self.network = network
        self.decomposition = decomposition
        self.exchange = exchange
        self.actors = actors
        self.workers = workers
        self.build_info = info
        self.timeout = timeout
        self.build_seconds = build_s
        self.step = 0
        self.last_counters: list = []

    @classmethod
    def build(cls, client, net: Network, decomposition, exchange: str, device: str, timeout: float):
        from .construction import build_on_cluster

        t0 = time.perf_counter()
        actors, workers, info = build_on_cluster(client, net, decomposition, exchange, device, timeout)
        return cls(client, net, decomposition, exchange, actors, workers, info, timeout,
                   time.perf_counter() - t0)

    # ----------------------------------------------------------------- calls
    def _call(self, what: str, method: str, *args, on_poll=None) -> list:
        """Call ``method`` on every actor and wait for all, failing clearly if one fails or is lost.

        A failed partition's own error is raised in preference to the
        "lost partition" errors it causes in its peers. ``on_poll()`` is
        called at every check while waiting.
        """
        futures = [getattr(a, method)(*args) for a in self.actors]
        results: dict = {}
        errors: dict = {}
        next_check = time.monotonic()
        first_error_at = None
        while len(results) + len(errors) < len(futures):
            for p, f in enumerate(futures):
                if p in results or p in errors or not f.done():
                    continue
                try:
                    results[p] = f.result()
                except Exception as exc:  # noqa: BLE001 - reported below with the partition
                    errors[p] = exc
                    first_error_at = first_error_at or time.monotonic()
            now = time.monotonic()
            if now >= next_check and len(results) + len(errors) < len(futures):
                next_check = now + 0.5
                alive = worker_addresses(self.client)
                for p, w in enumerate(self.workers):
                    if w not in alive and p not in results:
                        raise RuntimeError(f"{what}: lost partition {p}: its worker {w} left the cluster")
            if first_error_at is not None and now - first_error_at > 5.0:
                break  # the others are waiting on the failed one: no need to wait for their timeouts
            if on_poll is not None and not errors:
                on_poll()
            time.sleep(POLL_S)
        if errors:
            gone = [p for p, e in errors.items() if _unreachable(e)]
            if gone:
                p = gone[0]
                raise RuntimeError(f"{what}: lost partition {p}: its worker {self.workers[p]} cannot be "
                                   f"reached ({errors[p]})") from errors[p]
            root = [p for p, e in errors.items() if "lost partition" not in str(e)]
            p = root[0] if root else min(errors)
            raise RuntimeError(f"{what}: partition {p} failed: {errors[p]}") from errors[p]
        return [results[p] for p in range(len(futures))]

    # ----------------------------------------------------------------- running
    @property
    def time(self) -> float:
        """Simulated time so far, in ms."""
        return float(time_ms(self.step, self.network.dt))

    def run(self, t: float, progress: bool | None = None, view=None) -> None:
        """Advance the network by ``t`` ms (a multiple of dt); may be called again to go on.

        ``progress``: show a progress bar (default: where someone watches);
        ``view``: a :class:`dsnn.dashboard.LiveView` to update during the run.
        Both ask the actors for a snapshot a few times a second, never per
        interval (see :mod:`dsnn.progress`).
        """
        n_steps = run_steps(t, self.network.dt)
        if n_steps == 0:
            return
        watch = RunWatch(t, self.time, _snapshot(self.last_counters), progress, view)
        polls: list = []

        def poll():
            nonlocal polls
            if polls and all(f.done() for f in polls):
                done = [f.result() for f in polls]
                step = min(d["step"] for d in done) - self.step
                watch.update(float(time_ms(max(step, 0), self.network.dt)), _snapshot(done))
                polls = []
            if not polls and watch.due():
                polls = [a.counters() for a in self.actors]

        try:
            self.last_counters = self._call("run", "run", n_steps, on_poll=poll if watch.active else None)
        except BaseException:
            watch.close()
            raise
        self.step += n_steps
        watch.close(_snapshot(self.last_counters))

    @property
    def timers(self) -> list:
        """Per partition: seconds spent in update, deliver, exchange and wait (see PartitionActor.time_split)."""
        return [c["timers"] for c in self.counters()]

    def counters(self) -> list:
        """Per partition: step, spikes, bytes and messages sent, timers."""
        return self._call("counters", "counters")

    # ----------------------------------------------------------------- results
    def spikes(self, recorder=None):
        """Spikes recorded by ``recorder`` (default: every spike_recorder): DataFrame with columns sender
        (gid), time (ms) and population (its label)."""
        return collect_spikes(self, recorder, lambda gid: [c for part in self._call("spikes", "spikes", gid)
                                                           for c in part])

    def voltages(self, voltmeter):
        """V_m sampled by ``voltmeter``: DataFrame with columns sender, time (ms), V_m (mV)."""
        vm = check_device(self, voltmeter, "voltmeter", "voltages")
        chunks = [c for part in self._call("voltages", "voltages", vm.first) for c in part]
        return voltages_frame(chunks, vm.params, self.network.dt)

    def connections(self, projection=None):
        """Synapses gathered from every partition: DataFrame source, target, weight (pA), delay (ms)."""
        frames = self._call("connections", "connections", self.network, projection)
        return sorted_connections(pd.concat(frames, ignore_index=True))

    def info(self) -> list:
        """Per partition: neurons, images, synapses, bytes held, whether on a GPU."""
        return self._call("info", "info")

    @property
    def n_synapses(self) -> int:
        return sum(i["n_synapses"] for i in self.info())

    def memory(self) -> dict:
        """Bytes held by all partitions, by kind, and bytes per synapse."""
        infos = self.info()
        return memory_totals([i["nbytes"] for i in infos], sum(i["n_synapses"] for i in infos))

    def exchanged_bytes(self, headers: bool = False) -> int:
        """Payload bytes all partitions sent to each other so far; with ``headers``, the messages' headers
        (56 bytes each) too."""
        return int(np.sum([c["wire_bytes_sent" if headers else "bytes_sent"] for c in self.counters()]))

    def close(self) -> None:
        """Close the channels and release the actors."""
        try:
            self._call("close", "close")
        finally:
            self.actors = []

    def __repr__(self) -> str:
        return (f"<dsnn.ClusterSimulation: {len(self.workers)} partitions on a Dask cluster, exchange "
                f"{self.exchange}, t = {self.time} ms>")
