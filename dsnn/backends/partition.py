"""One partition: the neurons it owns, their incoming synapses, and stepping.

A :class:`Partition` holds only arrays and numbers; it knows no networking.
It advances one min-delay interval at a time (:meth:`Partition.advance`),
returns the spikes of its own neurons, and takes spikes to deliver
(:meth:`Partition.deliver`) as presynaptic *slots*: its local neurons are
slots ``0 .. n_local-1``, the images of remote neurons it needs follow, and
the replicated spike-emitting devices come last.

A partition is built on the host (NumPy, numba kernels);
:meth:`Partition.to_gpu` moves its arrays to the current CUDA device, after
which the CuPy kernels of :mod:`dsnn.backends.gpu` step it with the same results.

Synapses are stored per projection (:class:`SynapseGroup`) in compressed
rows over presynaptic slots; each synapse packs its target and its delay in
one unsigned integer, and its weight is one fixed-point number for the whole
group or a float32 per synapse.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..support import glibc_math
from . import cpu, gpu, plasticity

__all__ = ["Partition", "NeuronBlock", "SynapseGroup", "PostHistory", "PoissonInput", "CurrentInput"]


def _host(a):
    """A NumPy copy of a CuPy array, or the NumPy array itself."""
    return a if isinstance(a, np.ndarray) else a.get()


def _arrays_to(xp, obj):
    """Replace every ndarray attribute of a dataclass instance by ``xp.asarray`` of it."""
    for name, value in vars(obj).items():
        if isinstance(value, np.ndarray):
            setattr(obj, name, xp.asarray(value))


@dataclass
class NeuronBlock:
    """Neurons ``lo .. hi-1`` (local indices) of one population and model."""

    model: object  # the model module (step_group(), membrane_potential(), ...)
    params: dict
    const: dict
    state: dict
    lo: int
    hi: int
    ref_counts: int
    rec_idx: np.ndarray  # block-relative indices recorded by voltmeters and multimeters, one per column
    rec_out: np.ndarray = None  # (interval, len(rec_idx)) float64
    #: per column, the variable recorded: its index in the model's SPEC.recordables (set with rec_idx)
    rec_var: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rec_map: object = None  # GPU only: each neuron's recorded columns and variables (gpu.recording_map)
    population: int = -1  # index of the population in the network

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.state.values())


@dataclass
class ModelGroup:
    """All of a partition's blocks of one neuron model, stepped by one kernel call (CPU).

    Its state arrays are the blocks' states end to end (each block's
    ``state`` then holds views of them); ``blocks`` has one row
    ``(lo, off, n, ref_counts)`` per block, ``consts`` the block's constants
    in the order of the model's ``KERNEL_CONSTANTS``; the recorded neurons
    are ``rec_idx`` (state indices) and their variables ``rec_var`` (indices in the model's
    ``SPEC.recordables``), block ``b``'s at
    ``rec_ptr[b] .. rec_ptr[b+1]-1`` of ``rec_out`` (interval, recorded),
    whose columns are the blocks' ``rec_out`` views.
    """

    model: object
    members: list  # indices of the blocks in the partition's list
    state: dict
    blocks: np.ndarray
    consts: np.ndarray
    rec_idx: np.ndarray
    rec_var: np.ndarray
    rec_ptr: np.ndarray
    rec_out: np.ndarray
    with_current: bool = True  # whether the partition has current input (else its current ring stays empty)
    fired: np.ndarray = None  # uint8 scratch for the update: whether each neuron of a block spiked in a step

    @classmethod
    def of(cls, model, members: list, blocks: list, interval: int) -> "ModelGroup":
        """Join ``blocks`` (all of ``model``) into one group; the blocks' state and rec_out become views."""
        sizes = [b.hi - b.lo for b in blocks]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        state = {name: np.concatenate([b.state[name] for b in blocks]) for name in model.KERNEL_STATE}
        rec_ptr = np.concatenate([[0], np.cumsum([b.rec_idx.shape[0] for b in blocks])]).astype(np.int64)
        rec_out = np.empty((interval, int(rec_ptr[-1])), dtype=np.float64)
        for i, b in enumerate(blocks):
            b.state = {name: a[offsets[i]:offsets[i + 1]] for name, a in state.items()}
            b.rec_out = rec_out[:, rec_ptr[i]:rec_ptr[i + 1]]
        return cls(
            model=model, members=members, state=state,
            blocks=np.array([[b.lo, offsets[i], sizes[i], b.ref_counts] for i, b in enumerate(blocks)],
                            dtype=np.int64).reshape(-1, 4),
            consts=np.array([[float(b.const[name]) for name in model.KERNEL_CONSTANTS] for b in blocks],
                            dtype=np.float64).reshape(len(blocks), -1),
            rec_idx=np.concatenate([b.rec_idx + offsets[i] for i, b in enumerate(blocks)]).astype(np.int64),
            rec_var=np.concatenate([b.rec_var for b in blocks]).astype(np.int64),
            rec_ptr=rec_ptr, rec_out=rec_out, fired=np.zeros(max(sizes, default=0), dtype=np.uint8))

    def step(self, first_step, n_steps, ring_syn, ring_cur, spk_idx, spk_step, n_spk) -> int:
        return self.model.step_group(self, first_step, n_steps, ring_syn, ring_cur, spk_idx, spk_step, n_spk)


@dataclass
class SynapseGroup:
    """The synapses of one projection on this partition, in rows over presynaptic slots.

    Synapse ``j`` is the word ``(target << shift) | (delay - d0)``: ``packed[j]``
    (uint16, uint32 or uint64), with bits 16-23 in ``packed_hi[j]`` when that
    uint8 array is not empty (24-bit words). ``row_ptr`` is int32 or int64.
    ``weights`` is a float32 array, or None with ``wfix`` the common weight in
    fixed point (2**-32 pA).
    """

    projection: int
    row_ptr: np.ndarray
    packed: np.ndarray
    shift: object
    dmask: object
    d0: int
    wfix: int = 0
    weights: np.ndarray | None = None
    packed_hi: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))
    #: plastic (stdp_synapse): its parameters (float64, in the order of plasticity.STDP_COLUMNS), and per
    #: presynaptic slot the trace K+ and the time of the last spike (ms); ``weights`` then float64, changing
    stdp: np.ndarray | None = None
    kplus: np.ndarray | None = None
    t_last: np.ndarray | None = None
    u_state: np.ndarray | None = None  # tsodyks2_synapse: the utilisation per slot (kplus is its resources)

    @property
    def plastic(self) -> bool:
        return self.stdp is not None

    @property
    def n(self) -> int:
        return int(self.packed.shape[0])

    def nbytes(self) -> int:
        w = 0 if self.weights is None else self.weights.nbytes
        traces = 0 if self.stdp is None else self.kplus.nbytes + self.t_last.nbytes + self.u_state.nbytes
        return self.row_ptr.nbytes + self.packed.nbytes + self.packed_hi.nbytes + w + traces

    def words(self) -> np.ndarray:
        """The packed words as one host array (uint32 for 16- and 24-bit words)."""
        packed, high = _host(self.packed), _host(self.packed_hi)
        if packed.dtype == np.uint16:
            packed = packed.astype(np.uint32)
            if high.shape[0]:
                packed |= high.astype(np.uint32) << np.uint32(16)
        return packed

    def unpack(self):
        """(slot, target, delay_steps, weight_pA) of every synapse, host arrays (for inspection)."""
        row_ptr, packed = _host(self.row_ptr), self.words()
        slot = np.repeat(np.arange(row_ptr.shape[0] - 1), np.diff(row_ptr))
        target = (packed >> self.shift).astype(np.int64)
        delay = self.d0 + (packed & self.dmask).astype(np.int64)
        if self.weights is None:
            weight = np.full(self.n, self.wfix / cpu.FIXED_SCALE)
        else:
            weight = _host(self.weights).astype(np.float64)
        return slot, target, delay, weight


@dataclass
class PostHistory:
    """The spikes of a partition's neurons that plastic synapses onto them pair with (NEST's archiving
    node): per local neuron, the times (ms) and depression traces after each of its spikes (rows of
    ``t``/``k``, ``n`` of them), its trace ``kminus`` and last spike time now, and 1 / tau_minus; and the
    times of its newest spikes again in one compact row (``newest``, see plasticity.newest_spikes).

    Spikes are kept as long as the run (as NEST keeps them for an input that never fires)."""

    tau_minus_inv: np.ndarray
    kminus: np.ndarray
    last_spike: np.ndarray
    t: np.ndarray
    k: np.ndarray
    n: np.ndarray
    newest: np.ndarray

    @classmethod
    def of(cls, blocks, n_local: int, capacity: int = 16) -> "PostHistory":
        tau_minus_inv = np.empty(n_local)
        for b in blocks:
            tau_minus_inv[b.lo:b.hi] = 1.0 / b.params["tau_minus"]
        return cls(tau_minus_inv, np.zeros(n_local), np.full(n_local, -1.0), np.zeros((n_local, capacity)),
                   np.zeros((n_local, capacity)), np.zeros(n_local, dtype=np.int64),
                   np.full((n_local, plasticity.NEWEST), -np.inf))

    def prune(self, groups, max_delay_ms: float):
        """Forget the spikes no synapse of ``groups`` (this partition's plastic groups) will pair with: those
        before every presynaptic slot's last spike minus the longest delay (a slot that never spiked keeps
        them all, as NEST keeps them for an input that never fires). Returns that time (ms), or None where
        nothing could be forgotten."""
        oldest = min(float(_host(g.t_last)[np.diff(_host(g.row_ptr)) > 0].min(initial=np.inf)) for g in groups)
        if np.isfinite(oldest):
            before = oldest - max_delay_ms - plasticity.STDP_EPS
            if plasticity.prune_history(before, self.t, self.k, self.n):
                self.refresh_newest()
            return before
        return None

    def refresh_newest(self) -> None:
        """Build ``newest`` again from the histories (after they were pruned or restored)."""
        plasticity.newest_spikes(self.t, self.n, self.newest)

    def ensure_capacity(self, need: int) -> None:
        """Make room for ``need`` spikes per neuron (at least doubling), keeping those held."""
        if need > self.t.shape[1]:
            capacity = max(need, 2 * self.t.shape[1])
            for name in ("t", "k"):
                old = getattr(self, name)
                grown = np.zeros((old.shape[0], capacity))
                grown[:, :old.shape[1]] = old
                setattr(self, name, grown)

    def record(self, idx, steps, tics_per_step: int) -> None:
        """Append the spikes of local neurons ``idx`` in update steps ``steps``, making room first."""
        self.ensure_capacity(int((self.n + np.bincount(idx, minlength=self.n.shape[0])).max()))
        plasticity.record_post_spikes(idx, steps, tics_per_step, self.tau_minus_inv, self.kminus, self.last_spike,
                                      self.t, self.k, self.n, self.newest)


@dataclass
class PoissonInput:
    """Connections from poisson_generators: one independent train per connection."""

    target: np.ndarray  # int64 local index
    wfix: np.ndarray  # int64 fixed-point weight
    delay: np.ndarray  # int64 steps
    gen: np.ndarray  # int64 index into the tables
    stream: np.ndarray  # uint64 per-connection stream
    active_lo: np.ndarray  # int64 first active update step per table
    active_hi: np.ndarray  # int64 one past the last
    cdf: np.ndarray  # float64 concatenated cumulative tables (last entry of each is a sentinel)
    cdf_start: np.ndarray
    cdf_len: np.ndarray
    guide: np.ndarray  # (tables, buckets) int64: first candidate count per bucket of u
    threshold: np.ndarray  # (tables, buckets) float64: the table entry at the guide
    several: np.ndarray  # (tables, buckets) int64: 1 where the bucket holds several table entries
    compared: np.ndarray  # (tables,) int64: leading entries compared one by one (0: use the guide)
    run_start: np.ndarray  # int64: runs of connections with one generator, delay and channel, targets
    run_end: np.ndarray  # consecutive from run_target (see cpu.poisson_runs)
    run_gen: np.ndarray
    run_target: np.ndarray
    run_delay: np.ndarray
    run_channel: np.ndarray

    def inject(self, first_step, n_steps, ring_syn):
        cpu.poisson_runs(first_step, n_steps, self.run_start, self.run_end, self.run_gen, self.run_target,
                         self.run_delay, self.run_channel, self.wfix, self.stream, self.active_lo,
                         self.active_hi, self.cdf, self.cdf_start, self.cdf_len, self.guide, self.threshold,
                         self.several, self.compared, ring_syn)


@dataclass
class CurrentInput:
    """Connections from dc_generators: fixed-point current per connection."""

    target: np.ndarray
    value: np.ndarray
    delay: np.ndarray
    gen: np.ndarray
    active_lo: np.ndarray
    active_hi: np.ndarray

    def inject(self, first_step, n_steps, ring_cur):
        cpu.current_input(first_step, n_steps, self.target, self.value, self.delay, self.gen,
                              self.active_lo, self.active_hi, ring_cur)


#: intervals with spikes after which their per-block counts are folded in even if nobody asked
FOLD_EVERY = 512

#: intervals with spikes after which the spike histories of plastic synapses' targets are pruned
PRUNE_EVERY = 64

_NO_WEIGHTS = np.zeros(0, dtype=np.float32)

#: events a slot's delivery log holds at first (it doubles when a slot overflows, up to LOG_MAX_BYTES)
LOG_FIRST_CAPACITY = 1024

#: the delivery log grows to at most this many bytes, or to LOG_MAX_RING_MULTIPLE times the ring's bytes
#: if more; events that find their slot's log full go straight into the ring (correct, only slower)
LOG_MAX_BYTES = 64 << 20
LOG_MAX_RING_MULTIPLE = 4


def _synapse_tables(groups) -> list:
    """The groups as :func:`cpu.deliver_table` tables, one per kind of arrays (row pointer and word dtypes):
    ``(table, like_rows, like_words, arrays)``. The tables hold the arrays' addresses, and ``arrays`` the
    arrays themselves, so that the memory stays alive as long as the table (a group whose arrays were
    replaced afterwards would deliver through its old ones: the tables are made once, when the partition
    is)."""
    kinds: dict = {}
    for i, g in enumerate(groups):
        if not g.plastic:  # plastic groups deliver through plasticity.deliver_stdp
            kinds.setdefault((g.row_ptr.dtype.str, g.packed.dtype.str), []).append(i)
    tables = []
    for (rows, words), members in kinds.items():
        held = [(groups[i].row_ptr, groups[i].packed, groups[i].packed_hi, groups[i].weights) for i in members]
        for arrays in held:
            assert all(a is None or a.flags.c_contiguous for a in arrays), "synapse arrays must be contiguous"
        table = np.array([
            [i, g.row_ptr.ctypes.data, g.row_ptr.shape[0], g.packed.ctypes.data,
             g.packed_hi.ctypes.data if g.packed_hi.shape[0] else 0,
             g.weights.ctypes.data if g.weights is not None else 0, g.n, int(g.shift), int(g.dmask), g.d0, g.wfix]
            for i, g in ((i, groups[i]) for i in members)], dtype=np.int64)
        assert table.shape[1] == len(cpu.TABLE_COLUMNS)
        tables.append((table, np.zeros(0, dtype=rows), np.zeros(0, dtype=words), held))
    return tables


def _slot_groups(groups) -> tuple:
    """Per presynaptic slot, the synapse groups with synapses from it, as CSR ``(ptr, group indices)``.

    Delivery visits only the groups a batch of spikes reaches: with a short
    minimum delay a batch is a few spikes, and walking every projection for
    them would cost more than delivering them (a multi-area model has hundreds).
    """
    n_slots = groups[0].row_ptr.shape[0] - 1 if groups else 0
    slots, members = [], []
    for i, g in enumerate(groups):
        rows = _host(g.row_ptr)
        nonempty = np.nonzero(rows[1:] > rows[:-1])[0]
        slots.append(nonempty)
        members.append(np.full(nonempty.shape[0], i, dtype=np.int32))
    slots = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
    members = np.concatenate(members) if members else np.zeros(0, dtype=np.int32)
    order = np.argsort(slots, kind="stable")
    # int32 where it fits: the pointer is one word per presynaptic slot, images included (4 of the 28 bytes
    # an image cost in a large run, see benchmarks/RESULTS.md)
    ptr = np.zeros(n_slots + 1, dtype=np.int32 if slots.shape[0] < 2**31 else np.int64)
    np.cumsum(np.bincount(slots, minlength=n_slots), out=ptr[1:])
    return ptr, members[order]


@dataclass
class Partition:
    """State of the neurons a partition owns and of their incoming synapses."""

    index: int
    interval: int  # steps per exchange interval (the minimum delay)
    local_gids: np.ndarray  # int64, sorted
    image_gids: np.ndarray  # int64, sorted: remote neurons this partition needs
    blocks: list
    groups: list
    ring_syn: np.ndarray  # (R, 2, n_local) int64
    ring_cur: np.ndarray  # (R, n_local) int64
    poisson: PoissonInput | None
    currents: CurrentInput | None
    device_steps: np.ndarray  # emission steps of device spikes, sorted
    device_slots: np.ndarray
    spike_masks: dict  # recorder gid -> bool mask over local neurons
    voltmeters: dict  # voltmeter gid -> list of (block index, columns, gids)
    step: int = 0
    recorded_spikes: dict = field(default_factory=dict)  # recorder gid -> list of (gids, steps)
    recorded_vm: dict = field(default_factory=dict)  # block index -> list of (first_step, values)
    restored_vm: dict = field(default_factory=dict)  # voltmeter gid -> list of (first, V_m, gids) from a checkpoint
    spike_count: int = 0
    recorded_count: int = 0  # spikes and V_m samples held (reset where they are streamed to files)
    synaptic_events: int = 0  # spikes delivered times their synapses here (CPU)
    input_s: float = 0.0  # seconds spent in generator input (CPU)
    log_overflows: int = 0  # synaptic events that found their slot's delivery log full (CPU)
    log_s: float = 0.0  # seconds spent adding logged events to the ring before updates (CPU): delivery time
    gpu: bool = False  # arrays on the CUDA device (see to_gpu)
    build_seconds: float = 0.0  # wall seconds its construction took (build_partition)
    tics_per_step: int = 100  # the time step in tics of 1 µs (NEST's clock: times in ms are 0.001 * tics)

    def __post_init__(self):
        cap = max(1, self.n_local * self.interval)
        self._spk_idx = np.empty(cap, dtype=np.int64)
        self._spk_step = np.empty(cap, dtype=np.int64)
        members: dict = {}
        for i, b in enumerate(self.blocks):
            members.setdefault(b.model, []).append(i)
        self.model_groups = [ModelGroup.of(model, idx, [self.blocks[i] for i in idx], self.interval)
                             for model, idx in members.items()]
        for group in self.model_groups:
            group.with_current = self.currents is not None
        self._repeating = [g for g in self.model_groups if hasattr(g.model, "spikes_due")]
        self._block_hi = np.array([b.hi for b in self.blocks], dtype=np.int64)
        self.block_spikes = np.zeros(len(self.blocks), dtype=np.int64)  # spikes emitted, per block
        self._uncounted: list = []  # local indices of spikes not yet in block_spikes
        self._count_lock = threading.Lock()
        for g in self.groups:  # a spike's synapses of one delay consecutive: logged as one run
            if int(g.dmask) and not g.plastic:
                cpu.sort_rows_by_delay(g.row_ptr, g.packed, g.packed_hi, np.uint64(g.dmask),
                                       g.weights if g.weights is not None else _NO_WEIGHTS)
        self._slot_groups = _slot_groups(self.groups)
        self._tables = _synapse_tables(self.groups)
        self._common_wfix = np.array([g.wfix for g in self.groups], dtype=np.int64)
        logged = any(int(g.dmask) for g in self.groups) and self.n_local < cpu.LOG_TARGET_LIMIT
        self._log = np.zeros((self.ring_syn.shape[0], LOG_FIRST_CAPACITY if logged else 0), dtype=np.uint64)
        self._log_count = np.zeros(self.ring_syn.shape[0], dtype=np.int64)
        self._log_direct = np.zeros(1, dtype=np.int64)  # events that found their slot's log full
        self._plastic = [g for g in self.groups if g.plastic]
        # the groups whose rule pairs with the targets' spikes (not tsodyks2_synapse's short-term plasticity)
        self._stdp = [g for g in self._plastic if g.stdp[0] != plasticity.RULES["tsodyks2_synapse"]]
        if self._plastic:
            self._post = PostHistory.of(self.blocks, self.n_local)
            self._since_prune = 0
            longest = max(g.d0 + int(g.dmask) for g in self._plastic)
            self._max_delay_ms = longest * (self.tics_per_step / 1000.0)

    @property
    def n_local(self) -> int:
        return int(self.local_gids.shape[0])

    @property
    def n_synapses(self) -> int:
        return sum(g.n for g in self.groups)

    @property
    def n_poisson_inputs(self) -> int:
        """Connections from poisson_generators onto this partition's neurons (one draw each per step)."""
        return 0 if self.poisson is None else int(self.poisson.target.shape[0])

    def nbytes(self) -> dict:
        """Bytes held, by kind."""
        syn = sum(g.nbytes() for g in self.groups) + sum(a.nbytes for a in self._slot_groups)
        inputs = sum(a.nbytes for x in (self.poisson, self.currents) if x is not None
                     for a in vars(x).values() if hasattr(a, "nbytes") and hasattr(a, "__len__"))
        return {
            "synapses": syn,
            "neurons": sum(b.nbytes() for b in self.blocks) + self.local_gids.nbytes,
            "rings": self.ring_syn.nbytes + self.ring_cur.nbytes + self._log.nbytes,
            "inputs": inputs,
            "images": self.image_gids.nbytes,
        }

    def advance(self, n_steps: int, device: bool = False):
        """Update all neurons by ``n_steps`` (<= interval) steps.

        Returns ``(local_index, step)`` int64 arrays of the spikes emitted, a
        spike of update step ``n`` being stamped ``n + 1`` as in NEST; in GPU
        memory (CuPy) if ``device`` and the partition is on the GPU, else in
        host memory. Their order is the CPU's (model, block, step, neuron) on the
        CPU and unspecified on the GPU: nothing downstream depends on it.
        """
        if not 0 < n_steps <= self.interval:
            raise ValueError(f"n_steps must be in 1..{self.interval}, got {n_steps}")
        first = self.step
        if self.device_steps.shape[0]:
            a, b = np.searchsorted(self.device_steps, [first, first + n_steps])
            if b > a:
                self.deliver(self.device_slots[a:b], self.device_steps[a:b])
        if self.gpu:
            d_idx, d_steps = self._update_gpu(first, n_steps)
            idx, steps = d_idx.get(), d_steps.get()  # recording and counters live on the host
        else:
            idx, steps = self._update_cpu(first, n_steps)
        if self._stdp and idx.shape[0]:
            self._record_post_spikes(idx, steps)
        for gid, mask in self.spike_masks.items() if idx.shape[0] else ():
            sel = mask[idx]
            if sel.any():
                self.recorded_spikes.setdefault(gid, []).append((self.local_gids[idx[sel]], steps[sel]))
                self.recorded_count += int(sel.sum())
        self.step += n_steps
        self.spike_count += idx.shape[0]
        if idx.shape[0]:
            with self._count_lock:  # counted per block when asked (population_spikes), not per interval
                self._uncounted.append(idx)
                if len(self._uncounted) >= FOLD_EVERY:  # a long run nobody polls holds no more than this
                    self._fold()
        if self.gpu and device:
            return d_idx.copy(), d_steps.copy()  # the spike buffers serve the next update
        return idx, steps

    def _fold(self) -> None:
        """Add the spikes not yet counted to ``block_spikes`` (hold ``_count_lock``)."""
        if self._uncounted:
            idx, self._uncounted = np.concatenate(self._uncounted), []
            self.block_spikes += np.bincount(np.searchsorted(self._block_hi, idx, side="right"),
                                             minlength=len(self.blocks))

    def population_spikes(self) -> dict:
        """Spikes emitted so far by this partition's neurons, per population index."""
        with self._count_lock:  # counters are read while a run goes on
            self._fold()
            counts = self.block_spikes.tolist()
        out: dict = {}
        for blk, n in zip(self.blocks, counts):
            out[blk.population] = out.get(blk.population, 0) + n
        return out

    def _update_cpu(self, first, n_steps):
        if self._log.shape[1]:
            t0 = time.perf_counter()
            cpu.apply_log(first, n_steps, self._log, self._log_count, self._common_wfix, self.ring_syn)
            self.log_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        if self.poisson is not None:
            self.poisson.inject(first, n_steps, self.ring_syn)
        if self.currents is not None:
            self.currents.inject(first, n_steps, self.ring_cur)
        self.input_s += time.perf_counter() - t0
        if self._repeating:  # parrots emit what arrived, several spikes a step where several arrived
            due = sum(g.model.spikes_due(g, first, n_steps, self.ring_syn) for g in self._repeating)
            if self.n_local * n_steps + due > self._spk_idx.shape[0]:
                self._spk_idx = np.empty(self.n_local * n_steps + due, dtype=np.int64)
                self._spk_step = np.empty_like(self._spk_idx)
        n = 0
        for group in self.model_groups:
            n = group.step(first, n_steps, self.ring_syn, self.ring_cur, self._spk_idx, self._spk_step, n)
            if group.rec_idx.shape[0]:
                for bi in group.members:
                    if self.blocks[bi].rec_idx.shape[0]:
                        self.recorded_vm.setdefault(bi, []).append((first, self.blocks[bi].rec_out[:n_steps].copy()))
                        self.recorded_count += n_steps * self.blocks[bi].rec_idx.shape[0]
        return self._spk_idx[:n].copy(), self._spk_step[:n].copy()

    def _update_gpu(self, first, n_steps):
        if self.poisson is not None:
            gpu.poisson_input(self.poisson, first, n_steps, self.ring_syn)
        if self.currents is not None:
            gpu.current_input(self.currents, first, n_steps, self.ring_cur)
        idx, steps = gpu.update_blocks(self.blocks, first, n_steps, self.ring_syn, self.ring_cur, self._gpu_spikes)
        for bi, blk in enumerate(self.blocks):
            if blk.rec_idx.shape[0]:
                self.recorded_vm.setdefault(bi, []).append((first, blk.rec_out[:n_steps].get()))
                self.recorded_count += n_steps * blk.rec_idx.shape[0]
        return idx, steps

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) every CPU kernel this partition steps with, for the types
        of its own arrays, without changing its state: each kernel runs on no steps and no spikes. On the
        GPU, load the CUDA kernels."""
        if self.gpu:
            gpu.load_kernels()
            return
        none = np.zeros(0, dtype=np.int64)
        for group in self.model_groups:
            group.step(self.step, 0, self.ring_syn, self.ring_cur, self._spk_idx, self._spk_step, 0)
        for table, like_rows, like_words, _ in self._tables:
            cpu.deliver_table(none, none, *self._slot_groups, table, like_rows, like_words, self._log,
                              self._log_count, self._log_direct, self.ring_syn)
        cpu.apply_log(self.step, 0, self._log, self._log_count, self._common_wfix, self.ring_syn)
        for g in self._plastic:
            self._deliver_plastic(g, none, none)
        if self._stdp:
            self._post.record(none, none, self.tics_per_step)
            self._post.refresh_newest()
        if self.poisson is not None:
            self.poisson.inject(self.step, 0, self.ring_syn)
        if self.currents is not None:
            self.currents.inject(self.step, 0, self.ring_cur)

    def _record_post_spikes(self, idx, steps) -> None:
        """Add the spikes of an update to the histories plastic synapses pair with (on the GPU to both
        copies: the host's, which checkpoints read, and the device's, which delivery reads), pruning them
        every PRUNE_EVERY updates."""
        if self.gpu:  # the GPU's spikes come in no order: each neuron's must be in time order
            order = np.argsort(steps, kind="stable")
            idx, steps = idx[order], steps[order]
        self._post.record(idx, steps, self.tics_per_step)
        if self.gpu:
            self._post_device.record(idx, steps, self.tics_per_step, self._post.t.shape[1])
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            before = self._post.prune(self._stdp, self._max_delay_ms)
            if self.gpu and before is not None:
                self._post_device.prune(before)
            self._since_prune = 0

    def deliver(self, slots, steps):
        """Deliver spikes given as presynaptic slots and emission steps into the ring buffers."""
        if slots.shape[0] == 0 or not self.groups:
            return
        if self.gpu:
            cp = gpu.cupy()
            if self._plastic:
                self._deliver_plastic_gpu(_host(slots).astype(np.int64), _host(steps).astype(np.int64))
            slots, steps = cp.asarray(slots, dtype=cp.int64), cp.asarray(steps, dtype=cp.int64)
            gpu.deliver_all(self._gpu_groups, slots, steps, self.ring_syn)
            return
        slots = np.ascontiguousarray(slots, dtype=np.int64)
        steps = np.ascontiguousarray(steps, dtype=np.int64)
        if self._plastic:
            order = np.argsort(steps, kind="stable")  # each source's spikes in time order
            s_slots, s_steps = slots[order], steps[order]
            for g in self._plastic:
                self.synaptic_events += self._deliver_plastic(g, s_slots, s_steps)
        for table, like_rows, like_words, _ in self._tables:
            self.synaptic_events += cpu.deliver_table(slots, steps, *self._slot_groups, table, like_rows,
                                                      like_words, self._log, self._log_count,
                                                      self._log_direct, self.ring_syn)
        if self._log_direct[0]:
            self._grow_log()

    def _deliver_plastic(self, g: SynapseGroup, slots, steps) -> int:
        """Deliver spikes (int64 ``slots``, ``steps``, in time order) through plastic group ``g``."""
        post = self._post
        return plasticity.deliver_stdp(
            slots, steps, g.row_ptr, g.packed, g.packed_hi, np.uint64(g.shift), np.uint64(g.dmask), g.d0,
            g.weights, g.kplus, g.t_last, g.u_state, g.stdp, self.tics_per_step / 1000.0, self.tics_per_step,
            post.tau_minus_inv, post.t, post.k, post.n, post.newest, self.ring_syn, glibc_math.exact_here())

    def _deliver_plastic_gpu(self, slots, steps) -> None:
        """Deliver host ``slots``/``steps`` through the plastic groups on the GPU: each slot with synapses
        in a group, its spikes in time order (gpu.plastic_deliver)."""
        for g, (lengths, params) in zip(self._plastic, self._plastic_host):
            has = lengths[slots] > 0
            s, st = slots[has], steps[has]
            if s.shape[0] == 0:
                continue
            order = np.lexsort((st, s))
            s, st = s[order], st[order]
            sources, starts = np.unique(s, return_index=True)
            self.synaptic_events += int(lengths[s].sum())
            gpu.plastic_deliver(g, params, sources, np.append(starts, s.shape[0]), st, self.tics_per_step,
                                self._post_device, self.ring_syn)

    def _grow_log(self) -> None:
        """Double the log's capacity after a slot overflowed (up to the limit), keeping what it holds."""
        self.log_overflows += int(self._log_direct[0])
        self._log_direct[0] = 0
        R, capacity = self._log.shape
        limit = max(LOG_MAX_BYTES, LOG_MAX_RING_MULTIPLE * self.ring_syn.nbytes) // (8 * R)
        if capacity * 2 <= limit:
            log = np.zeros((R, capacity * 2), dtype=np.uint64)
            log[:, :capacity] = self._log
            self._log = log

    def flush_log(self) -> None:
        """Add every logged event to the ring now (each belongs to its slot's next update step, so adding
        it early changes nothing): afterwards the ring alone holds all pending input."""
        if self._log.shape[1]:
            cpu.apply_log(0, self._log.shape[0], self._log, self._log_count, self._common_wfix, self.ring_syn)

    def to_gpu(self) -> "Partition":
        """Move neuron state, synapses, inputs and ring buffers to the current CUDA device.

        Bookkeeping that the host needs every interval (gids, recording
        masks, device spike schedules) stays on the host. Returns ``self``.
        """
        gpu.require()
        cp = gpu.cupy()
        if self.gpu:
            return self
        self.flush_log()  # the GPU kernels deliver straight into the ring
        self._log = np.zeros((self._log.shape[0], 0), dtype=np.uint64)
        for blk in self.blocks:
            blk.state = {k: cp.asarray(v) for k, v in blk.state.items()}
            blk.rec_map = cp.asarray(gpu.recording_map(blk.hi - blk.lo, blk.rec_idx, blk.rec_var))
            blk.rec_out = cp.asarray(blk.rec_out)
        for g in self.groups:  # the GPU kernels read 32- or 64-bit words (plastic: 64) and int64 row pointers
            g.packed, g.packed_hi = g.words(), np.zeros(0, dtype=np.uint8)
            if g.plastic:
                g.packed = g.packed.astype(np.uint64)
            g.row_ptr = g.row_ptr.astype(np.int64, copy=False)
        # per plastic group, host copies of its row lengths and rule parameters, which delivery reads
        self._plastic_host = [(np.diff(g.row_ptr), [float(v) for v in g.stdp]) for g in self._plastic]
        for obj in [*self.groups, self.poisson, self.currents]:
            if obj is not None:
                _arrays_to(cp, obj)
        self.ring_syn, self.ring_cur = cp.asarray(self.ring_syn), cp.asarray(self.ring_cur)
        self._gpu_groups = gpu.GroupTable([g for g in self.groups if not g.plastic])
        if self._plastic:
            self._post_device = gpu.PostHistoryOnDevice(self._post)
        self._gpu_spikes = gpu.SpikeBuffers(self.n_local, self.interval)
        self.gpu = True
        return self
