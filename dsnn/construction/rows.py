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
from ..randomness.rng import GAMMA, mix1
from ..support.jit import kernel

__all__ = ["indegree_sources", "indegree_mark", "indegree_pack", "count_rows", "fill_rows"]

_G = np.uint64(GAMMA)
_S11 = np.uint64(11)
_ONE = np.uint64(1)


@kernel(inline=True)
def _indegree_source(h, j, n_eff, me):
    """Source index j of a target whose stream is ``h`` (``rng.integers``), skipping ``me``."""
    u = np.float64(mix1(h + (np.uint64(j) + _ONE) * _G) >> _S11) * 1.1102230246251565e-16
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
    for i in range(src.shape[0]):
        r = src[i] - first
        j = fill[r]
        fill[r] += 1
        d = delay[0] if shared else delay[i]
        put_word(packed, packed_hi, j, (np.uint64(target[i]) << np.uint64(dbits)) | np.uint64(d - d0))
        if with_weights:
            weights_out[j] = weights_in[i]
