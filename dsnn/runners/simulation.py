"""A built network, ready to run: the one interface of both runners.

:class:`Simulation` is what ``net.build`` returns, whether the partitions
live in this process (:mod:`.in_process`) or on a Dask cluster
(:mod:`.cluster`). It talks to its partitions through a *runner* that
calls a method on every partition's :class:`~dsnn.runners.loop.PartitionLoop`
and gathers the results (``run``, ``call``, ``poll_counters``, ``close``,
``workers``); everything else, from the progress bar to the DataFrames, is
here once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..description.populations import Population
from ..description.timing import run_steps, time_ms
from .progress import RunWatch

#: spikes and V_m samples a partition holds before it writes them to its stream's files (stream_recordings' default)
STREAM_MAX_RECORDS = 1_000_000

__all__ = ["Simulation"]


def _snapshot(counters: list) -> tuple:
    """(spikes, spikes per population index, time split) from the partitions' counters."""
    populations: dict = {}
    for c in counters:
        for i, n in c["populations"].items():
            populations[i] = populations.get(i, 0) + n
    return sum(c["spikes"] for c in counters), populations, [c["timers"] for c in counters]


class Simulation:
    """A built network, ready to run (in this process or on a Dask cluster: the same methods).

    Attributes
    ----------
    network : Network
        The description it was built from.
    decomposition : Decomposition
        Which partition owns which neurons.
    exchange : str
        ``"p2p"`` or ``"collective"``.
    build_seconds : float
        Wall time of the build.
    compile_seconds : float
        Of it, the seconds spent compiling or loading numba kernels (the
        most any one process spent; 0 once they are loaded).
    """

    def __init__(self, network, decomposition, exchange: str, runner, build_seconds: float = 0.0,
                 compile_seconds: float = 0.0):
        self.network = network
        self.decomposition = decomposition
        self.exchange = exchange
        self.runner = runner
        self.build_seconds = build_seconds
        self.compile_seconds = compile_seconds
        self.step = 0
        self.metadata: dict = {}  # JSON-able; kept in the manifest of each checkpoint (the CLI's model and params)
        self.build_options: dict = {}  # what build was given (client, partitions, device, ...): for recovery
        self.stream_dir: str | None = None  # where recordings are streamed (stream_recordings)
        self.stream_max_records = STREAM_MAX_RECORDS
        self._last_counters: list = []

    # ------------------------------------------------------------------ where
    @property
    def workers(self) -> list | None:
        """The Dask worker address of each partition (None in-process)."""
        return self.runner.workers

    @property
    def partitions(self) -> list:
        """The :class:`~dsnn.backends.partition.Partition` objects (in-process only: on a cluster they live
        on the workers; ask :meth:`info`)."""
        parts = getattr(self.runner, "partitions", None)
        if parts is None:
            raise AttributeError("the partitions of a cluster simulation live on its workers; use sim.info()")
        return parts

    @property
    def n_partitions(self) -> int:
        return self.decomposition.n_partitions

    # ------------------------------------------------------------------ running
    @property
    def time(self) -> float:
        """Simulated time so far, in ms."""
        return float(time_ms(self.step, self.network.dt))

    @property
    def interval(self) -> int:
        """Steps per exchange interval (the minimum delay between neurons)."""
        return self.network.min_delay_steps

    def run(self, t: float, progress: bool | None = None, view=None, checkpoint_every: float | None = None,
            checkpoint_dir=None, checkpoint_keep: int = 2, recover: bool = False) -> None:
        """Advance the network by ``t`` ms (a multiple of dt); may be called again to go on.

        ``progress``: show a progress bar (default: where someone watches);
        ``view``: a :class:`dsnn.views.dashboard.LiveView` to update during
        the run. Both read the partitions' counters a few times a second,
        never per interval (see :mod:`.progress`).

        ``checkpoint_every`` (ms, a multiple of dt) with ``checkpoint_dir``:
        write a checkpoint (:meth:`checkpoint`) into ``checkpoint_dir`` each
        time that much simulated time has passed in this run, as
        ``step-<step>``, keeping the last ``checkpoint_keep``;
        ``dsnn.restore(net, checkpoint_dir)`` continues from the newest.

        ``recover`` (with periodic checkpoints, on a cluster): when a worker
        is lost during the run, restore the newest checkpoint onto the
        workers that remain (fewer partitions if there are fewer worker
        threads), say so in a warning, and go on to the end: the spikes are
        those of the run without the loss. This object then holds the new
        partitions. A failure that is not a lost worker, one without a
        checkpoint to go back to, one in this process, or a second loss
        before the run got past the checkpoint it went back to, is raised.
        """
        n_steps = run_steps(t, self.network.dt)
        if recover and checkpoint_every is None:
            raise ValueError("run: recover=True needs checkpoint_every and checkpoint_dir (what to recover from)")
        if checkpoint_every is not None or checkpoint_dir is not None:
            from . import checkpoint as ckpt

            every = ckpt.check_periodic(checkpoint_every, checkpoint_dir, checkpoint_keep, self.network.dt)
            end = self.step + n_steps
            recovered_at = None
            while self.step < end:
                chunk = min(every, end - self.step)
                try:
                    self.run(float(chunk * self.network.dt), progress, view)
                    if chunk == every:
                        self.checkpoint(ckpt.periodic_path(checkpoint_dir, self.step))
                        ckpt.prune(checkpoint_dir, checkpoint_keep)
                except RuntimeError as exc:
                    # only a lost worker is recovered from, and not twice from one checkpoint: a failure that
                    # comes back after a recovery is the run's own, and would come back forever
                    if not recover or "lost partition" not in str(exc) or recovered_at == ckpt.resolve(checkpoint_dir):
                        raise
                    recovered_at = ckpt.resolve(checkpoint_dir)
                    self._recover(checkpoint_dir, exc)
            return
        if n_steps == 0:
            return
        watch = RunWatch(t, self.time, _snapshot(self._last_counters), progress, view)

        def poll():
            counters = self.runner.poll_counters(watch.due())
            if counters:
                done = max(min(c["step"] for c in counters) - self.step, 0)
                watch.update(float(time_ms(done, self.network.dt)), _snapshot(counters))

        try:
            self._last_counters = self.runner.run(n_steps, poll if watch.active else None)
        except BaseException:
            watch.close()
            raise
        self.step += n_steps
        watch.close(_snapshot(self._last_counters))

    def stream_recordings(self, directory, max_records: int = STREAM_MAX_RECORDS) -> None:
        """From now on, have each partition write what its spike recorders and voltmeters get to Parquet
        files in ``directory`` (a local path; on a cluster one the workers and the client share; one
        directory per simulation) whenever it holds more than ``max_records`` (spikes and V_m samples), at
        the end of every run and before every checkpoint, and forget it: memory stays bounded however long
        the run. :meth:`spikes` and :meth:`voltages` read the files back. Checkpoints remember the directory,
        and a restore (or a recovery) goes on streaming there, without a record missing or counted twice
        (see :mod:`dsnn.runners.streams`)."""
        from . import checkpoint as ckpt

        ckpt.check_path(directory, "stream_recordings", urls=False)
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 0:
            raise ValueError(f"stream_recordings: max_records must be an integer >= 0, got {max_records!r}")
        path = Path(directory).resolve()
        path.mkdir(parents=True, exist_ok=True)
        self.runner.call("stream_recordings", "stream_recordings", str(path), max_records)
        self.stream_dir, self.stream_max_records = str(path), max_records

    def checkpoint(self, path) -> str:
        """Write the complete dynamic state at the current time into the directory ``path`` (a local path,
        on a cluster one the workers and the client share, or an fsspec URL such as ``s3://bucket/run1``):
        each partition writes its own file, in parallel, then the manifest is written and the directory
        takes its name (complete or absent; an older checkpoint there is replaced only then). Returns the
        path. :func:`dsnn.restore` continues from it on any number of partitions (see
        :mod:`dsnn.runners.checkpoint`)."""
        from . import checkpoint as ckpt

        ckpt.check_path(path, "checkpoint")
        tmp = ckpt.new_directory(path)
        try:
            entries = self.runner.call("checkpoint", "checkpoint", tmp)
            return ckpt.write_manifest(tmp, path, self.network, self.step, entries,
                                       {"exchange": self.exchange, "metadata": self.metadata,
                                        "stream_dir": self.stream_dir, "stream_max_records": self.stream_max_records})
        except BaseException:
            ckpt.discard(tmp)
            raise

    def _recover(self, directory, exc: BaseException) -> None:
        """Replace this simulation's partitions by the newest checkpoint in ``directory`` restored onto the
        cluster's remaining workers (raise ``exc`` where that cannot be done)."""
        import warnings

        from . import checkpoint as ckpt

        capacity = getattr(self.runner, "capacity", None)
        latest = ckpt.resolve(directory)
        if capacity is None or not ckpt.is_checkpoint(latest):
            raise exc
        try:
            self.runner.close()
        except Exception:  # noqa: BLE001 - the lost partitions cannot close; the others are released anyway
            pass
        options = self.build_options
        P = min(self.n_partitions, capacity())
        if P < 1:
            raise RuntimeError(f"run: cannot recover from ({exc}): no worker is left") from exc
        partitions = options["partitions"] if P == self.n_partitions else P
        new = ckpt.restore(self.network, latest, options["client"], partitions=partitions, exchange=self.exchange,
                           device=options["device"], timeout=options["timeout"])
        warnings.warn(f"dsnn: {exc}; recovered from the checkpoint at {new.time:g} ms ({latest}) on {P} "
                      f"partitions, and going on", RuntimeWarning, stacklevel=3)
        self.runner, self.decomposition, self.step = new.runner, new.decomposition, new.step
        self._last_counters = []

    def counters(self) -> list:
        """Per partition: step, spikes (in all and per population index), bytes and messages sent (payload,
        with headers, from GPU memory), and timers."""
        return self.runner.call("counters", "counters")

    @property
    def timers(self) -> list:
        """Per partition: seconds spent in update, deliver, exchange and wait (blocked for peers)."""
        return [c["timers"] for c in self.counters()]

    @property
    def spike_count(self) -> int:
        """Spikes emitted by all neurons so far."""
        return sum(c["spikes"] for c in self.counters())

    def exchanged_bytes(self, headers: bool = False) -> int:
        """Payload bytes all partitions sent to each other so far; with ``headers``, the messages' headers
        (56 bytes each) too."""
        return int(np.sum([c["wire_bytes_sent" if headers else "bytes_sent"] for c in self.counters()]))

    # ------------------------------------------------------------------ results
    def spikes(self, recorder: Population | None = None):
        """Spikes recorded by ``recorder`` (default: every spike_recorder): DataFrame with columns sender
        (gid), time (ms) and population (its label)."""
        import pandas as pd  # loaded with the first results, not with the build

        from .records import label_spikes, spike_recorders, spikes_frame

        recorders = spike_recorders(self.network) if recorder is None else [
            self._device(recorder, "spike_recorder", "spikes")]
        frames = []
        for rec in recorders:
            chunks = [c for part in self.runner.call("spikes", "spikes", rec.first) for c in part]
            if self.stream_dir is not None:
                from .streams import read_spikes

                chunks += read_spikes(self.stream_dir, rec.first)
            frames.append(spikes_frame(chunks, rec.params, self.network.dt))
        if not frames:
            frames = [spikes_frame([], {"origin": 0.0, "start": 0.0, "stop": np.inf}, self.network.dt)]
        spikes = frames[0]
        if len(frames) > 1:  # a neuron two recorders record counts once
            spikes = pd.concat(frames).drop_duplicates().sort_values(["time", "sender"], ignore_index=True)
        return label_spikes(spikes, self.network)

    def voltages(self, voltmeter: Population):
        """What ``voltmeter`` sampled: DataFrame with columns sender, time (ms), V_m (mV); of a multimeter,
        sender, time and a column per variable of its ``record_from`` (NEST's units: mV, nS, pA ...)."""
        from ..models.devices import recorded_variables
        from .records import voltages_frame

        vm = self._device(voltmeter, ("voltmeter", "multimeter"), "voltages")
        chunks = [c for part in self.runner.call("voltages", "voltages", vm.first) for c in part]
        if self.stream_dir is not None:
            from .streams import read_voltages

            chunks += read_voltages(self.stream_dir, vm.first)
        return voltages_frame(chunks, vm.params, self.network.dt, recorded_variables(vm))

    def membrane_potentials(self, neurons) -> np.ndarray:
        """V_m (mV) now of ``neurons`` (a population, populations added, or gids), in their order."""
        gids = self._neuron_gids(neurons, "membrane_potentials")
        out = np.full(gids.shape[0], np.nan)
        for where, values in self.runner.call("membrane_potentials", "membrane_potentials", gids):
            out[where] = values
        return out

    def state_variable(self, neurons, name: str) -> np.ndarray:
        """The value now of state variable ``name`` of ``neurons`` (a population, populations added, or
        gids), in their order: any variable a multimeter may record from their model (V_m, I_syn_ex, U_m,
        g_ex, w, ...: ``spec.recordables``), in NEST's units."""
        if not isinstance(name, str):
            raise TypeError(f"state_variable: name must be a state variable's name, got {name!r}")
        gids = self._neuron_gids(neurons, "state_variable", name)
        out = np.full(gids.shape[0], np.nan)
        for where, values in self.runner.call("state_variable", "state_values", gids, name):
            out[where] = values
        return out

    def set_membrane_potentials(self, neurons, values) -> None:
        """Set V_m (mV) of ``neurons`` now, to one value or one per neuron; the run goes on from there."""
        gids = self._neuron_gids(neurons, "set_membrane_potentials")
        values = np.broadcast_to(np.asarray(values, dtype=float), gids.shape)
        if not np.isfinite(values).all():
            raise ValueError("set_membrane_potentials: values must be finite numbers (mV)")
        self.runner.call("set_membrane_potentials", "set_membrane_potentials", gids, np.ascontiguousarray(values))

    def _neuron_gids(self, neurons, what: str, variable: str = "V_m") -> np.ndarray:
        """The gids of ``neurons``, refused unless they are neurons of this network with ``variable``."""

        def lacking(spec) -> str:
            if variable == "V_m":
                return f"a {spec.name} has no membrane potential"
            return f"a {spec.name} has no {variable} (it has {', '.join(spec.recordables) or 'none'})"

        if hasattr(neurons, "spans"):
            if neurons.network is not self.network or not neurons.is_neuron:
                raise ValueError(f"{what}: expected neurons of this network, got {neurons!r}")
            for piece in neurons.pieces:
                if variable not in piece.spec.recordables:
                    raise ValueError(f"{what}: {lacking(piece.spec)}; got {neurons!r}")
            return np.concatenate([np.arange(f, f + n, dtype=np.int64) for f, n in neurons.spans])
        gids = np.asarray(neurons, dtype=np.int64).ravel()
        neuron_gids = np.concatenate([np.arange(p.first, p.first + p.n) for p in self.network.neuron_populations])
        if not np.isin(gids, neuron_gids).all():
            raise ValueError(f"{what}: gids {gids[~np.isin(gids, neuron_gids)][:5].tolist()} are not neurons of "
                             "this network")
        for p in self.network.neuron_populations:
            if variable not in p.spec.recordables and ((gids >= p.first) & (gids < p.first + p.n)).any():
                raise ValueError(f"{what}: {lacking(p.spec)}; gids {p.first}..{p.first + p.n - 1} are "
                                 f"{p.spec.name}s")
        return gids

    def connections(self, projection=None):
        """Synapses (neuron and spike_generator sources) of every partition: DataFrame source, target,
        weight (pA), delay (ms), in canonical order; optionally of one projection."""
        import pandas as pd

        from .records import check_projection, sorted_connections

        index = check_projection(self.network, projection)
        frames = self.runner.call("connections", "connections", self.network, index)
        return sorted_connections(pd.concat(frames, ignore_index=True))

    def info(self) -> list:
        """Per partition: neurons, images, synapses, bytes held, GPU or not, interval, out-peers, and the
        seconds its process spent compiling kernels."""
        return self.runner.call("info", "info")

    @property
    def n_synapses(self) -> int:
        return sum(i["n_synapses"] for i in self.info())

    def memory(self) -> dict:
        """Bytes held by all partitions, by kind, and bytes per synapse."""
        from .records import memory_totals

        infos = self.info()
        return memory_totals([i["nbytes"] for i in infos], sum(i["n_synapses"] for i in infos))

    def _device(self, dev, model, what: str) -> Population:
        """``dev``, refused unless it is a ``model`` (a name, or a tuple of names) of this network."""
        models = (model,) if isinstance(model, str) else model
        if not isinstance(dev, Population) or dev.network is not self.network or dev.model not in models:
            raise ValueError(f"{what}: expected a {' or '.join(models)} of this network, got {dev!r}")
        return dev

    # ------------------------------------------------------------------ the end
    def close(self) -> None:
        """Close the partitions' channels and release them (a closed simulation cannot run)."""
        self.runner.close()

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "in-process" if self.workers is None else "on a Dask cluster"
        return (f"<dsnn.Simulation: {self.n_partitions} partitions ({where}), exchange {self.exchange}, "
                f"t = {self.time} ms>")
