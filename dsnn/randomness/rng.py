"""Counter-based random numbers keyed by ``(seed, purpose, ids, counter)``.

Every random draw in dsnn is a pure function of the network seed, a *purpose*
(what the number is for: ``"conn:3"``, ``"weight:3"``, ``"poisson"``...), the
global identity of the thing drawn for (a target gid, a synapse key) and a
counter. No stream state is shared, so a partition draws exactly the numbers
that the same neuron would get on any other partitioning.

The generator is two rounds of the SplitMix64 finaliser (a bijection on 64-bit
words), written with integer array operations only, so NumPy, CuPy and numba
produce the same bits. Floating-point conversions from those bits
(:func:`uniform`, :func:`integers`) are exact IEEE operations and are also the
same everywhere.
"""

from __future__ import annotations

import numpy as np

from ..support.jit import kernel

__all__ = ["key", "mix", "mix1", "uniform1", "bits", "uniform", "integers", "purpose_code"]

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _mix_int(z: int) -> int:
    """SplitMix64 finaliser on a Python int (for keys, computed once)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * _M1) & MASK64
    z = ((z ^ (z >> 27)) * _M2) & MASK64
    return z ^ (z >> 31)


def purpose_code(purpose: str) -> int:
    """A stable 64-bit code for a purpose string (FNV-1a, then mixed)."""
    h = 0xCBF29CE484222325
    for byte in purpose.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return _mix_int(h)


def key(seed: int, purpose: str, *ids: int) -> int:
    """The 64-bit key of a stream: ``(seed, purpose, *ids)`` folded together.

    Returns a Python int in ``[0, 2**64)``.
    """
    k = _mix_int((int(seed) & MASK64) ^ purpose_code(purpose))
    for i in ids:
        k = _mix_int((k + GAMMA * (int(i) + 1)) & MASK64)
    return k


def mix(z, xp=np):
    """SplitMix64 finaliser applied elementwise to a ``uint64`` array."""
    z = z ^ (z >> xp.uint64(30))
    z = z * xp.uint64(_M1)
    z = z ^ (z >> xp.uint64(27))
    z = z * xp.uint64(_M2)
    return z ^ (z >> xp.uint64(31))


@kernel(inline=True)
def mix1(z):
    """:func:`mix` of one uint64 word, for numba kernels (CPU) that draw numbers themselves."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@kernel(inline=True)
def uniform1(z):
    """The 53-bit uniform in [0, 1) of one uint64 word, as :func:`uniform` makes it: the top 53 bits of
    :func:`mix1` of ``z``, times 2**-53 (for numba kernels)."""
    return np.float64(mix1(z) >> np.uint64(11)) * 1.1102230246251565e-16


@kernel
def _bits_kernel(k, ids, counters, out):
    """out[i] = bits(k, ids[i], counters[i or 0]) (1-D arrays; ``counters`` of length 1 broadcasts)."""
    one = counters.shape[0] == 1
    for i in range(ids.shape[0]):
        c = counters[0] if one else counters[i]
        h = mix1(k + np.uint64(ids[i]) * np.uint64(GAMMA))
        out[i] = mix1(h + (np.uint64(c) + np.uint64(1)) * np.uint64(GAMMA))


def bits(k: int, ids, counter=0, xp=np):
    """Random 64-bit words for ``ids`` (any int array) at ``counter``.

    ``bits(k, i, c) == mix(mix(k + i*GAMMA) + (c+1)*GAMMA)`` modulo 2**64.
    ``ids`` and ``counter`` broadcast against each other. With NumPy the
    words come from one compiled pass (no temporaries); the same integer
    operations as the array expression, so the same bits.
    """
    if xp is np:
        ids = np.asarray(ids)
        counter = np.asarray(counter)
        if ids.dtype.kind in "iu" and counter.dtype.kind in "iu":
            shape = np.broadcast_shapes(ids.shape, counter.shape)
            flat_ids = np.ascontiguousarray(np.broadcast_to(ids, shape)).reshape(-1)
            if counter.size == 1:  # the common case: one counter for all, not materialised
                flat_c = counter.reshape(1).astype(np.uint64)
            else:
                flat_c = np.ascontiguousarray(np.broadcast_to(counter, shape)).reshape(-1).astype(np.uint64)
            out = np.empty(flat_ids.shape[0], dtype=np.uint64)
            _bits_kernel(np.uint64(k), flat_ids.astype(np.int64, copy=False), flat_c, out)
            return out.reshape(shape)
    ids = xp.asarray(ids).astype(xp.uint64)
    counter = xp.asarray(counter).astype(xp.uint64)
    with np.errstate(over="ignore"):
        h = mix(xp.uint64(k) + ids * xp.uint64(GAMMA), xp)
        return mix(h + (counter + xp.uint64(1)) * xp.uint64(GAMMA), xp)


def uniform(k: int, ids, counter=0, xp=np):
    """Uniform float64 in ``[0, 1)`` with 53 random bits (exact conversion)."""
    return (bits(k, ids, counter, xp) >> xp.uint64(11)).astype(xp.float64) * (2.0**-53)


def integers(k: int, ids, n, counter=0, xp=np):
    """Uniform integers in ``[0, n)`` (``n`` < 2**53, scalar or array), int64.

    ``floor(u * n)`` with ``u`` a 53-bit uniform: an exact IEEE product, so the
    same on every device; the bias is below ``n / 2**53``. With NumPy, a 1-D
    array of ids, one ``n`` and one counter take one compiled pass.
    """
    if xp is np and np.ndim(n) == 0 and np.ndim(counter) == 0 and np.ndim(ids) == 1:
        ids = np.asarray(ids)
        if ids.dtype.kind in "iu":
            out = np.empty(ids.shape[0], dtype=np.int64)
            _integers_kernel(np.uint64(k), ids.astype(np.int64, copy=False), np.uint64(int(counter)),
                             float(n), out)
            return out
    u = uniform(k, ids, counter, xp)
    return xp.floor(u * xp.asarray(n, dtype=xp.float64)).astype(xp.int64)


@kernel
def _integers_kernel(k, ids, counter, n, out):
    """out[i] = floor(uniform(k, ids[i], counter) * n): the array expression of :func:`integers`, fused."""
    salt = (counter + np.uint64(1)) * np.uint64(GAMMA)
    for i in range(ids.shape[0]):
        h = mix1(k + np.uint64(ids[i]) * np.uint64(GAMMA))
        u = uniform1(h + salt)
        out[i] = np.int64(np.floor(u * n))
