"""CPU kernels (numba) of construction: rows of synapses counted and filled in place.

A projection's synapses are drawn twice, a chunk at a time: once to count
each source's row (:func:`count_rows`), once to put each synapse at its
place in the row (:func:`fill_rows`), so no synapse list is ever held. A
fixed in-degree projection with one weight and delay is drawn straight
into its rows (:func:`indegree_pack`), its sources never stored. Words are
packed as the backends read them (:func:`dsnn.backends.cpu.word`).
"""

from __future__ import annotations

import numpy as np

from ..backends.cpu import put_word
from ..randomness.rng import GAMMA, mix1, uniform1
from ..support.jit import kernel, prefetch

__all__ = ["indegree_sources", "indegree_mark", "indegree_pack", "total_number_chunk", "steps_of_delays", "count_rows",
           "fill_rows"]

#: fill_rows prefetches the row position of the synapse this many places ahead: a source's row is a
#: random place in arrays of up to GiB, one cache miss per synapse unless many are in flight
FILL_AHEAD = 32

_G = np.uint64(GAMMA)
_ONE = np.uint64(1)


@kernel(inline=True)
def _indegree_source(h, j, n_eff, me):
    """Source index j of a target whose stream is ``h`` (``rng.integers``), skipping ``me``."""
    u = uniform1(h + (np.uint64(j) + _ONE) * _G)
    s = np.int64(np.floor(u * n_eff))
    if me >= 0 and s >= me:
        s += 1
    return s


@kernel(inline=True)
def _row(kk, target, me, n_pre):
    """Stream, skipped index and number of candidates of a target's fixed in-degree draws."""
    return mix1(kk + np.uint64(target) * _G), me, np.float64(n_pre - 1 if me >= 0 else n_pre)


@kernel
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


@kernel
def indegree_mark(k, targets, K, n_pre, self_index, pre_first, present):
    """Set ``present[gid]`` for every source gid drawn by :func:`indegree_sources`."""
    kk = np.uint64(k)
    for i in range(targets.shape[0]):
        h, me, n_eff = _row(kk, targets[i], self_index[i], n_pre)
        for j in range(K):
            present[pre_first + _indegree_source(h, j, n_eff, me)] = True


@kernel
def indegree_pack(k, targets, K, n_pre, self_index, pre_first, slot_of, n_slots, local0, packed, packed_hi):
    """The rows of a fixed in-degree projection with one shared delay, drawn in place.

    The sources of :func:`indegree_sources` are grouped by their slot
    (``slot_of[gid]``) into ``packed`` (target local index ``local0 + i``
    alone, see :func:`~dsnn.backends.cpu.put_word`) without being stored: they are drawn twice,
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
            put_word(packed, packed_hi, fill[s], word)
            fill[s] += 1
    return row_ptr


@kernel(inline=True)
def _index_of(h, c, n):
    """``rng.integers(k, i, n, c)`` of one id whose hash ``mix1(k + i*GAMMA)`` is ``h``."""
    u = uniform1(h + (np.uint64(c) + _ONE) * _G)
    return np.int64(np.floor(u * n))


@kernel
def total_number_chunk(k, a, b, pre_first, n_pre, post_first, n_post, t_lo, t_hi, no_autapses):
    """Connections ``a .. b-1`` of a fixed_total_number projection (or of one block of its targets: then
    ``post_first``/``n_post`` are the block's) whose target is in ``t_lo .. t_hi-1``: (source gids, target
    gids, connection indices), as ``connectivity`` draws them one array at a time: connection ``i``'s
    target is ``post_first + rng.integers(k, i, n_post, 0)``, its source ``rng.integers(k, i, n_pre, 1)``,
    redrawn with counters 2, 3, ... while it is the target itself."""
    kk = np.uint64(k)
    src = np.empty(b - a, dtype=np.int64)
    tgt = np.empty(b - a, dtype=np.int64)
    idx = np.empty(b - a, dtype=np.uint64)
    m = 0
    for i in range(a, b):
        h = mix1(kk + np.uint64(i) * _G)
        t = post_first + _index_of(h, 0, np.float64(n_post))
        if t < t_lo or t >= t_hi:
            continue
        s = pre_first + _index_of(h, 1, np.float64(n_pre))
        c = 2
        while no_autapses and s == t:
            s = pre_first + _index_of(h, c, np.float64(n_pre))
            c += 1
        src[m], tgt[m], idx[m] = s, t, np.uint64(i)
        m += 1
    return src[:m], tgt[:m], idx[:m]


@kernel
def steps_of_delays(delay_ms, dt, out):
    """``out[i] = max(1, rint(delay_ms[i] / dt))`` (int64): NumPy's expression, in one pass."""
    for i in range(delay_ms.shape[0]):
        out[i] = np.int64(max(1.0, np.rint(delay_ms[i] / dt)))


@kernel
def count_rows(src, first, counts):
    """``counts[src[i] - first] += 1`` for every synapse: its row's length (sources as gids)."""
    for i in range(src.shape[0]):
        counts[src[i] - first] += 1


@kernel
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
    n = src.shape[0]
    for i in range(n):
        if i + FILL_AHEAD < n:  # rows of a large projection are far apart: keep many writes in flight
            ahead = fill[src[i + FILL_AHEAD] - first]
            prefetch(packed, ahead)
            if packed_hi.shape[0]:
                prefetch(packed_hi, ahead)
            if with_weights:
                prefetch(weights_out, ahead)
        r = src[i] - first
        j = fill[r]
        fill[r] += 1
        d = delay[0] if shared else delay[i]
        put_word(packed, packed_hi, j, (np.uint64(target[i]) << np.uint64(dbits)) | np.uint64(d - d0))
        if with_weights:
            weights_out[j] = weights_in[i]
