"""Draw the synapses of one projection onto a range of target gids.

Target-side: a partition calls :func:`draw` for the targets it owns. Each
rule's draws are keyed so that the synapses of a target depend only on the
seed, the projection and global ids, never on which partition asks:

- ``fixed_indegree``, ``pairwise_bernoulli``, ``all_to_all``, ``one_to_one``:
  streams keyed by the target gid;
- ``fixed_outdegree``: streams keyed by the source gid (every partition draws
  each source's targets and keeps its own);
- ``fixed_total_number``: connection ``i`` of N draws its target and source
  from stream ``i`` (every partition scans all N and keeps its own).

Each synapse gets a 64-bit key, unique within its projection, from which its
weight, delay and (for Poisson input) its spike train are drawn.
"""

from __future__ import annotations

import numpy as np

from ..description.rules import Rule
from ..randomness import rng
from .rows import indegree_sources, total_number_chunk

__all__ = ["draw", "draw_chunks", "CHUNK"]

#: how many candidate (source, target) pairs are handled at once
CHUNK = 1 << 18


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


def draw_chunks(rule: Rule, k: int, pre_first: int, n_pre: int, post_first: int, n_post: int,
                t_lo: int, t_hi: int, xp=np, want_keys: bool = True):
    """Synapses of a projection onto target gids ``t_lo .. t_hi-1``, a chunk at a time.

    ``pre_first``/``n_pre`` and ``post_first``/``n_post`` give the source
    and target gid ranges. Yields ``(source_gid, target_gid, key)`` arrays
    (int64, int64, uint64), one entry per synapse, each chunk of about
    :data:`CHUNK` candidates; ``key`` is None unless ``want_keys``. The
    chunks come in the same order on every call, so a caller may draw twice
    (count, then fill) instead of holding the synapses.
    """
    same_pop = not rule.allow_autapses

    def self_index(gids, first, n):
        inside = same_pop & (gids >= first) & (gids < first + n)
        return xp.where(inside, gids - first, -1)

    def keys_of(rows, cols):
        return (rows.astype(xp.uint64) << xp.uint64(32)) | cols.astype(xp.uint64) if want_keys else None

    name = rule.name
    if t_hi <= t_lo:
        return
    if name == "one_to_one":
        tg = xp.arange(t_lo, t_hi, dtype=xp.int64)
        sg = pre_first + (tg - post_first)
        keep = ~((sg == tg) & same_pop)
        yield sg[keep], tg[keep], keys_of(tg[keep], xp.zeros(int(keep.sum()), dtype=xp.int64))
    elif name == "fixed_indegree" and rule.value > 0:
        K = rule.value
        per_chunk = max(1, CHUNK // K)
        for a in range(t_lo, t_hi, per_chunk):
            tg = xp.arange(a, min(t_hi, a + per_chunk), dtype=xp.int64)
            me = self_index(tg, pre_first, n_pre)
            if xp is np and rule.allow_multapses:
                src = indegree_sources(np.uint64(k), tg, K, n_pre, me)  # fused kernel, same bits
            else:
                src = _degree_rows(rule, k, tg, me, n_pre, K, xp).ravel()
            cols = xp.tile(xp.arange(K, dtype=xp.int64), tg.shape[0]) if want_keys else None
            tgt = xp.repeat(tg, K)
            yield src + pre_first, tgt, keys_of(tgt, cols) if want_keys else None
    elif name in ("all_to_all", "pairwise_bernoulli"):
        per_chunk = max(1, CHUNK // n_pre)
        cand = xp.arange(n_pre, dtype=xp.int64)
        for a in range(t_lo, t_hi, per_chunk):
            tg = xp.arange(a, min(t_hi, a + per_chunk), dtype=xp.int64)
            mask = xp.ones((tg.shape[0], n_pre), dtype=bool)
            if name == "pairwise_bernoulli":
                threshold = xp.uint64(int(rule.value * 2.0**53))
                mask = (rng.bits(k, tg[:, None], cand[None, :], xp) >> xp.uint64(11)) < threshold
            if same_pop:
                mask &= (pre_first + cand[None, :]) != tg[:, None]
            r, cols = xp.nonzero(mask)
            rows = tg[r]
            yield pre_first + cols, rows, keys_of(rows, cols)
    elif name == "fixed_outdegree" and rule.value > 0:
        K = rule.value
        per_chunk = max(1, CHUNK // K)
        for a in range(pre_first, pre_first + n_pre, per_chunk):
            sg = xp.arange(a, min(pre_first + n_pre, a + per_chunk), dtype=xp.int64)
            idx = _degree_rows(rule, k, sg, self_index(sg, post_first, n_post), n_post, K, xp)
            tgt = post_first + idx.ravel()
            keep = (tgt >= t_lo) & (tgt < t_hi)
            rows = xp.repeat(sg, K)[keep]
            cols = xp.tile(xp.arange(K, dtype=xp.int64), sg.shape[0])[keep]
            yield rows, tgt[keep], keys_of(rows, cols)
    elif name == "fixed_total_number" and xp is np:
        for a in range(0, rule.value, CHUNK):  # one compiled pass, the same draws as below
            src, tgt, i = total_number_chunk(np.uint64(k), a, min(rule.value, a + CHUNK), pre_first, n_pre,
                                             post_first, n_post, t_lo, t_hi, same_pop)
            yield src, tgt, i if want_keys else None
    elif name == "fixed_total_number":
        N = rule.value
        for a in range(0, N, CHUNK):
            i = xp.arange(a, min(N, a + CHUNK), dtype=xp.uint64)
            tgt = post_first + rng.integers(k, i, n_post, 0, xp)
            keep = (tgt >= t_lo) & (tgt < t_hi)
            i, tgt = i[keep], tgt[keep]
            src = pre_first + rng.integers(k, i, n_pre, 1, xp)
            if same_pop:
                bad = xp.nonzero(src == tgt)[0]
                c = 2
                while bad.size:
                    src[bad] = pre_first + rng.integers(k, i[bad], n_pre, c, xp)
                    bad = bad[src[bad] == tgt[bad]]
                    c += 1
            yield src.astype(xp.int64, copy=False), tgt.astype(xp.int64, copy=False), i if want_keys else None


def draw(rule: Rule, k: int, pre_first: int, n_pre: int, post_first: int, n_post: int,
         t_lo: int, t_hi: int, xp=np, want_keys: bool = True):
    """All the chunks of :func:`draw_chunks` joined: ``(source_gid, target_gid, key)`` arrays."""
    chunks = list(draw_chunks(rule, k, pre_first, n_pre, post_first, n_post, t_lo, t_hi, xp, want_keys))
    if not chunks:
        empty = xp.zeros(0, dtype=xp.int64)
        return empty, empty.copy(), xp.zeros(0, dtype=xp.uint64) if want_keys else None

    def cat(parts, dtype):
        return (parts[0] if len(parts) == 1 else xp.concatenate(parts)).astype(dtype, copy=False)

    return (cat([c[0] for c in chunks], xp.int64), cat([c[1] for c in chunks], xp.int64),
            cat([c[2] for c in chunks], xp.uint64) if want_keys else None)
