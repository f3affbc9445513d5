"""``exp`` and ``pow`` inline in numba kernels, bit for bit what glibc returns on x86-64 CPUs with FMA.

NEST calls the C library's ``exp`` and ``pow``, and so do dsnn's kernels (numba lowers ``math.exp`` and
``math.pow`` to calls into libm): their results are NEST's bit for bit on the same machine. A call costs
more than the arithmetic, though: glibc's ``pow`` takes ~8 ns here at its throughput, and nothing around a
call is scheduled across it. The functions here compute the same numbers inline, following the algorithm
glibc has used since 2.28 (Szabolcs Nagy's, contributed from Arm's optimized-routines, MIT licence:
``sysdeps/ieee754/dbl-64/e_exp.c``, ``e_pow.c`` and their data files) in the build x86-64 selects on CPUs
with FMA (``__exp_fma``, ``__pow_fma``), with a fused multiply-add wherever GCC fused one there:

- ``exp(x)``: x = k ln2/128 + r, exp(x) = 2^(k/128) (1 + tail_k) exp(r), exp(r) - 1 a degree-5
  polynomial; for 2^-54 <= |x| < 512;
- ``pow(x, y)``: log x = k ln2 + log c + log1p(z/c - 1) in double-double (x = 2^k z, 1/c from a
  128-entry table), then exp of y log x as above, carrying the low part; for positive normal x,
  2^-65 <= |y| < 2^63 and 2^-54 <= |y log x| < 512.

Every other input (and a result that would need glibc's special cases) goes to libm itself. The tables are
generated here, with :mod:`decimal`, by the rules glibc's data files state (``e_pow_log_data.c``: 1/c =
round(128/center)/128, or round(256/center)/256 for centres above 1, of each subinterval of
[0x1.69555p-1, 0x1.69555p0]; log c rounded to 2^-43 plus its tail; ``e_exp_data.c``: 2^(k/128) as a
double and its relative tail); the polynomial coefficients and the splits of ln 2 are glibc's constants.

Whether they agree with the platform's own functions is checked once per process (:func:`exact_here`):
another C library or a CPU without FMA would round some results differently, and the kernels then call
libm (they take the answer as a flag).

:func:`cuda_source` is the same in CUDA C, for the GPU kernels (whose own ``exp`` and ``pow`` differ from
glibc's in the last bit): ``exp`` there also takes glibc's other branches (results that overflow or come
near underflow, tiny and infinite arguments), so it is glibc's for every argument; ``pow`` outside its
main range is CUDA's.
"""

from __future__ import annotations

import functools
import math
import struct
from decimal import Decimal, localcontext

import numpy as np

from .jit import Intrinsic, kernel

__all__ = ["exp", "pow", "exact_here", "cuda_source"]

_N = 128  # table entries of both functions (glibc's EXP_TABLE_BITS = POW_LOG_TABLE_BITS = 7)


def _as_double(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits % 2**64))[0]


def _as_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


# --------------------------------------------------------------------------- tables

#: the first bit pattern of the log table's range of z, [0x1.69555p-1, 0x1.69555p0) (glibc's OFF)
_LOG_OFF = 0x3FE6955500000000


def _log_table():
    """(128, 3) float64: per subinterval of z, 1/c, log c rounded to a multiple of 2^-43 (so that
    k ln2hi + log c is exact) and the rest of log c."""
    table = np.empty((_N, 3))
    with localcontext() as ctx:
        ctx.prec = 60
        for i in range(_N):
            lo, hi = Decimal(_as_double(_LOG_OFF + (i << 45))), Decimal(_as_double(_LOG_OFF + ((i + 1) << 45)))
            center = (lo + hi) / 2
            # 1/c with few bits, so that z/c - 1 is exact; centres above 1 get one more bit
            inv_c = Decimal(round(_N / center)) / _N if center < 1 else Decimal(round(2 * _N / center)) / (2 * _N)
            log_c = -inv_c.ln()
            log_c_hi = Decimal(round(log_c * 2**43)) / 2**43
            table[i] = float(inv_c), float(log_c_hi), float(log_c - log_c_hi)
    return table


def _exp_table():
    """(128,) float64 and uint64: per k, the relative tail of 2^(k/128) beyond its double H_k, and H_k's
    bits less k << 45 (adding the exponent's bits k << 45 of the reduced argument gives the scale)."""
    tail, bits = np.empty(_N), np.empty(_N, dtype=np.uint64)
    with localcontext() as ctx:
        ctx.prec = 60
        for k in range(_N):
            exact = Decimal(2) ** (Decimal(k) / _N)
            h = float(exact)
            tail[k] = float((exact - Decimal(h)) / Decimal(h))
            bits[k] = (_as_bits(h) - (k << 45)) % 2**64
    return tail, bits


_LOG = _log_table()
_INV_C, _LOG_C, _LOG_C_TAIL = (np.ascontiguousarray(_LOG[:, c]) for c in range(3))
_EXP_TAIL, _EXP_BITS = _exp_table()

# --------------------------------------------------------------------------- glibc's constants

_h = float.fromhex
#: ln 2 in two parts, the first with its last bits zero (``__pow_log_data``)
_LN2_HI, _LN2_LO = _h("0x1.62e42fefa3800p-1"), _h("0x1.ef35793c76730p-45")
#: log1p(r) - r = r^2 (A0 + r A1 + ... + r^5 A6), A0 = -1/2 (``__pow_log_data.poly``)
_A0, _A1, _A2 = -0.5, _h("-0x1.555555555556p-1"), _h("0x1.0000000000006p-1")
_A3, _A4 = _h("0x1.999999959554ep-1"), _h("-0x1.555555529a47ap-1")
_A5, _A6 = _h("-0x1.2495b9b4845e9p+0"), _h("0x1.0002b8b263fc3p+0")
#: 128/ln 2, the round-to-integer shift 1.5 * 2^52, and -ln2/128 in two parts (``__exp_data``)
_INV_LN2_N, _SHIFT = _h("0x1.71547652b82fep+7"), _h("0x1.8p52")
_NEG_LN2_HI_N, _NEG_LN2_LO_N = _h("-0x1.62e42fefa0000p-8"), _h("-0x1.cf79abc9e3b3ap-47")
#: exp(r) - 1 - r = r^2 (C2 + r C3 + r^2 C4 + r^3 C5) (``__exp_data.poly``)
_C2, _C3 = _h("0x1.ffffffffffdbdp-2"), _h("0x1.555555555543cp-3")
_C4, _C5 = _h("0x1.55555cf172b91p-5"), _h("0x1.1111167a4d017p-7")
del _h

_U = np.uint64
_TOP_TINY, _TOP_BIG = _U(0x3C9), _U(0x408 - 0x3C9)  # exponent fields of 2^-54 and of 512 less it
_Y_TINY, _Y_BIG = _U(0x3BE), _U(0x43E - 0x3BE)  # of 2^-65 and 2^63 less it
_MANTISSA_BITS, _TABLE_SHIFT, _INDEX = _U(52), _U(45), _U(_N - 1)
_EXPONENT_FIELD, _TOP_FIELD = _U(0x7FF), _U(0xFFF) << _U(52)


# --------------------------------------------------------------------------- intrinsics

def _fma_intrinsic(numba):
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def fma(typingctx, a, b, c):
        """a b + c rounded once (``llvm.fma``: the FMA instruction where the CPU has one)."""

        def codegen(context, builder, signature, args):
            d = ir.DoubleType()
            fn = builder.module.declare_intrinsic("llvm.fma", [d], fnty=ir.FunctionType(d, [d, d, d]))
            return builder.call(fn, args)

        return types.float64(types.float64, types.float64, types.float64), codegen

    return fma


def _bits_intrinsic(numba):
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def bits(typingctx, x):
        """The uint64 bit pattern of float64 ``x``."""

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.IntType(64))

        return types.uint64(types.float64), codegen

    return bits


def _double_intrinsic(numba):
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def double(typingctx, u):
        """The float64 whose bit pattern is uint64 ``u``."""

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.DoubleType())

        return types.float64(types.uint64), codegen

    return double


_fma = Intrinsic(_fma_intrinsic)
_bits = Intrinsic(_bits_intrinsic)
_double = Intrinsic(_double_intrinsic)


# --------------------------------------------------------------------------- the functions

@kernel(inline=True)
def _exp_scaled(x, x_tail):
    """exp(x + x_tail) as glibc's exp (x_tail = 0) and the end of its pow compute it, for exponent fields
    of x in [2^-54, 512): 2^(k/128) (1 + tail_k) exp(r) with r = x - k ln2/128 + x_tail."""
    kd = _fma(x, _INV_LN2_N, _SHIFT)
    ki = _bits(kd)
    kd = kd - _SHIFT
    r = _fma(kd, _NEG_LN2_LO_N, _fma(kd, _NEG_LN2_HI_N, x)) + x_tail
    idx = np.int64(ki & _INDEX)
    scale = _double(_EXP_BITS[idx] + (ki << _TABLE_SHIFT))
    r2 = r * r
    p = _fma(r2 * r2, _fma(r, _C5, _C4), _fma(r2, _fma(r, _C3, _C2), _EXP_TAIL[idx] + r))
    return _fma(p, scale, scale)


@kernel(inline=True)
def exp(x, inline):
    """``math.exp(x)``, computed inline where ``inline`` (which :func:`exact_here` must have allowed) and
    x is in glibc's main range, else by libm."""
    if not inline or ((_bits(x) >> _MANTISSA_BITS) & _EXPONENT_FIELD) - _TOP_TINY >= _TOP_BIG:
        return math.exp(x)
    return _exp_scaled(x, 0.0)


@kernel(inline=True)
def pow(x, y, inline):
    """``math.pow(x, y)``, computed inline where ``inline`` (which :func:`exact_here` must have allowed)
    and the arguments are in glibc's main range (see the module docstring), else by libm."""
    ix = _bits(x)
    if not inline or (ix >> _MANTISSA_BITS) - _U(1) >= _U(0x7FE) \
            or ((_bits(y) >> _MANTISSA_BITS) & _EXPONENT_FIELD) - _Y_TINY >= _Y_BIG:
        return math.pow(x, y)
    # log x = k ln2 + log c + log1p(r), r = z/c - 1 (exact), in double-double hi + lo
    tmp = ix - _U(_LOG_OFF)
    i = np.int64((tmp >> _TABLE_SHIFT) & _INDEX)
    kd = np.float64(np.int64(tmp) >> np.int64(52))
    z = _double(ix - (tmp & _TOP_FIELD))
    r = _fma(z, _INV_C[i], -1.0)
    t1 = _fma(kd, _LN2_HI, _LOG_C[i])
    t2 = t1 + r
    lo1 = _fma(kd, _LN2_LO, _LOG_C_TAIL[i])
    lo2 = t1 - t2 + r
    ar = _A0 * r
    ar2 = r * ar
    ar3 = r * ar2
    hi = t2 + ar2
    lo3 = _fma(ar, r, -ar2)
    lo4 = t2 - hi + ar2
    poly = _fma(ar2, _fma(ar2, _fma(r, _A6, _A5), _fma(r, _A4, _A3)), _fma(r, _A2, _A1))
    lo = _fma(ar3, poly, ((lo1 + lo2) + lo3) + lo4)
    log_hi = hi + lo
    log_lo = hi - log_hi + lo
    # y log x in double-double, then its exponential
    e_hi = y * log_hi
    e_lo = _fma(y, log_lo, _fma(log_hi, y, -e_hi))
    if ((_bits(e_hi) >> _MANTISSA_BITS) & _EXPONENT_FIELD) - _TOP_TINY >= _TOP_BIG:
        return math.pow(x, y)
    return _exp_scaled(e_hi, e_lo)


# --------------------------------------------------------------------------- the check

@kernel
def _mismatches(xs, ys, inline):
    """How many of exp(xs) and pow(xs, ys) (all pairs) differ from libm's; (0, 0) unless ``inline``."""
    bad_exp = 0
    bad_pow = 0
    for i in range(xs.shape[0]):
        e = math.log(xs[i])
        bad_exp += np.int64(exp(e, inline) != math.exp(e))
        bad_exp += np.int64(exp(-e / 64.0, inline) != math.exp(-e / 64.0))
        for j in range(ys.shape[0]):
            bad_pow += np.int64(pow(xs[i], ys[j], inline) != math.pow(xs[i], ys[j]))
    return bad_exp, bad_pow


#: the exponents :func:`exact_here` tries (besides random ones): the STDP rules' usual mu (0.4, 1)
CHECKED_EXPONENTS = (0.4, 1.0, 0.5, 2.0, -0.7, 1.7, 3.3, 0.05)


@functools.lru_cache(maxsize=None)
def exact_here(samples: int = 200_000) -> bool:
    """True where the inline functions equal this platform's ``exp`` and ``pow`` (they must run on a CPU
    with FMA, and give the same results on ``samples`` arguments spread over many magnitudes); computed
    once per process. False means: call libm."""
    try:
        from llvmlite import binding

        if "fma" not in binding.get_host_cpu_features():
            return False
    except Exception:  # pragma: no cover - llvmlite always has it
        return False
    rng = np.random.default_rng(20181026)  # glibc 2.28's release date
    xs = np.concatenate([np.exp(rng.uniform(-690.0, 690.0, samples)), rng.uniform(0.0, 100.0, samples),
                         [1.0, 2.0, 0.5, math.nextafter(1.0, 2.0), math.nextafter(1.0, 0.0), 5e-324, 1e308]])
    ys = np.concatenate([CHECKED_EXPONENTS, rng.uniform(-4.0, 4.0, 8)])
    bad_exp, bad_pow = _mismatches(xs[:samples // 8], ys, True)
    bad_exp2, _ = _mismatches(xs, ys[:0], True)
    return bad_exp + bad_exp2 + bad_pow == 0


# --------------------------------------------------------------------------- the same in CUDA C

def _c_array(kind: str, name: str, values) -> str:
    items = ", ".join(f"{int(v)}ULL" if kind == "u64" else repr(float(v)) for v in values)
    return f"__constant__ {kind} {name}[{_N}] = {{{items}}};"


def cuda_source() -> str:
    """``glibc_exp(x)`` and ``glibc_pow(x, y)`` as CUDA device functions (needs the typedef ``u64``): the
    algorithm of :func:`exp` and :func:`pow`, the same tables and constants (decimal literals that
    round-trip: ``repr``), ``fma`` where they fuse, and glibc's special cases of ``exp`` (tiny and huge
    arguments; results beyond 2^+-738, computed from a rescaled 2^k as glibc's ``specialcase`` does).
    Compile it without contraction (``--fmad=false``)."""
    constants = {"LN2_HI": _LN2_HI, "LN2_LO": _LN2_LO, "A0": _A0, "A1": _A1, "A2": _A2, "A3": _A3, "A4": _A4,
                 "A5": _A5, "A6": _A6, "INV_LN2_N": _INV_LN2_N, "SHIFT": _SHIFT, "NEG_LN2_HI_N": _NEG_LN2_HI_N,
                 "NEG_LN2_LO_N": _NEG_LN2_LO_N, "C2": _C2, "C3": _C3, "C4": _C4, "C5": _C5,
                 "TWO_1009": 2.0**1009, "TWO_M1022": 2.0**-1022}
    defines = "\n".join(f"#define GLIBC_{name} ({value!r})" for name, value in constants.items())
    tables = "\n".join([_c_array("double", "GLIBC_INV_C", _INV_C), _c_array("double", "GLIBC_LOG_C", _LOG_C),
                        _c_array("double", "GLIBC_LOG_C_TAIL", _LOG_C_TAIL),
                        _c_array("double", "GLIBC_EXP_TAIL", _EXP_TAIL), _c_array("u64", "GLIBC_EXP_BITS", _EXP_BITS)])
    return defines + "\n" + tables + "\n" + _CUDA_FUNCTIONS.replace("LOG_OFF", f"{_LOG_OFF}ULL")


_CUDA_FUNCTIONS = r"""
__device__ __forceinline__ u64 glibc_bits(double x) { return (u64)__double_as_longlong(x); }
__device__ __forceinline__ double glibc_double(u64 u) { return __longlong_as_double((long long)u); }

/* exp(x + x_tail), x = k ln2/128 + r: 2^(k/128) (1 + tail_k) exp(r); `special` where the exponent field of
   x is outside [2^-54, 512): 2^k then rescaled as glibc's specialcase() does. */
__device__ __forceinline__ double glibc_exp_tail(const double x, const double x_tail, const bool special)
{
    double kd = fma(x, GLIBC_INV_LN2_N, GLIBC_SHIFT);
    const u64 ki = glibc_bits(kd);
    kd = kd - GLIBC_SHIFT;
    const double r = fma(kd, GLIBC_NEG_LN2_LO_N, fma(kd, GLIBC_NEG_LN2_HI_N, x)) + x_tail;
    const int idx = (int)(ki & 127ULL);
    const u64 sbits = GLIBC_EXP_BITS[idx] + (ki << 45);
    const double r2 = r * r;
    const double p = fma(r2 * r2, fma(r, GLIBC_C5, GLIBC_C4),
                         fma(r2, fma(r, GLIBC_C3, GLIBC_C2), GLIBC_EXP_TAIL[idx] + r));
    if (!special) {
        const double scale = glibc_double(sbits);
        return fma(p, scale, scale);
    }
    if ((ki & 0x80000000ULL) == 0) {  /* k > 0: the scale's exponent may have overflowed */
        const double scale = glibc_double(sbits - (1009ULL << 52));
        return GLIBC_TWO_1009 * fma(scale, p, scale);
    }
    const double scale = glibc_double(sbits + (1022ULL << 52));  /* k < 0: round before going subnormal */
    double y = scale + scale * p;
    if (y < 1.0) {
        double lo = scale - y + scale * p;
        const double hi = 1.0 + y;
        lo = 1.0 - hi + y + lo;
        y = (hi + lo) - 1.0;
        if (y == 0.0) y = 0.0;
    }
    return GLIBC_TWO_M1022 * y;
}

/* glibc's exp(x), every argument */
__device__ double glibc_exp(const double x)
{
    const unsigned top = (unsigned)(glibc_bits(x) >> 52) & 0x7ffu;
    if (top - 0x3c9u >= 0x3fu) {
        if (top < 0x3c9u) return 1.0 + x;  /* |x| < 2^-54 */
        if (top >= 0x409u) {  /* |x| >= 1024, infinite or NaN */
            if (glibc_bits(x) == 0xfff0000000000000ULL) return 0.0;
            if (top >= 0x7ffu) return 1.0 + x;
            return x < 0.0 ? 0.0 : glibc_double(0x7ff0000000000000ULL);
        }
        return glibc_exp_tail(x, 0.0, true);
    }
    return glibc_exp_tail(x, 0.0, false);
}

/* glibc's pow(x, y) for positive normal x, 2^-65 <= |y| < 2^63 and 2^-54 <= |y log x| < 512; CUDA's else */
__device__ double glibc_pow(const double x, const double y)
{
    const u64 ix = glibc_bits(x);
    const unsigned topy = (unsigned)(glibc_bits(y) >> 52) & 0x7ffu;
    if ((ix >> 52) - 1ULL >= 0x7feULL || topy - 0x3beu >= 0x80u) return pow(x, y);
    const u64 tmp = ix - LOG_OFF;
    const int i = (int)((tmp >> 45) & 127ULL);
    const double kd = (double)((long long)tmp >> 52);
    const double z = glibc_double(ix - (tmp & (0xfffULL << 52)));
    const double r = fma(z, GLIBC_INV_C[i], -1.0);
    const double t1 = fma(kd, GLIBC_LN2_HI, GLIBC_LOG_C[i]);
    const double t2 = t1 + r;
    const double lo1 = fma(kd, GLIBC_LN2_LO, GLIBC_LOG_C_TAIL[i]);
    const double lo2 = t1 - t2 + r;
    const double ar = GLIBC_A0 * r;
    const double ar2 = r * ar;
    const double ar3 = r * ar2;
    const double hi = t2 + ar2;
    const double lo3 = fma(ar, r, -ar2);
    const double lo4 = t2 - hi + ar2;
    const double poly = fma(ar2, fma(ar2, fma(r, GLIBC_A6, GLIBC_A5), fma(r, GLIBC_A4, GLIBC_A3)),
                            fma(r, GLIBC_A2, GLIBC_A1));
    const double lo = fma(ar3, poly, ((lo1 + lo2) + lo3) + lo4);
    const double log_hi = hi + lo;
    const double log_lo = hi - log_hi + lo;
    const double e_hi = y * log_hi;
    const double e_lo = fma(y, log_lo, fma(log_hi, y, -e_hi));
    const unsigned top = (unsigned)(glibc_bits(e_hi) >> 52) & 0x7ffu;
    if (top - 0x3c9u >= 0x3fu) return pow(x, y);
    return glibc_exp_tail(e_hi, e_lo, false);
}
"""
