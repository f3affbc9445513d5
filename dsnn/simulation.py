"""Simulation: run the partitions interval by interval and gather results.

:meth:`Simulation.build_local` is the in-process runner: all partitions live
in this process and exchange spikes each interval exactly as the distributed
runner does (point-to-point through send maps, or one all-to-all phase
filtered by image maps). It is the reference for the distributed runs.
"""

from __future__ import annotations

import math
import numbers
import time

import numpy as np
import pandas as pd

from . import gpu
from .build import build_partition, steps_of, time_ms
from .exchange import filter_images, needs_by_owner, route, send_map
from .network import Network, Population, on_grid
from .progress import RunWatch
from .results import (connections_frame, label_spikes, memory_totals, spike_recorders, spikes_frame, voltage_chunks,
                      voltages_frame)

__all__ = ["Simulation"]


def run_steps(t, dt: float) -> int:
    """Steps in a run of ``t`` ms, validated: finite, >= 0 and a multiple of ``dt``."""
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t) or t < 0:
        raise ValueError(f"run: t must be a finite time >= 0 ms, got {t!r}")
    if not on_grid(float(t), dt):
        raise ValueError(f"run: t must be a multiple of dt={dt} ms, got {t!r}")
    return steps_of(float(t), dt)


def collect_spikes(sim, recorder, chunks_of) -> pd.DataFrame:
    """Spikes of ``recorder`` (or of every spike_recorder where None) as a DataFrame sender, time (ms),
    population; ``chunks_of(recorder_gid)`` gives the recorded (gids, steps) chunks."""
    recorders = spike_recorders(sim.network) if recorder is None else [
        check_device(sim, recorder, "spike_recorder", "spikes")]
    frames = [spikes_frame(chunks_of(rec.first), rec.params, sim.network.dt) for rec in recorders]
    if not frames:
        frames = [spikes_frame([], {"origin": 0.0, "start": 0.0, "stop": np.inf}, sim.network.dt)]
    spikes = frames[0]
    if len(frames) > 1:  # a neuron two recorders record counts once
        spikes = pd.concat(frames).drop_duplicates().sort_values(["time", "sender"], ignore_index=True)
    return label_spikes(spikes, sim.network)


def check_device(sim, dev, model: str, what: str) -> Population:
    """``dev`` if it is a ``model`` device of ``sim``'s network, else ValueError."""
    if not isinstance(dev, Population) or dev.network is not sim.network or dev.model != model:
        raise ValueError(f"{what}: expected a {model} of this network, got {dev!r}")
    return dev


class Simulation:
    """A built network, ready to run.

    Attributes
    ----------
    network : Network
        The description it was built from.
    partitions : list of Partition
        The partitions (in-process runner).
    exchange : str
        ``"p2p"`` or ``"collective"``.
    """

    def __init__(self, network: Network, decomposition, exchange: str, partitions, maps, build_s: float):
        self.network = network
        self.decomposition = decomposition
        self.exchange = exchange
        self.partitions = partitions
        self.maps = maps
        self.build_seconds = build_s
        self.step = 0
        self.timers = {"update": 0.0, "exchange": 0.0, "deliver": 0.0}

    @classmethod
    def build_local(cls, net: Network, decomposition, exchange: str, device: str = "cpu") -> "Simulation":
        t0 = time.perf_counter()
        parts = [build_partition(net, decomposition, p) for p in range(decomposition.n_partitions)]
        if device == "gpu" or (device == "auto" and gpu.available()):
            parts = [part.to_gpu() for part in parts]
        maps = image_maps(parts)
        return cls(net, decomposition, exchange, parts, maps, time.perf_counter() - t0)

    # ----------------------------------------------------------------- running
    @property
    def time(self) -> float:
        """Simulated time so far, in ms."""
        return float(time_ms(self.step, self.network.dt))

    @property
    def interval(self) -> int:
        """Steps per exchange interval (the minimum delay between neurons)."""
        return self.partitions[0].interval

    def run(self, t: float, progress: bool | None = None, view=None) -> None:
        """Advance the network by ``t`` ms (a multiple of dt); may be called again to go on.

        ``progress``: show a progress bar (default: where someone watches);
        ``view``: a :class:`dsnn.dashboard.LiveView` to update during the run
        (see :mod:`dsnn.progress`).
        """
        total = remaining = run_steps(t, self.network.dt)
        watch = RunWatch(t, self.time, self.snapshot(), progress, view)
        L = self.interval
        try:
            while remaining > 0:
                n = min(L, remaining)
                self._interval(n)
                remaining -= n
                self.step += n
                if watch.due():
                    watch.update(float(time_ms(total - remaining, self.network.dt)), self.snapshot())
        except BaseException:
            watch.close()
            raise
        watch.close(self.snapshot())

    def snapshot(self) -> tuple:
        """(spikes so far, spikes per population index, time split): what progress bars and views show."""
        populations: dict = {}
        for part in self.partitions:
            for i, n in part.population_spikes().items():
                populations[i] = populations.get(i, 0) + n
        return self.spike_count, populations, [dict(self.timers, wait=0.0)]

    @property
    def spike_count(self) -> int:
        """Spikes emitted by all neurons so far."""
        return sum(int(part.spike_count) for part in self.partitions)

    def _interval(self, n_steps: int) -> None:
        t0 = time.perf_counter()
        out = [part.advance(n_steps) for part in self.partitions]
        t1 = time.perf_counter()
        incoming = [[(idx, steps)] for idx, steps in out]
        if self.exchange == "p2p":
            for p, maps in enumerate(self.maps):
                for m in maps:
                    incoming[m.receiver].append(route(m, *out[p]))
        else:
            gids = np.concatenate([part.local_gids[idx] for part, (idx, _) in zip(self.partitions, out)])
            steps = np.concatenate([s for _, s in out])
            owner = np.concatenate([np.full(idx.shape[0], p) for p, (idx, _) in enumerate(out)])
            for q, part in enumerate(self.partitions):
                incoming[q].append(filter_images(part.image_gids, part.n_local, gids[owner != q],
                                                 steps[owner != q]))
        t2 = time.perf_counter()
        for part, parts_in in zip(self.partitions, incoming):
            part.deliver(np.concatenate([s for s, _ in parts_in]), np.concatenate([t for _, t in parts_in]))
        t3 = time.perf_counter()
        self.timers["update"] += t1 - t0
        self.timers["exchange"] += t2 - t1
        self.timers["deliver"] += t3 - t2

    # ----------------------------------------------------------------- results
    def spikes(self, recorder: Population | None = None):
        """Spikes recorded by ``recorder`` (default: every spike_recorder): DataFrame with columns sender
        (gid), time (ms) and population (its label)."""
        return collect_spikes(self, recorder, lambda gid: [c for part in self.partitions
                                                           for c in part.recorded_spikes.get(gid, [])])

    def voltages(self, voltmeter: Population):
        """V_m sampled by ``voltmeter``: DataFrame with columns sender, time (ms), V_m (mV)."""
        vm = check_device(self, voltmeter, "voltmeter", "voltages")
        chunks = [c for part in self.partitions for c in voltage_chunks(part, vm.first)]
        return voltages_frame(chunks, vm.params, self.network.dt)

    def connections(self, projection=None):
        """Synapses (neuron and spike_generator sources): DataFrame source, target, weight (pA), delay (ms)."""
        return connections_frame(self.partitions, self.network, projection)

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.partitions)

    def memory(self) -> dict:
        """Bytes held by all partitions, by kind, and bytes per synapse."""
        return memory_totals([part.nbytes() for part in self.partitions], self.n_synapses)

    def __repr__(self) -> str:
        return (f"<dsnn.Simulation: {len(self.partitions)} partitions (in-process), exchange {self.exchange}, "
                f"{self.n_synapses} synapses, t = {self.time} ms>")


def image_maps(parts) -> list:
    """Send maps of every partition, from what every partition needs of every other."""
    firsts = np.array([p.local_gids[0] for p in parts])
    needs = [needs_by_owner(part.image_gids, part.n_local, firsts) for part in parts]
    return [[send_map(part.local_gids, q, *needs[q][p]) for q in range(len(parts)) if p in needs[q]]
            for p, part in enumerate(parts)]
