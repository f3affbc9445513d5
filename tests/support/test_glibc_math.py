"""The inline exp and pow (dsnn.support.glibc_math) against this platform's own libm, which NEST calls:
equal bit for bit wherever the platform passes the check, libm's values everywhere else."""

import math

import numpy as np
import pytest

from dsnn.support import glibc_math
from dsnn.support.glibc_math import exp as libm_exp
from dsnn.support.glibc_math import pow as libm_pow
from dsnn.support.jit import kernel

exact = pytest.mark.skipif(not glibc_math.exact_here(), reason="this platform's libm is not glibc's with FMA")


@kernel
def _pow_both(xs, ys, inline, out, ref):
    for i in range(xs.shape[0]):
        out[i] = libm_pow(xs[i], ys[i], inline)
        ref[i] = math.pow(xs[i], ys[i])


@kernel
def _exp_both(xs, inline, out, ref):
    for i in range(xs.shape[0]):
        out[i] = libm_exp(xs[i], inline)
        ref[i] = math.exp(xs[i])


def _same_bits(a, b):
    """Equal bit for bit (NaNs included)."""
    return np.array_equal(a.view(np.uint64), b.view(np.uint64))


# x spread over every binade, over the weights of synapses (pA), and near 1, where log x cancels
_SPREADS = [(1e-300, 1e300), (1.0, 100.0), (0.999, 1.001), (1e-8, 1e-2)]


@exact
@pytest.mark.parametrize("lo,hi", _SPREADS)
def test_pow_equals_libm(lo, hi):
    rng = np.random.default_rng(int(lo * 1e6) % 1000 + 7)
    n = 1_000_000
    xs = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    # exponents of the STDP rules, small and large ones, negative ones, integers (which pow treats alike)
    ys = rng.choice([0.4, 1.0, 0.5, 2.0, 3.0, -1.0, -0.7, 1e-3, 1e-17, 7.3, 50.0, -12.5], n)
    ys[: n // 4] = rng.uniform(-3.0, 3.0, n // 4)
    out, ref = np.empty(n), np.empty(n)
    _pow_both(xs, ys, True, out, ref)
    assert _same_bits(out, ref)


@exact
@pytest.mark.parametrize("lo,hi", [(-745.0, 710.0), (-1.0, 1.0), (-1e-6, 1e-6), (-30.0, 0.0)])
def test_exp_equals_libm(lo, hi):
    rng = np.random.default_rng(int(hi) + 11)
    xs = rng.uniform(lo, hi, 1_000_000)
    out, ref = np.empty_like(xs), np.empty_like(xs)
    _exp_both(xs, True, out, ref)
    assert _same_bits(out, ref)


@exact
def test_the_edges_are_libms():
    """Outside the main range (zero, negative, subnormal, infinite and NaN arguments, results that overflow
    or underflow, exponents too small or too large) the values are libm's."""
    special = [0.0, -0.0, -1.0, -2.5, 5e-324, 2.2e-308, 1.0, np.inf, -np.inf, np.nan, 1e308, 1e-300, 2.0, 0.5]
    powers = [0.0, -0.0, 1.0, -1.0, 0.4, 2.0, 3.0, 1e-20, 1e20, 1e300, -1e300, np.inf, -np.inf, np.nan, 1024.0,
              -1075.0, 0.5]
    xs, ys = (np.array(v, dtype=np.float64) for v in zip(*[(x, y) for x in special for y in powers]))
    out, ref = np.empty_like(xs), np.empty_like(xs)
    _pow_both(xs, ys, True, out, ref)
    assert _same_bits(out, ref)
    es = np.array([0.0, -0.0, 1e-300, -1e-300, 709.7, 709.8, -708.0, -745.1, -746.0, 1000.0, np.inf, -np.inf,
                   np.nan, 511.9, 512.0, -512.0, 2.0**-54, 2.0**-55])
    out, ref = np.empty_like(es), np.empty_like(es)
    _exp_both(es, True, out, ref)
    assert _same_bits(out, ref)


def test_without_the_check_libm_is_called():
    """With the flag off the functions are libm's (what the kernels do where :func:`exact_here` is False)."""
    xs = np.array([3.7, 0.2, 1e-5])
    out, ref = np.empty(3), np.empty(3)
    _pow_both(xs, np.array([0.4, 1.7, -2.0]), False, out, ref)
    assert _same_bits(out, ref)
    _exp_both(-xs, False, out, ref)
    assert _same_bits(out, ref)


def test_a_cpu_without_fma_gets_libm(monkeypatch):
    """Without FMA the inline code would round differently from glibc's (and call a slow software fma)."""
    from llvmlite import binding

    monkeypatch.setattr(binding, "get_host_cpu_features", lambda: {"avx": True})
    assert glibc_math.exact_here.__wrapped__(1000) is False


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18, reason="needs an extended-precision long double")
def test_the_tables_follow_their_rules():
    """1/c has at most 8 significant bits after the point and lies within a table step of 1/z over its
    subinterval; log c rounded to 2^-43 plus its tail is -log(1/c); 2^(k/128) (1 + tail) is 2^(k/128) (both
    to far better than a double's precision, in x87 extended precision)."""
    ld = np.longdouble
    z_lo = np.array([glibc_math._as_double(glibc_math._LOG_OFF + (i << 45)) for i in range(128)])
    z_hi = np.array([glibc_math._as_double(glibc_math._LOG_OFF + ((i + 1) << 45)) for i in range(128)])
    inv_c = glibc_math._INV_C
    assert np.all(inv_c * 256 == np.round(inv_c * 256))
    assert np.all(np.abs(z_lo * inv_c - 1.0) < 1.0 / 128) and np.all(np.abs(z_hi * inv_c - 1.0) < 1.0 / 128)
    assert np.all(glibc_math._LOG_C * 2.0**43 == np.round(glibc_math._LOG_C * 2.0**43))
    log_c = glibc_math._LOG_C.astype(ld) + glibc_math._LOG_C_TAIL.astype(ld)
    assert np.all(np.abs(log_c + np.log(inv_c.astype(ld))) < 1e-18)
    assert np.all(np.abs(glibc_math._LOG_C_TAIL) < 2.0**-43)
    scale = (glibc_math._EXP_BITS + (np.arange(128, dtype=np.uint64) << np.uint64(45))).view(np.float64)
    exact = np.exp2(np.arange(128, dtype=ld) / 128)
    assert np.all(np.abs(scale - exact) <= exact * 2.0**-53)  # the nearest double
    assert np.all(np.abs(scale.astype(ld) * (1 + glibc_math._EXP_TAIL.astype(ld)) - exact) < exact * 1e-18)
