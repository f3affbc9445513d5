"""CPU kernels (numba) for the inner loops: spike delivery and generator input.

All input goes into int64 fixed-point ring buffers in units of 2**-32 pA, so
sums are exact and do not depend on the order in which partitions deliver.
``ring_syn`` has shape (R, 2, n_local) (channel 0 excitatory, 1 inhibitory),
``ring_cur`` (R, n_local); slot ``step % R`` holds the input of update step
``step``. A spike emitted in update step ``n`` through a delay of ``d`` steps
arrives in slot ``n + d`` (NEST's convention).
"""

from __future__ import annotations

import numba
import numpy as np

from .rng import GAMMA, _mix1 as _mix

__all__ = ["deliver_uniform", "deliver_weighted", "poisson_input", "current_input", "count_rows",
           "fill_rows", "indegree_pack", "FIXED_SCALE"]

#: fixed-point scale of the ring buffers: 1 pA = 2**32 units
FIXED_SCALE = 2.0**32

_G = np.uint64(GAMMA)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_S16 = np.uint64(16)
_M16 = np.uint64(0xFFFF)


@numba.njit(inline="always")
def _word(packed, packed_hi, j):
    """Packed synapse word ``j``: ``packed[j]``, with ``packed_hi[j]`` as bits 16-23 if it is not empty."""
    if packed_hi.shape[0]:
        return np.uint64(packed[j]) | (np.uint64(packed_hi[j]) << _S16)
    return np.uint64(packed[j])


@numba.njit(inline="always")
def _put(packed, packed_hi, j, word):
    """Store ``word`` as packed synapse ``j`` (the inverse of :func:`_word`)."""
    if packed_hi.shape[0]:
        packed[j] = word & _M16
        packed_hi[j] = word >> _S16
    else:
        packed[j] = word


@numba.njit(cache=True, nogil=True)
def deliver_uniform(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, wfix, ring):
    """Deliver spikes through synapses that share one weight ``wfix`` (fixed point).

    ``slots``/``steps``: presynaptic slot and emission step of each spike.
    Synapses of slot s are ``row_ptr[s] .. row_ptr[s+1]-1``; each packs the
    target (``p >> shift``) and the delay in steps (``d0 + (p & dmask)``)
    in one word (see :func:`_word`: 16, 24, 32 or 64 bits).
    """
    R = ring.shape[0]
    ch = 0 if wfix > 0 else 1
    shift, dmask = np.uint64(shift), np.uint64(dmask)
    if dmask == 0:  # one delay: each spike adds to one row of the ring
        for i in range(slots.shape[0]):
            s = slots[i]
            slot = steps[i] % R + d0
            row = ring[slot - R if slot >= R else slot, ch]
            for j in range(row_ptr[s], row_ptr[s + 1]):
                row[np.int64(_word(packed, packed_hi, j) >> shift)] += wfix
        return
    for i in range(slots.shape[0]):
        s = slots[i]
        base = steps[i] % R
        for j in range(row_ptr[s], row_ptr[s + 1]):
            p = _word(packed, packed_hi, j)
            slot = base + d0 + np.int64(p & dmask)
            if slot >= R:
                slot -= R
            ring[slot, ch, np.int64(p >> shift)] += wfix


@numba.njit(cache=True, nogil=True)
def deliver_weighted(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, weights, ring):
    """As :func:`deliver_uniform` with one float32 weight (pA) per synapse.

    A float32 times 2**32 is exact in float64, so the fixed-point value is
    exact too.
    """
    R = ring.shape[0]
    shift, dmask = np.uint64(shift), np.uint64(dmask)
    for i in range(slots.shape[0]):
        s = slots[i]
        base = steps[i] % R
        for j in range(row_ptr[s], row_ptr[s + 1]):
            p = _word(packed, packed_hi, j)
            slot = base + d0 + np.int64(p & dmask)
            if slot >= R:
                slot -= R
            w = np.int64(np.float64(weights[j]) * 4294967296.0)
            ring[slot, 0 if w > 0 else 1, np.int64(p >> shift)] += w


@numba.njit(cache=True, nogil=True)
def poisson_input(first_step, n_steps, target, wfix, delay, gen, stream, active_lo, active_hi,
                  cdf, cdf_start, cdf_len, guide, ring):
    """Independent Poisson input for each connection of a poisson_generator.

    The count of connection c at step n is drawn by inversion of the
    generator's cumulative table from the 53-bit uniform
    ``mix(stream[c] + (n+1)*GAMMA)`` (== ``rng.bits(k, key_c, n)``), so it
    depends only on the seed, the synapse key and the step. The search starts
    at ``guide[g, floor(u * G)]``, the count of table entries <= that bucket's
    lower edge (Chen & Asau's guide table: exact, and almost always final).
    Steps are the outer loop so that consecutive connections write
    neighbouring targets.
    """
    n_guide = guide.shape[1]
    R = ring.shape[0]
    n_conn = target.shape[0]
    for n in range(first_step, first_step + n_steps):
        base = n % R
        salt = (np.uint64(n) + _ONE) * _G
        c = 0
        while c < n_conn:  # runs of connections of one generator share its table
            g = gen[c]
            c_end = c + 1
            while c_end < n_conn and gen[c_end] == g:
                c_end += 1
            if active_lo[g] <= n < active_hi[g]:
                top = cdf_len[g] - 1
                table = cdf[cdf_start[g]:cdf_start[g] + cdf_len[g]]
                first = guide[g]
                for cc in range(c, c_end):
                    u = np.float64(_mix(stream[cc] + salt) >> _S11) * 1.1102230246251565e-16
                    k = first[np.int64(u * n_guide)]
                    while k < top and u >= table[k]:
                        k += 1
                    slot = base + delay[cc]
                    if slot >= R:
                        slot -= R
                    w = wfix[cc]
                    ring[slot, 0 if w > 0 else 1, target[cc]] += k * w  # k == 0 adds nothing
            c = c_end


@numba.njit(cache=True, nogil=True)
def current_input(first_step, n_steps, target, value, delay, gen, active_lo, active_hi, ring_cur):
    """Constant currents (fixed point ``value`` per connection) while their generator is active."""
    R = ring_cur.shape[0]
    last = first_step + n_steps
    for c in range(target.shape[0]):
        g = gen[c]
        for n in range(max(first_step, active_lo[g]), min(last, active_hi[g])):
            ring_cur[(n + delay[c]) % R, target[c]] += value[c]


@numba.njit(inline="always")
def _indegree_source(h, j, n_eff, me):
    """Source index j of a target whose stream is ``h`` (``rng.integers``), skipping ``me``."""
    u = np.float64(_mix(h + (np.uint64(j) + _ONE) * _G) >> _S11) * 1.1102230246251565e-16
    s = np.int64(np.floor(u * n_eff))
    if me >= 0 and s >= me:
        s += 1
    return s


@numba.njit(inline="always")
def _row(kk, target, me, n_pre):
    """Stream, skipped index and number of candidates of a target's fixed in-degree draws."""
    return _mix(kk + np.uint64(target) * _G), me, np.float64(n_pre - 1 if me >= 0 else n_pre)


@numba.njit(cache=True, nogil=True)
def indegree_sources(k, targets, K, n_pre, self_index):
    """``K`` uniform source indices per target, as ``rng.integers(k, target, n_eff, j)``.

    Row ``i`` (target gid ``targets[i]``) skips its own index ``self_index[i]``
    (-1: none) by drawing among ``n_pre - 1`` and shifting; returns (T*K,) int64.
    """
    out = np.empty(targets.shape[0] * K, dtype=np.int64)
    kk = np.uint64(k)
    for i in range(targets.shape[0]):
        h, me, n_eff = _row(kk, targets[i], self_index[i], n_pre)
        for j in range(K):
            out[i * K + j] = _indegree_source(h, j, n_eff, me)
    return out


@numba.njit(cache=True, nogil=True)
def indegree_mark(k, targets, K, n_pre, self_index, pre_first, present):
    """Set ``present[gid]`` for every source gid drawn by :func:`indegree_sources`."""
    kk = np.uint64(k)
    for i in range(targets.shape[0]):
        h, me, n_eff = _row(kk, targets[i], self_index[i], n_pre)
        for j in range(K):
            present[pre_first + _indegree_source(h, j, n_eff, me)] = True


@numba.njit(cache=True, nogil=True)
def indegree_pack(k, targets, K, n_pre, self_index, pre_first, slot_of, n_slots, local0, packed, packed_hi):
    """The rows of a fixed in-degree projection with one shared delay, drawn in place.

    The sources of :func:`indegree_sources` are grouped by their slot
    (``slot_of[gid]``) into ``packed`` (target local index ``local0 + i``
    alone, see :func:`_put`) without being stored: they are drawn twice,
    once to count the rows and once to fill them, which touches far less
    memory. Returns ``row_ptr`` over ``n_slots`` (int64).
    """
    kk = np.uint64(k)
    row_ptr = np.zeros(n_slots + 1, dtype=np.int64)
    for i in range(targets.shape[0]):
        h, me, n_eff = _row(kk, targets[i], self_index[i], n_pre)
        for j in range(K):
            row_ptr[slot_of[pre_first + _indegree_source(h, j, n_eff, me)] + 1] += 1
    for s in range(n_slots):
        row_ptr[s + 1] += row_ptr[s]
    fill = row_ptr[:-1].copy()
    for i in range(targets.shape[0]):
        h, me, n_eff = _row(kk, targets[i], self_index[i], n_pre)
        word = np.uint64(local0 + i)
        for j in range(K):
            s = slot_of[pre_first + _indegree_source(h, j, n_eff, me)]
            _put(packed, packed_hi, fill[s], word)
            fill[s] += 1
    return row_ptr


@numba.njit(cache=True, nogil=True)
def count_rows(src, first, counts):
    """``counts[src[i] - first] += 1`` for every synapse: its row's length (sources as gids)."""
    for i in range(src.shape[0]):
        counts[src[i] - first] += 1


@numba.njit(cache=True, nogil=True)
def fill_rows(src, first, fill, target, delay, dbits, d0, packed, packed_hi, weights_in, weights_out):
    """Put synapses into their rows: the second pass after :func:`count_rows`.

    Synapse ``i`` (source gid ``src[i]``) goes to position ``fill[src[i] - first]``
    (then advanced) as the word ``target[i] << dbits | (delay[i] - d0)``;
    ``delay`` has one entry per synapse or one shared by all; if
    ``weights_in`` is not empty its weight follows to the same position of
    ``weights_out``. Within a row, synapses keep their input order.
    """
    shared = delay.shape[0] == 1
    with_weights = weights_in.shape[0] > 0
    for i in range(src.shape[0]):
        r = src[i] - first
        j = fill[r]
        fill[r] += 1
        d = delay[0] if shared else delay[i]
        _put(packed, packed_hi, j, (np.uint64(target[i]) << np.uint64(dbits)) | np.uint64(d - d0))
        if with_weights:
            weights_out[j] = weights_in[i]
