"""The partition loop: update, exchange and deliver, once per min-delay interval, for every runner.

A :class:`PartitionLoop` owns one built partition, its :class:`ExchangePlan`
and its :class:`~dsnn.exchange.channels.Channels`. :meth:`PartitionLoop.steps`
is the whole run as a generator of exchange steps (the algorithms of
:mod:`dsnn.exchange.algorithms`): whoever drives it decides how the
messages move and how long to wait. Three drivers exist, one loop:

- a blocking one (:meth:`PartitionLoop.run`): the partition's own thread
  drives its tcp sockets (a cluster actor) or its in-memory channels; over
  shared memory, where an interval is one exchange step (point-to-point,
  or the collective of two partitions), it skips the generators and the
  generic framing: the spike messages are written and read in compiled
  calls (:meth:`PartitionLoop._interval_direct`);
- one on the worker's event loop, for ucx endpoints
  (:mod:`dsnn.runners.cluster.actor`);
- one thread driving several partitions of one process over in-memory
  channels (:mod:`dsnn.runners.in_process`).

Within an interval the partition delivers its own spikes while its
messages travel (the algorithms' ``overlap``), then what arrived.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..exchange import SendMap, filter_images, route
from ..exchange.algorithms import ALLGATHER, bruck_allgather, bruck_peers, point_to_point, run_blocking
from ..support.jit import compile_seconds

__all__ = ["ExchangePlan", "PartitionLoop"]

_NO_IMAGES = np.zeros(0, dtype=np.int64)


class _OwnDelivery:
    """The delivery of a partition's own spikes of an interval, run while its messages travel; ``seconds``:
    how long it took."""

    __slots__ = ("partition", "idx", "steps", "seconds")

    def __init__(self, partition, idx, steps):
        self.partition, self.idx, self.steps, self.seconds = partition, idx, steps, 0.0

    def __call__(self) -> None:
        t = time.perf_counter()
        self.partition.deliver(self.idx, self.steps)
        self.seconds = time.perf_counter() - t


@dataclass
class ExchangePlan:
    """How partition ``rank`` of ``n_partitions`` exchanges spikes.

    ``mode`` is ``"p2p"`` (one message to each partition that needs some of
    its neurons, through ``send_maps``, and one from each of ``in_peers``) or
    ``"collective"`` (Bruck's all-gather, filtered through the partition's
    image table on arrival).
    """

    rank: int
    n_partitions: int
    mode: str
    send_maps: list = field(default_factory=list)
    in_peers: list = field(default_factory=list)

    def out_peers(self) -> list:
        """The partitions this one sends to."""
        if self.mode == "p2p":
            return [m.receiver for m in self.send_maps]
        return sorted(set(bruck_peers(self.rank, self.n_partitions)[0]))

    def receive_peers(self) -> list:
        """The partitions this one receives from."""
        if self.mode == "p2p":
            return list(self.in_peers)
        return sorted(set(bruck_peers(self.rank, self.n_partitions)[1]))


class PartitionLoop:
    """One partition, stepped and exchanging spikes interval by interval (see the module docstring)."""

    def __init__(self, partition, plan: ExchangePlan, channels):
        self.partition = partition
        self.plan = plan
        self.channels = channels
        self.rank = plan.rank
        self.interval_index = 0
        self.timers = {"update": 0.0, "deliver": 0.0, "exchange": 0.0}
        self._log_s = partition.log_s  # the partition's log seconds already in the timers
        self.failed = None  # why a run failed: the state is then mid-interval, so no run may follow
        self._stream = None  # (directory, most records held) where recordings are streamed to files
        self._stream_since = 0
        self._device = None  # (send maps, local gids, image gids) in GPU memory, for GPU-direct exchange

    def use_device_buffers(self) -> None:
        """Keep the exchange's tables in GPU memory: spikes then stay there from update to delivery (for
        channels whose :attr:`~dsnn.exchange.channels.Channels.device_buffers` is true)."""
        from ..backends import gpu

        cp = gpu.cupy()
        part = self.partition
        maps = [SendMap(m.receiver, cp.asarray(m.local), cp.asarray(m.slots)) for m in self.plan.send_maps]
        self._device = (maps, cp.asarray(part.local_gids), cp.asarray(part.image_gids))

    def warm_up(self) -> float:
        """Compile (or load) the partition's kernels now, not during the first run; returns the seconds
        this process spent compiling or loading kernels meanwhile."""
        before = compile_seconds()
        self.partition.warm_up()
        return compile_seconds() - before

    # ------------------------------------------------------------------ running
    def check_runnable(self) -> None:
        if self.failed:
            raise RuntimeError(f"partition {self.rank} failed earlier: {self.failed}")

    def fail(self, exc: BaseException) -> None:
        """Remember why a run of this partition ended early (later runs refuse to start)."""
        self.failed = self.failed or f"{type(exc).__name__}: {exc}"

    def run(self, n_steps: int) -> dict:
        """Advance by ``n_steps`` steps, exchanging with blocking :meth:`Channels.exchange` calls from this
        thread; returns :meth:`counters`."""
        self.check_runnable()
        try:
            if self._spike_messages():
                for n in self._intervals(n_steps):
                    self._interval_direct(n)
                self.flush_recordings()
            else:
                run_blocking(self.steps(n_steps), self.channels)
        except BaseException as exc:
            self.fail(exc)
            raise
        return self.counters()

    def steps(self, n_steps: int):
        """A run of ``n_steps`` steps as a generator of exchange steps ``(interval, sends, receives,
        overlap)``; send it what each step received."""
        for n in self._intervals(n_steps):
            yield from self._interval(n)
        self.flush_recordings()

    def _intervals(self, n_steps: int):
        """The steps of each interval of a run of ``n_steps`` steps; between two, recordings are streamed to
        files once more than the stream's limit are held."""
        L = self.partition.interval
        while n_steps > 0:
            yield min(L, n_steps)
            n_steps -= L
            if self._stream is not None and self.partition.recorded_count > self._stream[1]:
                self.flush_recordings()

    def stream_recordings(self, directory: str, max_records: int) -> None:
        """From now on, write recorded spikes and V_m to Parquet files in ``directory`` (:mod:`.streams`)
        whenever more than ``max_records`` are held, at the end of each run and before a checkpoint."""
        self.flush_recordings()
        self._stream = (str(directory), int(max_records))
        self._stream_since = self.partition.step

    def flush_recordings(self) -> None:
        """Write the recordings held to the stream's files now (nothing without a stream)."""
        if self._stream is None:
            return
        from .streams import write_recordings

        write_recordings(self.partition, self._stream[0], self.rank, self._stream_since)
        self._stream_since = self.partition.step

    def _interval(self, n: int):
        """One interval of ``n`` steps: update, exchange (a generator of exchange steps) with the delivery
        of the partition's own spikes while the messages travel, then delivery of what arrived."""
        plan, k = self.plan, self.interval_index
        t0 = time.perf_counter()
        outgoing, block, idx, steps = self._update(n)
        deliver_own = _OwnDelivery(self.partition, idx, steps)
        t1 = time.perf_counter()
        if plan.mode == "p2p":
            received = yield from point_to_point(k, outgoing, plan.in_peers, deliver_own)
        else:
            if self.channels.native_allgather:  # the transport's own (MPI's)
                blocks = yield ALLGATHER, k, block, deliver_own
            else:
                blocks = yield from bruck_allgather(k, plan.rank, plan.n_partitions, block, deliver_own)
            others = blocks[1:]  # one block needs no concatenation (a copy each interval)
            received = [others[0] if len(others) == 1 else np.concatenate(others, axis=-1)] if others else []
        t2 = time.perf_counter()
        if received:
            self._deliver(received)
        self._account(t0, t1, t2, time.perf_counter(), deliver_own.seconds)

    def _account(self, t0: float, t1: float, t2: float, t3: float, own_s: float) -> None:
        """Close an interval that updated from ``t0`` to ``t1``, exchanged (and delivered its own spikes for
        ``own_s`` seconds) to ``t2`` and delivered what arrived to ``t3``."""
        logged = self.partition.log_s - self._log_s  # delivery done in the update (Partition.log_s)
        self._log_s = self.partition.log_s
        self.timers["update"] += t1 - t0 - logged
        self.timers["exchange"] += t2 - t1 - own_s
        self.timers["deliver"] += t3 - t2 + own_s + logged
        self.interval_index += 1

    def _spike_messages(self) -> bool:
        """Whether intervals go through :meth:`_interval_direct`: the channels write and read spike messages
        in compiled calls (shared memory), the spikes are in host memory, and an interval is one exchange
        step (point-to-point, or the collective of two partitions: one round of Bruck's all-gather)."""
        plan = self.plan
        return (self.channels.spike_messages and not self.partition.gpu and plan.n_partitions > 1
                and (plan.mode == "p2p" or plan.n_partitions == 2))

    def _interval_direct(self, n: int) -> None:
        """One interval of ``n`` steps as :meth:`_interval`, its messages written and read by
        :meth:`Channels.exchange_spikes` (the same messages, without the Python of the generic path)."""
        plan, part = self.plan, self.partition
        t0 = time.perf_counter()
        idx, steps = part.advance(n)
        deliver_own = _OwnDelivery(part, idx, steps)
        t1 = time.perf_counter()
        if plan.mode == "p2p":
            sends = [(m.receiver, m.slots, m.local) for m in plan.send_maps]
            slots, arrived = self.channels.exchange_spikes(self.interval_index, sends, plan.in_peers, idx, steps,
                                                           _NO_IMAGES, 0, deliver_own)
        else:
            peer = 1 - plan.rank
            slots, arrived = self.channels.exchange_spikes(self.interval_index, [(peer, part.local_gids, None)],
                                                           [peer], idx, steps, part.image_gids, part.n_local,
                                                           deliver_own)
        t2 = time.perf_counter()
        part.deliver(slots, arrived)
        self._account(t0, t1, t2, time.perf_counter(), deliver_own.seconds)

    def _update(self, n: int):
        """Advance and prepare what goes out (in GPU memory where the exchange is GPU-direct: NumPy's
        functions dispatch to CuPy there); returns (p2p messages, collective block, spikes)."""
        part = self.partition
        send_maps, local_gids, _ = self._device or (self.plan.send_maps, part.local_gids, None)
        idx, steps = part.advance(n, device=self._device is not None)
        if self.plan.mode == "p2p":
            return {m.receiver: np.stack(route(m, idx, steps)) for m in send_maps}, None, idx, steps
        if self._device is not None:  # CuPy arrays (NumPy's functions dispatch)
            return None, np.stack([local_gids[idx], steps]), idx, steps
        block = np.empty((2, idx.shape[0]), dtype=np.int64)  # np.stack's checks cost more than this
        local_gids.take(idx, out=block[0])
        block[1] = steps
        return None, block, idx, steps

    def _deliver(self, received: list) -> None:
        part = self.partition
        data = np.concatenate(received, axis=-1) if len(received) > 1 else received[0]
        if self.plan.mode == "p2p":
            part.deliver(data[0], data[1])
        else:
            image_gids = part.image_gids if self._device is None else self._device[2]
            part.deliver(*filter_images(image_gids, part.n_local, data[0], data[1]))

    # ------------------------------------------------------------------ results
    def counters(self) -> dict:
        """Step, spikes (in all and per population index), bytes and messages sent, time split, intervals,
        synaptic events delivered and seconds of generator input (CPU), Poisson connections; also read while
        a run goes on (by progress bars and live views)."""
        part, ch = self.partition, self.channels
        return {"rank": self.rank, "step": part.step, "spikes": part.spike_count,
                "populations": part.population_spikes(), "bytes_sent": ch.bytes_sent,
                "messages_sent": ch.messages_sent, "device_bytes_sent": ch.device_bytes_sent,
                "wire_bytes_sent": ch.wire_bytes_sent, "timers": self.time_split(),
                "intervals": self.interval_index, "synaptic_events": part.synaptic_events,
                "input_s": part.input_s, "poisson_inputs": part.n_poisson_inputs}

    def time_split(self) -> dict:
        """Seconds spent so far in update, deliver, exchange (framing, sending, reading) and wait (blocked
        for peers: their compute time beyond ours, and the transport's latency)."""
        wait = self.channels.wait_s
        return {"update": self.timers["update"], "deliver": self.timers["deliver"],
                "exchange": max(self.timers["exchange"] - wait, 0.0), "wait": wait}

    def info(self) -> dict:
        """Neurons, images, synapses, bytes held (by kind), GPU or not, steps per interval, the partitions
        it sends to, the seconds its process spent compiling or loading kernels, what carries its
        messages (``Channels.kind``) and the seconds its construction took (``build_s``)."""
        part = self.partition
        return {"rank": self.rank, "n_local": part.n_local, "n_images": int(part.image_gids.shape[0]),
                "n_synapses": part.n_synapses, "nbytes": part.nbytes(), "gpu": part.gpu,
                "interval": part.interval, "out_peers": self.plan.out_peers(), "compile_s": compile_seconds(),
                "channels": self.channels.kind, "build_s": part.build_seconds}

    def checkpoint(self, directory: str) -> dict:
        """Write this partition's state into the checkpoint directory being made; returns its manifest
        entry (:func:`dsnn.runners.checkpoint.write_partition`)."""
        from .checkpoint import write_partition

        self.check_runnable()
        self.flush_recordings()  # every streamed file is then all before the checkpoint or all after it
        return write_partition(self.partition, directory, self.rank)

    def restore(self, path: str, manifest: dict) -> int:
        """Load this partition's neurons' state from the checkpoint at ``path``; returns how many it found."""
        from .checkpoint import load_partition

        return load_partition(self.partition, path, manifest)

    def membrane_potentials(self, gids) -> tuple:
        """(positions in ``gids``, V_m in mV) of the neurons of ``gids`` this partition owns."""
        from ..backends.state import membrane_potentials

        return membrane_potentials(self.partition, gids)

    def state_values(self, gids, name: str) -> tuple:
        """(positions in ``gids``, values now of state variable ``name``) of the neurons of ``gids`` this
        partition owns."""
        from ..backends.state import state_values

        return state_values(self.partition, gids, name)

    def set_membrane_potentials(self, gids, values) -> int:
        """Set V_m (mV) of the neurons of ``gids`` this partition owns; returns how many it owns."""
        from ..backends.state import set_membrane_potentials

        self.check_runnable()
        return set_membrane_potentials(self.partition, gids, values)

    def spikes(self, recorder_gid: int) -> list:
        """(gids, update steps) chunks recorded for ``recorder_gid``."""
        return list(self.partition.recorded_spikes.get(recorder_gid, []))

    def voltages(self, voltmeter_gid: int) -> list:
        """(first step, absolute V_m (steps, neurons), gids) chunks recorded for ``voltmeter_gid``."""
        from .records import voltage_chunks  # pandas loads with the results, not with the loop

        return voltage_chunks(self.partition, voltmeter_gid)

    def connections(self, network, projection: int | None = None):
        """This partition's synapses as a DataFrame, of all projections or of the one of index ``projection``
        (see :func:`.records.connections_frame`)."""
        from .records import connections_frame

        return connections_frame([self.partition], network, projection)
