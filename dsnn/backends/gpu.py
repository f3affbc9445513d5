"""The GPU backend (CuPy, CUDA C): delivery and generator input mirroring :mod:`dsnn.backends.cpu`, and
the launch of each neuron model's own CUDA update (``CUDA_SOURCE`` of its module in :mod:`dsnn.models`).

Each kernel computes exactly what its CPU twin computes, bit for bit:

- the neuron updates are one thread per neuron looping over the interval's
  steps (neurons are independent within an interval, since every delay is at
  least one interval long), with the same float64 operations in the same
  order, compiled with ``--fmad=false`` so that no multiply-add is fused;
- delivery, Poisson and current input add int64 fixed-point values with
  64-bit ``atomicAdd`` (two's-complement addition wraps the same way for
  signed and unsigned words), so the order of the atomic adds changes nothing;
- spikes are appended through an atomic counter, in no particular order:
  delivery does not depend on it and recorded spikes are sorted when read.

CuPy is imported lazily: importing this module never needs it. Use
:func:`available` to ask whether a GPU can be used.
"""

from __future__ import annotations

import functools

import numpy as np

from ..models import NEURON_MODELS, adaptive, stepping
from ..support import glibc_math
from . import plasticity

__all__ = ["available", "require", "cupy", "source", "load_kernels", "update_block", "update_blocks",
           "SpikeBuffers", "recording_map", "repeated_spikes_due", "deliver_all", "GroupTable", "poisson_input",
           "current_input", "glibc_math_values", "PostHistoryOnDevice", "plastic_deliver"]

#: what every kernel, the neuron models' included, is compiled with: integer types, the generator's
#: finaliser, 64-bit fixed-point adds, and the neuron models' helpers (take the input of a step, fire)
PRELUDE = r"""
typedef long long i64;
typedef unsigned long long u64;

__device__ __forceinline__ u64 mix(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ void add_fixed(i64* p, i64 v) {
    atomicAdd((u64*)p, (u64)v);
}

/* ring_syn is (R, 2, n_local), ring_cur (R, n_local), both int64 fixed point (2**-32 pA). */

#define SCALE 2.3283064365386963e-10  /* 2**-32 */

/* Take (and clear) the synaptic input of neuron j at ring slot `slot`, in pA. */
__device__ __forceinline__ void take_synaptic(i64* ring_syn, const i64 slot, const i64 n_local, const i64 j,
                                              double* ex, double* in)
{
    i64* e = ring_syn + (slot * 2 + 0) * n_local + j;
    i64* h = ring_syn + (slot * 2 + 1) * n_local + j;
    *ex = (double)(*e) * SCALE;
    *in = (double)(*h) * SCALE;
    *e = 0;
    *h = 0;
}

/* Take (and clear) the current input of neuron j at ring slot `slot`, in pA. */
__device__ __forceinline__ double take_current(i64* ring_cur, const i64 slot, const i64 n_local, const i64 j)
{
    i64* c = ring_cur + slot * n_local + j;
    const double value = (double)(*c) * SCALE;
    *c = 0;
    return value;
}

/* Record neuron i's variables after a step: `values` in the order of its model's recordables, into row `row`
   of rec_out. rec_map (block.rec_map) holds n + 1 pointers, neuron i's recorded columns being pairs
   rec_map[i] .. rec_map[i+1]-1 of the (column, variable) pairs that follow them. */
__device__ __forceinline__ void record_columns(const i64* rec_map, const i64 n, const i64 i, double* rec_out,
                                               const i64 row, const double* values)
{
    for (i64 p = rec_map[i]; p < rec_map[i + 1]; ++p)
        rec_out[row + rec_map[n + 1 + 2 * p]] = values[rec_map[n + 2 + 2 * p]];
}

/* If v crossed theta: reset, start the refractory count, and append (j, step) to the spikes. */
__device__ __forceinline__ void fire(double* v, i64* r, const double theta, const double V_reset,
                                     const i64 ref_counts, const i64 j, const i64 step,
                                     i64* spk_idx, i64* spk_step, u64* n_spk)
{
    if (*v >= theta) {
        *r = ref_counts;
        *v = V_reset;
        const u64 pos = atomicAdd(n_spk, 1ULL);
        spk_idx[pos] = j;
        spk_step[pos] = step;
    }
}
"""

#: delivery and generator input
_SOURCE = r"""
/* One thread block per spike; its threads stride over the spike's row. */
template <typename P>
__device__ void deliver_rows(const i64* slots, const i64* steps, const i64* row_ptr, const P* packed,
                             const int shift, const P dmask, const i64 d0, const i64 wfix,
                             const float* weights, i64* ring, const i64 R, const i64 n_local)
{
    const i64 s = slots[blockIdx.x];
    const i64 base = steps[blockIdx.x] % R;
    const i64 end = row_ptr[s + 1];
    for (i64 jj = row_ptr[s] + threadIdx.x; jj < end; jj += blockDim.x) {
        const P p = packed[jj];
        i64 slot = base + d0 + (i64)(p & dmask);
        if (slot >= R) slot -= R;
        const i64 w = weights ? (i64)((double)weights[jj] * 4294967296.0) : wfix;
        add_fixed(ring + (slot * 2 + (w > 0 ? 0 : 1)) * n_local + (i64)(p >> shift), w);
    }
}

/* Every synapse group at once: block (i, g) delivers spike i through group g, whose arrays and packing
   are read from the group table (device pointers and parameters, one entry per group). */
extern "C" __global__ void deliver_groups(const i64* slots, const i64* steps, const u64* row_ptrs,
                                          const u64* packed, const u64* weights, const int* shifts,
                                          const u64* dmasks, const i64* d0s, const i64* wfixs, const int* wides,
                                          i64* ring, const i64 R, const i64 n_local)
{
    const int g = blockIdx.y;
    const i64* row_ptr = (const i64*)row_ptrs[g];
    const float* w = (const float*)weights[g];
    if (wides[g])
        deliver_rows<u64>(slots, steps, row_ptr, (const u64*)packed[g], shifts[g], dmasks[g], d0s[g], wfixs[g],
                          w, ring, R, n_local);
    else
        deliver_rows<unsigned int>(slots, steps, row_ptr, (const unsigned int*)packed[g], shifts[g],
                                   (unsigned int)dmasks[g], d0s[g], wfixs[g], w, ring, R, n_local);
}

/* One thread per connection of a poisson_generator; see kernels.poisson_input. */
extern "C" __global__ void poisson_input(
    const i64 first_step, const i64 n_steps, const i64 n_conn, const i64* target, const i64* wfix,
    const i64* delay, const i64* gen, const u64* stream, const i64* active_lo, const i64* active_hi,
    const double* cdf, const i64* cdf_start, const i64* cdf_len, const i64* guide, const i64 n_guide,
    i64* ring, const i64 R, const i64 n_local)
{
    const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= n_conn) return;
    const i64 g = gen[c];
    const u64 st = stream[c];
    const i64 start = cdf_start[g], top = cdf_len[g] - 1;
    const i64 w = wfix[c];
    for (i64 n = first_step; n < first_step + n_steps; ++n) {
        if (n < active_lo[g] || n >= active_hi[g]) continue;
        const u64 salt = ((u64)n + 1ULL) * 0x9E3779B97F4A7C15ULL;
        const double u = (double)(mix(st + salt) >> 11) * 1.1102230246251565e-16;
        i64 k = guide[g * n_guide + (i64)(u * (double)n_guide)];
        while (k < top && u >= cdf[start + k]) ++k;
        if (k) {
            i64 slot = n % R + delay[c];
            if (slot >= R) slot -= R;
            add_fixed(ring + (slot * 2 + (w > 0 ? 0 : 1)) * n_local + target[c], k * w);
        }
    }
}

/* glibc's exp(x) and pow(x, y) of n arguments: what glibc_exp and glibc_pow give on this device. */
extern "C" __global__ void glibc_math_values(const i64 n, const double* x, const double* y, double* exp_x,
                                             double* pow_xy)
{
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    exp_x[i] = glibc_exp(x[i]);
    pow_xy[i] = glibc_pow(x[i], y[i]);
}

/* One thread per connection of a dc_generator. */
extern "C" __global__ void current_input(
    const i64 first_step, const i64 n_steps, const i64 n_conn, const i64* target, const i64* value,
    const i64* delay, const i64* gen, const i64* active_lo, const i64* active_hi,
    i64* ring_cur, const i64 R, const i64 n_local)
{
    const i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= n_conn) return;
    const i64 g = gen[c];
    const i64 lo = max(first_step, active_lo[g]), hi = min(first_step + n_steps, active_hi[g]);
    for (i64 n = lo; n < hi; ++n)
        add_fixed(ring_cur + ((n + delay[c]) % R) * n_local + target[c], value[c]);
}
"""

#: the failures kernels or-in to the spike counter's second word: an AdEx neuron became unstable, more spikes
#: than the buffers hold (the CPU raises FloatingPointError and OverflowError)
UNSTABLE, OVERFLOW = 1, 2

#: nvrtc options: no fused multiply-add, so float64 results equal the CPU's
COMPILE_OPTIONS = ("--fmad=false", "-std=c++14")
THREADS = 256


def cupy():
    """The ``cupy`` module; ImportError naming the extra if it is missing."""
    try:
        import cupy as cp
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise ImportError("the GPU path needs CuPy: pip install 'dsnn[gpu]'") from exc
    return cp


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    try:
        import cupy as cp

        return cp.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def require():
    """Raise a clear error unless a GPU can be used."""
    if not available():
        raise RuntimeError("no CUDA GPU is usable here (needs CuPy and a CUDA device: pip install 'dsnn[gpu]')")


def source() -> str:
    """The CUDA source of every kernel: the prelude, glibc's exp and pow (``glibc_exp``, ``glibc_pow``: the
    CPU's results, where CUDA's own differ in the last bit), each neuron model's update, delivery and
    input."""
    return "\n".join([PRELUDE, glibc_math.cuda_source(),
                      *(model.CUDA_SOURCE for model in NEURON_MODELS.values() if model.CUDA_KERNEL), _SOURCE,
                      plasticity.CUDA_SOURCE])


@functools.lru_cache(maxsize=None)
def _module():
    cp = cupy()
    return cp.RawModule(code=source(), options=COMPILE_OPTIONS, name_expressions=None)


def _kernel(name: str):
    return _module().get_function(name)


def load_kernels() -> None:
    """Compile the module (NVRTC; CuPy caches it on disk) and load every kernel now, not in a run."""
    for name in (*(model.CUDA_KERNEL for model in NEURON_MODELS.values() if model.CUDA_KERNEL), "deliver_groups",
                 "poisson_input", "current_input", "glibc_math_values", "plastic_deliver",
                 "record_post_spikes_on_device", "prune_history_on_device"):
        _kernel(name)


def _blocks(n: int) -> tuple:
    return ((int(n) + THREADS - 1) // THREADS,)


def _i(x) -> np.int64:
    return np.int64(x)


def _f(x) -> np.float64:
    return np.float64(x)


def update_block(block, first_step: int, n_steps: int, ring_syn, ring_cur, rec_out, spk_idx, spk_step, count):
    """Launch the update of one neuron block on the GPU: its spikes are appended (unordered) to the device
    buffers ``spk_idx``/``spk_step`` through the device counter ``count`` (uint64, shape (3,): the spikes,
    the failures the kernel reports, the buffers' size; :class:`SpikeBuffers`).

    ``rec_out`` is a device array (interval, recorded columns) that receives
    after each step what the CPU's ``rec_out`` receives (the variables of
    the model's recordables, as its kernels hold them; ``block.rec_map``:
    :func:`recording_map`). The arguments are the model's (``KERNEL_STATE``, the rings,
    ``KERNEL_CONSTANTS``) between a head and a tail every neuron kernel shares.
    """
    model = block.model
    n = block.hi - block.lo
    R, n_local = ring_syn.shape[0], ring_syn.shape[2]
    head = (_i(first_step), _i(n_steps), _i(block.lo), _i(n), _i(n_local), _i(R))
    state = tuple(block.state[name] for name in model.KERNEL_STATE) + (ring_syn, ring_cur)
    constants = tuple(_f(block.const[name]) for name in model.KERNEL_CONSTANTS)
    tail = (_i(block.ref_counts), block.rec_map, rec_out, _i(rec_out.shape[1]), spk_idx, spk_step, count)
    _kernel(model.CUDA_KERNEL)(_blocks(n), (THREADS,), head + state + constants + tail)


def recording_map(n: int, rec_idx, rec_var) -> np.ndarray:
    """int64: for a block of ``n`` neurons whose recorded column q is variable ``rec_var[q]`` of neuron
    ``rec_idx[q]``, the n + 1 pointers of each neuron's columns, then the (column, variable) pairs in that
    order (what the kernels' ``record_columns`` reads)."""
    rec_idx, rec_var = np.asarray(rec_idx, dtype=np.int64), np.asarray(rec_var, dtype=np.int64)
    order = np.argsort(rec_idx, kind="stable")
    pointers = np.concatenate([[0], np.cumsum(np.bincount(rec_idx, minlength=n))])
    pairs = np.stack([order, rec_var[order]], axis=1).ravel()
    return np.concatenate([pointers, pairs]).astype(np.int64)


class SpikeBuffers:
    """Device buffers the blocks of a partition append their spikes to, allocated once."""

    def __init__(self, n_local: int, interval: int):
        cp = cupy()
        self.idx = cp.empty(max(1, n_local * interval), dtype=cp.int64)
        self.step = cp.empty_like(self.idx)
        # the kernels' counter (atomically incremented), the failures they report (UNSTABLE | OVERFLOW) and
        # the buffers' size, which kernels that may emit several spikes a step check
        self.count = cp.zeros(3, dtype=cp.uint64)
        self._set_header()

    def _set_header(self) -> None:
        """What :attr:`count` starts an update with (no spikes, no failure, the buffers' size), kept on the
        device so that an update copies it there rather than from the host."""
        self.header = cupy().asarray(np.array([0, 0, self.idx.shape[0]], dtype=np.uint64))

    def reserve(self, spikes: int) -> None:
        """Make room for ``spikes`` spikes (parrots emit several a step where several arrived)."""
        if spikes > self.idx.shape[0]:
            cp = cupy()
            self.idx = cp.empty(spikes, dtype=cp.int64)
            self.step = cp.empty_like(self.idx)
            self._set_header()


def repeated_spikes_due(blocks, first_step: int, n_steps: int, ring_syn) -> int:
    """How many spikes the blocks of models that repeat what arrives (parrot_neuron) will emit in steps
    ``first_step .. first_step+n_steps-1``: what arrived for them, all of it in the ring before the interval
    (``parrot_neuron.spikes_due`` on the device)."""
    repeating = [blk for blk in blocks if blk.model.SPEC.repeats_spikes]
    if not repeating:
        return 0
    cp = cupy()
    slots = cp.asarray((first_step + np.arange(n_steps)) % ring_syn.shape[0])
    total = 0
    for blk in repeating:
        cells = ring_syn[slots, :, blk.lo:blk.hi]
        total += int(((cells[:, 0] + cells[:, 1]) >> 32).sum())
    return total


def update_blocks(blocks, first_step: int, n_steps: int, ring_syn, ring_cur, buffers: SpikeBuffers):
    """Advance every neuron block; returns device ``(local_index, step)`` of the spikes, in no particular
    order (delivery adds exactly in any order, and recorders sort), with one host synchronisation (the
    spike count) for all blocks. They are views of ``buffers``: copy what must outlive the interval."""
    buffers.reserve(ring_syn.shape[2] * n_steps + repeated_spikes_due(blocks, first_step, n_steps, ring_syn))
    buffers.count[...] = buffers.header
    for blk in blocks:
        update_block(blk, first_step, n_steps, ring_syn, ring_cur, blk.rec_out, buffers.idx, buffers.step,
                     buffers.count)
    k, failed, _ = (int(v) for v in buffers.count.get())
    if failed & UNSTABLE:
        raise FloatingPointError(adaptive.UNSTABLE)
    if failed & OVERFLOW:
        raise OverflowError(stepping.OVERFLOW)
    return buffers.idx[:k], buffers.step[:k]  # views of the buffers: valid until the next update


class GroupTable:
    """The synapse groups of a partition as one table of device pointers and parameters, for
    :func:`deliver_all` (the partition keeps the groups' arrays where they are)."""

    def __init__(self, groups):
        cp = cupy()
        self.n = len(groups)
        self.row_ptrs = cp.asarray(np.array([_ptr(g.row_ptr) for g in groups], dtype=np.uint64))
        self.packed = cp.asarray(np.array([_ptr(g.packed) for g in groups], dtype=np.uint64))
        self.weights = cp.asarray(np.array([_ptr(g.weights) for g in groups], dtype=np.uint64))
        self.shifts = cp.asarray(np.array([int(g.shift) for g in groups], dtype=np.int32))
        self.dmasks = cp.asarray(np.array([int(g.dmask) for g in groups], dtype=np.uint64))
        self.d0s = cp.asarray(np.array([int(g.d0) for g in groups], dtype=np.int64))
        self.wfixs = cp.asarray(np.array([int(g.wfix) for g in groups], dtype=np.int64))
        self.wides = cp.asarray(np.array([g.packed.dtype.itemsize == 8 for g in groups], dtype=np.int32))


def _ptr(a) -> int:
    """Device address of array ``a`` (0, a NULL pointer, for None)."""
    return 0 if a is None else int(a.data.ptr)


def deliver_all(table: GroupTable, slots, steps, ring_syn):
    """Deliver spikes (device int64 ``slots``, ``steps``) through every group of ``table`` in one launch."""
    if slots.shape[0] == 0 or table.n == 0:
        return
    _kernel("deliver_groups")(
        (int(slots.shape[0]), table.n), (THREADS,),
        (slots, steps, table.row_ptrs, table.packed, table.weights, table.shifts, table.dmasks, table.d0s,
         table.wfixs, table.wides, ring_syn, _i(ring_syn.shape[0]), _i(ring_syn.shape[2])))


def poisson_input(pin, first_step: int, n_steps: int, ring_syn):
    n = pin.target.shape[0]
    _kernel("poisson_input")(
        _blocks(n), (THREADS,),
        (_i(first_step), _i(n_steps), _i(n), pin.target, pin.wfix, pin.delay, pin.gen, pin.stream,
         pin.active_lo, pin.active_hi, pin.cdf, pin.cdf_start, pin.cdf_len, pin.guide,
         _i(pin.guide.shape[1]), ring_syn, _i(ring_syn.shape[0]), _i(ring_syn.shape[2])))


class PostHistoryOnDevice:
    """A partition's spike histories for plastic synapses (``partition.PostHistory``) in GPU memory, for
    :func:`plastic_deliver`: recorded and pruned as the host's copy is (which checkpoints read and which
    sizes the rows), by the same operations."""

    def __init__(self, post):
        self.upload(post)

    def upload(self, post) -> None:
        """Copy the host's histories (after a build or a restore)."""
        cp = cupy()
        self.tau_minus_inv, self.kminus = cp.asarray(post.tau_minus_inv), cp.asarray(post.kminus)
        self.last_spike = cp.asarray(post.last_spike)
        self.t, self.k, self.n = cp.asarray(post.t), cp.asarray(post.k), cp.asarray(post.n)

    def record(self, idx, steps, tics_per_step: int, capacity: int) -> None:
        """Append host spikes ``idx``/``steps`` (each neuron's in time order), rows grown to ``capacity``."""
        cp = cupy()
        if capacity > self.t.shape[1]:
            for name in ("t", "k"):
                old = getattr(self, name)
                grown = cp.zeros((old.shape[0], capacity), dtype=cp.float64)
                grown[:, :old.shape[1]] = old
                setattr(self, name, grown)
        idx, steps = cp.asarray(idx, dtype=cp.int64), cp.asarray(steps, dtype=cp.int64)
        _kernel("record_post_spikes_on_device")(
            (1,), (1,), (_i(idx.shape[0]), idx, steps, _i(tics_per_step), self.tau_minus_inv, self.kminus,
                         self.last_spike, self.t, self.k, self.n, _i(self.t.shape[1])))

    def prune(self, before: float) -> None:
        """Forget each neuron's spikes before the last one earlier than ``before`` (ms)."""
        n = self.n.shape[0]
        _kernel("prune_history_on_device")(_blocks(n), (THREADS,), (_i(n), _f(before), self.t, self.k, self.n,
                                                                      _i(self.t.shape[1])))


def plastic_deliver(g, params, sources, spike_ptr, spike_steps, tics_per_step: int, post: PostHistoryOnDevice,
                    ring_syn) -> None:
    """Deliver spikes through plastic group ``g`` (its arrays on the device; ``params`` its ``stdp`` row on
    the host, in the order of ``plasticity.STDP_COLUMNS``): host ``sources`` (slots with synapses,
    ascending), each with its spikes ``spike_steps[spike_ptr[b]:spike_ptr[b+1]]`` in time order; weights,
    K+ and last spike times change as the CPU's ``plasticity.deliver_stdp`` changes them."""
    cp = cupy()
    n = sources.shape[0]
    d_sources = cp.asarray(sources, dtype=cp.int64)
    kplus_out, t_last_out, u_out = cp.empty(n), cp.empty(n), cp.empty(n)
    _kernel("plastic_deliver")(
        (n,), (128,),
        (d_sources, cp.asarray(spike_ptr, dtype=cp.int64), cp.asarray(spike_steps, dtype=cp.int64), g.row_ptr,
         g.packed, np.int32(g.shift), np.uint64(g.dmask), _i(g.d0), g.weights, g.kplus, g.t_last, g.u_state,
         kplus_out, t_last_out, u_out, np.int32(round(params[0])), *(_f(v) for v in params[1:7]),
         _f(tics_per_step / 1000.0), _i(tics_per_step), post.tau_minus_inv, post.t, post.k, post.n,
         _i(post.t.shape[1]), ring_syn, _i(ring_syn.shape[0]), _i(ring_syn.shape[2])))
    g.kplus[d_sources] = kplus_out
    g.t_last[d_sources] = t_last_out
    g.u_state[d_sources] = u_out


def glibc_math_values(x, y) -> tuple:
    """``(exp(x), pow(x, y))`` as the kernels compute them (``glibc_exp``, ``glibc_pow``), for float64 host
    arrays of one shape; returned on the host."""
    cp = cupy()
    x, y = cp.asarray(np.ascontiguousarray(x, dtype=np.float64)), cp.asarray(np.ascontiguousarray(y, dtype=np.float64))
    exp_x, pow_xy = cp.empty_like(x), cp.empty_like(x)
    _kernel("glibc_math_values")(_blocks(x.size), (THREADS,), (_i(x.size), x, y, exp_x, pow_xy))
    return exp_x.get(), pow_xy.get()


def current_input(cin, first_step: int, n_steps: int, ring_cur):
    n = cin.target.shape[0]
    _kernel("current_input")(
        _blocks(n), (THREADS,),
        (_i(first_step), _i(n_steps), _i(n), cin.target, cin.value, cin.delay, cin.gen, cin.active_lo,
         cin.active_hi, ring_cur, _i(ring_cur.shape[0]), _i(ring_cur.shape[1])))
