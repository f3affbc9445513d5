"""Draw the synapses of one projection onto a range of target gids.

Target-side: a partition calls :func:`draw` for the targets it owns. Each
rule's draws are keyed so that the synapses of a target depend only on the
seed, the projection and global ids, never on which partition asks:

- ``fixed_indegree``, ``pairwise_bernoulli``, ``all_to_all``, ``one_to_one``:
  streams keyed by the target gid;
- ``fixed_outdegree``: streams keyed by the source gid (every partition draws
  each source's targets and keeps its own);
- ``fixed_total_number``: the N connections are split over blocks of
  :data:`TOTAL_NUMBER_BLOCK` targets by one multinomial draw keyed by the
  projection (every partition repeats it: a few numbers per block);
  connection ``i`` (numbered block after block) draws its target within its
  block and its source from stream ``i``. A partition draws only the
  connections of the blocks its targets fall in.

Each synapse gets a 64-bit key, unique within its projection, from which its
weight, delay and (for Poisson input) its spike train are drawn.
"""

from __future__ import annotations

import numpy as np

from ..description.rules import Rule
from ..randomness import rng
from .nodes import NodeIndex
from .rows import indegree_sources, total_number_chunk

__all__ = ["draw", "draw_chunks", "total_number_blocks", "CHUNK", "TOTAL_NUMBER_BLOCK"]

#: how many candidate (source, target) pairs are handled at once
CHUNK = 1 << 18

#: fixed_total_number splits its connections over blocks of this many targets (see the module docstring)
TOTAL_NUMBER_BLOCK = 4096


def total_number_blocks(k: int, N: int, n_post: int) -> np.ndarray:
    """Where fixed_total_number's connections fall: ``offsets`` (int64, one more than the blocks of
    :data:`TOTAL_NUMBER_BLOCK` targets), block ``b``'s connections being ``offsets[b] .. offsets[b+1]-1``.

    The counts are one multinomial draw of N over the blocks, with probabilities their sizes over
    ``n_post`` (what N independent uniform targets give), by NumPy's ``RandomState``, whose streams NumPy
    keeps fixed across versions, seeded by the projection's key ``k``.
    """
    n_blocks = -(-n_post // TOTAL_NUMBER_BLOCK)
    sizes = np.full(n_blocks, TOTAL_NUMBER_BLOCK, dtype=np.float64)
    sizes[-1] = n_post - TOTAL_NUMBER_BLOCK * (n_blocks - 1)
    state = np.random.RandomState([int(k) & 0xFFFFFFFF, int(k) >> 32])
    counts = state.multinomial(N, sizes / n_post) if n_blocks > 1 else np.array([N])
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _distinct_rows(k: int, row_ids, n_eff, K: int, dense: bool, xp):
    """For each row, K distinct integers in [0, n_eff[row]) (rows sorted).

    ``dense`` picks the algorithm; it must depend only on the projection, never
    on which rows are drawn together, or the result would depend on the
    partitioning.
    """
    T = row_ids.shape[0]
    if dense:
        # dense: rank all candidates by a random key and keep the K smallest
        n_max = int(n_eff.max())
        cand = xp.arange(n_max, dtype=xp.uint64)
        keys = rng.bits(k, row_ids[:, None], cand[None, :] + xp.uint64(1 << 40), xp)
        keys = xp.where(cand[None, :] < n_eff[:, None].astype(xp.uint64), keys, xp.uint64(2**64 - 1))
        idx = xp.argsort(keys, axis=1, kind="stable")[:, :K]
        return xp.sort(idx, axis=1).astype(xp.int64)
    cols = xp.arange(K, dtype=xp.int64)
    idx = rng.integers(k, row_ids[:, None], n_eff[:, None], cols[None, :], xp)
    round_ = 1
    while True:
        idx = xp.sort(idx, axis=1)
        dup = xp.zeros((T, K), dtype=bool)
        dup[:, 1:] = idx[:, 1:] == idx[:, :-1]
        rows, cs = xp.nonzero(dup)
        if rows.size == 0:
            return idx
        idx[rows, cs] = rng.integers(k, row_ids[rows], n_eff[rows], round_ * K + cs, xp)
        round_ += 1


def _degree_rows(rule: Rule, k: int, rows, row_self, n_other: int, K: int, xp):
    """K draws per row among n_other, skipping the row's own index ``row_self`` (-1: none)."""
    excl = (row_self >= 0)
    n_eff = xp.full(rows.shape, n_other, dtype=xp.int64) - excl
    if rule.allow_multapses:
        cols = xp.arange(K, dtype=xp.int64)
        idx = rng.integers(k, rows[:, None], n_eff[:, None], cols[None, :], xp)
    else:
        idx = _distinct_rows(k, rows, n_eff, K, 2 * K > n_other - 1, xp)
    if bool(excl.any()):
        idx = idx + ((idx >= row_self[:, None]) & excl[:, None])
    return idx


def draw_chunks(rule: Rule, k: int, pre: NodeIndex, post: NodeIndex, t_lo: int, t_hi: int, xp=np,
                want_keys: bool = True):
    """Synapses of a projection onto target gids ``t_lo .. t_hi-1``, a chunk at a time.

    ``pre`` and ``post`` index the source and target nodes (a population or
    populations added); the rules draw indices among them, in gid order.
    ``t_lo .. t_hi-1`` must all be targets. Yields ``(source_gid,
    target_gid, key)`` arrays (int64, int64, uint64), one entry per synapse,
    each chunk of about :data:`CHUNK` candidates; ``key`` is None unless
    ``want_keys``. The chunks come in the same order on every call, so a
    caller may draw twice (count, then fill) instead of holding the synapses.
    """
    same_pop = not rule.allow_autapses
    n_pre, n_post = pre.n, post.n

    def self_index(gids, side):
        """Each gid's index among ``side`` where autapses are excluded, else -1."""
        return side.index(gids, xp) if same_pop else xp.full(gids.shape, -1, dtype=xp.int64)

    def keys_of(rows, cols):
        return (rows.astype(xp.uint64) << xp.uint64(32)) | cols.astype(xp.uint64) if want_keys else None

    name = rule.name
    if t_hi <= t_lo:
        return
    if name == "one_to_one":
        tg = xp.arange(t_lo, t_hi, dtype=xp.int64)
        sg = pre.gids(post.index(tg, xp), xp)
        keep = ~((sg == tg) & same_pop)
        yield sg[keep], tg[keep], keys_of(tg[keep], xp.zeros(int(keep.sum()), dtype=xp.int64))
    elif name == "fixed_indegree" and rule.value > 0:
        K = rule.value
        per_chunk = max(1, CHUNK // K)
        for a in range(t_lo, t_hi, per_chunk):
            tg = xp.arange(a, min(t_hi, a + per_chunk), dtype=xp.int64)
            me = self_index(tg, pre)
            if xp is np and rule.allow_multapses:
                src = indegree_sources(np.uint64(k), tg, K, n_pre, me)  # fused kernel, same bits
            else:
                src = _degree_rows(rule, k, tg, me, n_pre, K, xp).ravel()
            cols = xp.tile(xp.arange(K, dtype=xp.int64), tg.shape[0]) if want_keys else None
            tgt = xp.repeat(tg, K)
            yield pre.gids(src, xp), tgt, keys_of(tgt, cols) if want_keys else None
    elif name in ("all_to_all", "pairwise_bernoulli"):
        per_chunk = max(1, CHUNK // n_pre)
        cand = xp.arange(n_pre, dtype=xp.int64)
        cand_gids = pre.gids(cand, xp)
        for a in range(t_lo, t_hi, per_chunk):
            tg = xp.arange(a, min(t_hi, a + per_chunk), dtype=xp.int64)
            mask = xp.ones((tg.shape[0], n_pre), dtype=bool)
            if name == "pairwise_bernoulli":
                threshold = xp.uint64(int(rule.value * 2.0**53))
                mask = (rng.bits(k, tg[:, None], cand[None, :], xp) >> xp.uint64(11)) < threshold
            if same_pop:
                mask &= cand_gids[None, :] != tg[:, None]
            r, cols = xp.nonzero(mask)
            rows = tg[r]
            yield cand_gids[cols], rows, keys_of(rows, cols)
    elif name == "fixed_outdegree" and rule.value > 0:
        K = rule.value
        per_chunk = max(1, CHUNK // K)
        for first, size in pre.spans:
            for a in range(first, first + size, per_chunk):
                sg = xp.arange(a, min(first + size, a + per_chunk), dtype=xp.int64)
                idx = _degree_rows(rule, k, sg, self_index(sg, post), n_post, K, xp)
                tgt = post.gids(idx.ravel(), xp)
                keep = (tgt >= t_lo) & (tgt < t_hi)
                rows = xp.repeat(sg, K)[keep]
                cols = xp.tile(xp.arange(K, dtype=xp.int64), sg.shape[0])[keep]
                yield rows, tgt[keep], keys_of(rows, cols)
    elif name == "fixed_total_number":
        # blocks of target indices; t_lo .. t_hi-1 is one run of consecutive indices
        offsets = total_number_blocks(k, rule.value, n_post)
        v_lo = int(post.index(np.array([t_lo], dtype=np.int64))[0])
        v_hi = v_lo + (t_hi - t_lo)
        for b in range(v_lo // TOTAL_NUMBER_BLOCK, -(-v_hi // TOTAL_NUMBER_BLOCK)):
            block_first = b * TOTAL_NUMBER_BLOCK
            size = min(TOTAL_NUMBER_BLOCK, n_post - block_first)
            for a in range(int(offsets[b]), int(offsets[b + 1]), CHUNK):
                yield _total_number_chunk(k, a, min(int(offsets[b + 1]), a + CHUNK), pre, post, block_first,
                                          size, v_lo, v_hi, same_pop, xp, want_keys)


def _total_number_chunk(k, a, b, pre, post, block_first, size, v_lo, v_hi, same_pop, xp, want_keys):
    """fixed_total_number's connections ``a .. b-1``, all in the block of ``size`` target indices from
    ``block_first``, whose target index is in ``v_lo .. v_hi-1``: connection ``i``'s target is index
    ``block_first + rng.integers(k, i, size, 0)`` of ``post``, its source index ``rng.integers(k, i,
    n_pre, 1)`` of ``pre``, redrawn with counters 2, 3, ... while it is the target itself."""
    if xp is np and pre.contiguous and post.contiguous:  # one compiled pass, the same draws as below
        src, tgt, i = total_number_chunk(np.uint64(k), a, b, pre.first, pre.n, post.first + block_first, size,
                                         post.first + v_lo, post.first + v_hi, same_pop)
        return src, tgt, i if want_keys else None
    i = xp.arange(a, b, dtype=xp.uint64)
    tv = block_first + rng.integers(k, i, size, 0, xp)
    keep = (tv >= v_lo) & (tv < v_hi)
    i, tgt = i[keep], post.gids(tv[keep].astype(xp.int64), xp)
    src = pre.gids(rng.integers(k, i, pre.n, 1, xp).astype(xp.int64), xp)
    if same_pop:
        bad = xp.nonzero(src == tgt)[0]
        c = 2
        while bad.size:
            src[bad] = pre.gids(rng.integers(k, i[bad], pre.n, c, xp).astype(xp.int64), xp)
            bad = bad[src[bad] == tgt[bad]]
            c += 1
    return src.astype(xp.int64, copy=False), tgt.astype(xp.int64, copy=False), i if want_keys else None


def draw(rule: Rule, k: int, pre: NodeIndex, post: NodeIndex, t_lo: int, t_hi: int, xp=np,
         want_keys: bool = True):
    """All the chunks of :func:`draw_chunks` joined: ``(source_gid, target_gid, key)`` arrays."""
    chunks = list(draw_chunks(rule, k, pre, post, t_lo, t_hi, xp, want_keys))
    if not chunks:
        empty = xp.zeros(0, dtype=xp.int64)
        return empty, empty.copy(), xp.zeros(0, dtype=xp.uint64) if want_keys else None

    def cat(parts, dtype):
        return (parts[0] if len(parts) == 1 else xp.concatenate(parts)).astype(dtype, copy=False)

    return (cat([c[0] for c in chunks], xp.int64), cat([c[1] for c in chunks], xp.int64),
            cat([c[2] for c in chunks], xp.uint64) if want_keys else None)
