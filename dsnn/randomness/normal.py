"""Standard normal numbers from the counter-based generator: the ziggurat method.

Marsaglia & Tsang's ziggurat ("The ziggurat method for generating random
variables", J. Stat. Softw. 5(8), 2000) with 256 layers and 64-bit words,
laid out as NumPy's ``Generator.standard_normal`` lays it out: the low 8
bits of a word pick a layer, the next bit the sign, 52 bits the abscissa;
98.8 % of draws end after one word and a multiplication (~4 ns here, where
Box-Muller through NumPy's ``log1p``/``cos`` cost ~40 ns per number). The
wedges and the tail take more words.

Draw ``j`` for identity ``id`` is ``rng.bits(k, id, first + j)``: a number
depends only on the key, its identity and the counter it starts at, never
on how many are drawn at once. The tables are computed once in decimal
arithmetic (40 digits) and rounded to float64, so they are the same bits on
every machine; the fast path is exact IEEE arithmetic (the same on a GPU),
only the rare wedge and tail tests call ``exp``/``log1p``.
"""

from __future__ import annotations

import functools
from decimal import Decimal, getcontext

import numpy as np

from ..support.jit import kernel
from .rng import GAMMA, mix1, uniform1

__all__ = ["tables", "standard_normal", "R", "LAYERS"]

#: layers of the ziggurat, and the start of its tail (for 256 layers)
LAYERS = 256
R = 3.6541528853610088
_AREA = "0.00492867323399"  # area of each layer (the base strip includes the tail)
_SCALE = 2**52  # abscissas are 52-bit integers

_G = np.uint64(GAMMA)
_ONE = np.uint64(1)


@functools.cache
def tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, w, f): per layer the integer bound of the fast path (uint64), the abscissa per unit of the
    52-bit integer (float64), and the density at the layer's edge (float64); Marsaglia & Tsang's
    ``zigset`` for 256 layers, in 40-digit decimal arithmetic."""
    getcontext().prec = 40
    dn = tn = Decimal(repr(R))
    vn = Decimal(_AREA)
    half = Decimal("0.5")
    scale = Decimal(_SCALE)
    q = vn / (-half * dn * dn).exp()
    k = [0] * LAYERS
    w = [Decimal(0)] * LAYERS
    f = [Decimal(0)] * LAYERS
    k[0] = int(dn / q * scale)
    k[1] = 0
    w[0] = q / scale
    w[LAYERS - 1] = dn / scale
    f[0] = Decimal(1)
    f[LAYERS - 1] = (-half * dn * dn).exp()
    for i in range(LAYERS - 2, 0, -1):
        dn = (-2 * (vn / dn + (-half * dn * dn).exp()).ln()).sqrt()
        k[i + 1] = int(dn / tn * scale)
        tn = dn
        f[i] = (-half * dn * dn).exp()
        w[i] = dn / scale
    return (np.array(k, dtype=np.uint64), np.array([float(x) for x in w]), np.array([float(x) for x in f]))


@kernel(inline=True)
def _uniform(h, c):
    """53-bit uniform in [0, 1) of the word ``bits`` would give for hashed id ``h`` at counter ``c``."""
    return uniform1(h + (np.uint64(c) + _ONE) * _G)


@kernel
def standard_normal(k, ids, first, kt, wt, ft, out):
    """``out[i]``: a standard normal number for identity ``ids[i]`` (int64) of stream ``k`` (uint64), from
    the words at counters ``first, first+1, ...`` (see the module); ``kt, wt, ft`` are :func:`tables`."""
    inv_r = 1.0 / R
    for i in range(ids.shape[0]):
        h = mix1(k + np.uint64(ids[i]) * _G)
        c = first
        while True:
            r = mix1(h + (np.uint64(c) + _ONE) * _G)
            c += 1
            idx = np.int64(r & np.uint64(0xFF))
            r >>= np.uint64(8)
            negative = (r & _ONE) == _ONE
            rabs = (r >> _ONE) & np.uint64(0x000FFFFFFFFFFFFF)
            x = np.float64(rabs) * wt[idx]
            if negative:
                x = -x
            if rabs < kt[idx]:
                break
            if idx == 0:  # the tail beyond R (Marsaglia's method)
                while True:
                    xx = -inv_r * np.log1p(-_uniform(h, c))
                    yy = -np.log1p(-_uniform(h, c + 1))
                    c += 2
                    if yy + yy > xx * xx:
                        break
                x = -(R + xx) if (rabs >> np.uint64(8)) & _ONE else R + xx
                break
            u = _uniform(h, c)
            c += 1
            if (ft[idx - 1] - ft[idx]) * u + ft[idx] < np.exp(-0.5 * x * x):
                break
        out[i] = x
