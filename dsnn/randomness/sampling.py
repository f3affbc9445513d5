"""Draw values of a parameter (float or Distribution) from the counter-based RNG."""

from __future__ import annotations

import numpy as np

from ..description.distributions import Distribution
from . import rng
from .normal import standard_normal, tables

__all__ = ["sample"]

MAX_REDRAW_ROUNDS = 100_000


#: a redraw round's normal numbers start at counter ``round << NORMAL_ROUND_BITS`` (the ziggurat takes
#: one word per number almost always, more in its wedges and tail)
NORMAL_ROUND_BITS = 20


def _draw(dist: Distribution, k: int, ids, round_: int, xp):
    if dist.kind in ("normal", "lognormal"):
        z = _standard_normal(k, ids, round_ << NORMAL_ROUND_BITS, xp)
        x = dist.p("mean") + dist.p("std") * z
        return xp.exp(x) if dist.kind == "lognormal" else x
    u1 = rng.uniform(k, ids, 2 * round_, xp)
    if dist.kind == "uniform":
        lo, hi = dist.p("min"), dist.p("max")
        return lo + (hi - lo) * u1
    return -dist.p("beta") * xp.log1p(-u1)  # exponential


def _standard_normal(k: int, ids, first: int, xp):
    """Standard normal numbers by the ziggurat (:mod:`.normal`), one per id, from counter ``first`` on."""
    if xp is not np:
        raise NotImplementedError("normal numbers are drawn on the host (NumPy)")
    z = np.empty(ids.shape[0], dtype=np.float64)
    standard_normal(np.uint64(k), ids.astype(np.int64, copy=False), first, *tables(), z)
    return z


#: ids sampled at a time: temporaries of a few MB are reused from the heap, where arrays of hundreds of
#: MB would each be fresh pages (a full-scale microcircuit spent a minute in page faults)
CHUNK = 1 << 20


def sample(value, k: int, ids, xp=np):
    """Values of ``value`` for each of ``ids`` (uint64 identities), float64.

    A float gives a constant array; a Distribution draws from stream ``k``
    keyed by each id, so a value depends only on the seed and its identity
    (not on how many are drawn at once).
    """
    ids = xp.asarray(ids)
    if not isinstance(value, Distribution):
        return xp.full(ids.shape, float(value), dtype=xp.float64)
    shape = ids.shape
    ids = ids.ravel()
    if ids.shape[0] <= CHUNK:
        return _sample(value, k, ids, xp).reshape(shape)
    out = xp.empty(ids.shape[0], dtype=xp.float64)
    for a in range(0, ids.shape[0], CHUNK):
        out[a:a + CHUNK] = _sample(value, k, ids[a:a + CHUNK], xp)
    return out.reshape(shape)


def _sample(value: Distribution, k: int, ids, xp):
    """``sample`` of a 1-D array of ids."""
    out = _draw(value, k, ids, 0, xp)
    if value.bound == "clip":
        return xp.clip(out, value.low, value.high)
    if value.bound == "redraw":
        bad = xp.nonzero((out < value.low) | (out > value.high))[0]
        round_ = 1
        while bad.size:
            new = _draw(value, k, ids[bad], round_, xp)
            out[bad] = new
            bad = bad[(new < value.low) | (new > value.high)]
            round_ += 1
            if round_ > MAX_REDRAW_ROUNDS:
                raise RuntimeError(f"redrawing {value!r} did not end after {MAX_REDRAW_ROUNDS} rounds")
    return out
