"""dsnn.sampling.sample: deterministic, keyed by ids, bounded as asked."""

import math

import numpy as np
import pytest

import dsnn
from dsnn.description.distributions import parse
from dsnn.randomness import rng
from dsnn.randomness.sampling import sample

K = rng.key(12345, "weight", 0)

DISTS = {
    "normal": dsnn.random.normal(mean=5.0, std=2.0),
    "uniform": dsnn.random.uniform(min=-1.0, max=3.0),
    "lognormal": dsnn.random.lognormal(mean=0.5, std=0.4),
    "exponential": dsnn.random.exponential(beta=2.5),
    # rejects ~93% of the draws: many ids need several redraw rounds
    "redraw_tail": dsnn.math.redraw(dsnn.random.normal(mean=0.0, std=1.0), min=1.5),
    "redraw_both": dsnn.math.redraw(dsnn.random.normal(mean=1.0, std=3.0), min=0.0, max=2.0),
    "redraw_exp": dsnn.math.redraw(dsnn.random.exponential(beta=1.0), min=0.5, max=0.7),
    "clip": dsnn.math.clip(dsnn.random.normal(mean=0.0, std=1.0), min=-0.5, max=0.5),
    "clip_lognormal": dsnn.math.clip(dsnn.random.lognormal(mean=0.0, std=1.0), max=2.0),
}


@pytest.mark.parametrize("value", [3.5, -2.0, 0.0, 7])
def test_float_gives_constant_array(value):
    ids = np.arange(1000, dtype=np.uint64)
    out = sample(value, K, ids)
    assert out.shape == (1000,) and out.dtype == np.float64
    assert np.all(out == float(value))
    out2 = sample(value, K, np.arange(6).reshape(2, 3))
    assert out2.shape == (2, 3) and np.all(out2 == float(value))


@pytest.mark.parametrize("name", list(DISTS))
def test_deterministic_and_keyed_by_ids(name):
    dist = DISTS[name]
    ids = np.arange(1000, dtype=np.uint64)
    a = sample(dist, K, ids)
    b = sample(dist, K, ids.copy())
    assert a.dtype == np.float64 and a.shape == (1000,)
    np.testing.assert_array_equal(a, b)
    assert np.unique(a[(a > dist.low) & (a < dist.high)]).size > 100  # really random
    # a value does not depend on which other ids are drawn with it
    np.testing.assert_array_equal(sample(dist, K, ids[500:]), a[500:])
    np.testing.assert_array_equal(sample(dist, K, ids[::-1]), a[::-1])
    np.testing.assert_array_equal(sample(dist, K, ids[::7]), a[::7])
    perm = np.random.default_rng(0).permutation(1000)
    np.testing.assert_array_equal(sample(dist, K, ids[perm]), a[perm])
    for i in (0, 1, 499, 999):
        np.testing.assert_array_equal(sample(dist, K, ids[i:i + 1]), a[i:i + 1])
    # large synapse keys as used by the connectivity ((target << 32) | column)
    big = (np.arange(100, 300, dtype=np.uint64) << np.uint64(32)) | np.uint64(17)
    c = sample(dist, K, big)
    np.testing.assert_array_equal(sample(dist, K, big[50:]), c[50:])
    # int64 and uint64 ids are the same ids
    np.testing.assert_array_equal(sample(dist, K, np.arange(1000, dtype=np.int64)), a)


@pytest.mark.parametrize("name", list(DISTS))
def test_other_key_other_values(name):
    dist = DISTS[name]
    ids = np.arange(1000)
    a = sample(dist, K, ids)
    b = sample(dist, rng.key(12345, "weight", 1), ids)
    c = sample(dist, rng.key(12346, "weight", 0), ids)
    free = (a > dist.low) & (a < dist.high)  # clipped values may coincide at the bounds
    assert np.mean(a[free] == b[free]) < 0.01
    assert np.mean(a[free] == c[free]) < 0.01


@pytest.mark.parametrize("name", list(DISTS))
def test_values_inside_support(name):
    dist = DISTS[name]
    a = sample(dist, K, np.arange(20_000))
    lo, hi = dist.support()
    assert np.all(np.isfinite(a))
    assert a.min() >= lo and a.max() <= hi
    if dist.bound == "clip":
        # the clip puts mass at the bounds
        for b in (dist.low, dist.high):
            if math.isfinite(b):
                assert np.any(a == b)
    if dist.bound == "redraw":
        assert not np.any(a == dist.low) and not np.any(a == dist.high)


def test_unbounded_draws_use_documented_transforms():
    """uniform = min + (max-min) u, exponential = -beta log(1-u); a normal number whose first word
    (rng.bits at counter 0) lands inside its ziggurat layer is sign * abscissa * w[layer], the word's
    bits read as NumPy's ziggurat reads them (layer: low 8 bits, sign: next bit, abscissa: 52 bits)."""
    from dsnn.randomness.normal import tables

    ids = np.arange(500)
    u1 = rng.uniform(K, ids, 0)
    np.testing.assert_allclose(sample(dsnn.random.uniform(2.0, 6.0), K, ids), 2.0 + 4.0 * u1, rtol=1e-15)
    np.testing.assert_allclose(sample(dsnn.random.exponential(3.0), K, ids), -3.0 * np.log1p(-u1), rtol=1e-15)
    kt, wt, _ = tables()
    word = rng.bits(K, ids, 0)
    layer = (word & np.uint64(0xFF)).astype(np.int64)
    sign = np.where((word >> np.uint64(8)) & np.uint64(1), -1.0, 1.0)
    rabs = (word >> np.uint64(9)) & np.uint64(2**52 - 1)
    fast = rabs < kt[layer]
    assert fast.mean() > 0.97  # the ziggurat's point: almost every number takes one word
    z = sign * rabs.astype(np.float64) * wt[layer]
    np.testing.assert_array_equal(sample(dsnn.random.normal(0.0, 1.0), K, ids)[fast], z[fast])
    np.testing.assert_array_equal(sample(dsnn.random.normal(1.0, 2.0), K, ids)[fast], 1.0 + 2.0 * z[fast])
    np.testing.assert_array_equal(sample(dsnn.random.lognormal(1.0, 2.0), K, ids)[fast], np.exp(1.0 + 2.0 * z[fast]))


def test_normal_numbers_follow_the_normal_distribution_in_the_bulk_the_wedges_and_the_tail():
    """Four million numbers against the normal CDF (scipy): chi-square over 400 bins of equal probability
    (a wrong layer, wedge or table shows as a step at its edges), the share beyond the tail's start R, and
    the tail's own shape (numbers beyond R, Marsaglia's tail method: P(Z > R + t | Z > R))."""
    from scipy import stats

    from dsnn.randomness.normal import R

    n = 4_000_000
    z = sample(dsnn.random.normal(0.0, 1.0), 12345, np.arange(n, dtype=np.uint64))
    edges = stats.norm.ppf(np.linspace(0, 1, 401))
    counts = np.histogram(z, edges)[0]
    chi2 = ((counts - n / 400) ** 2 / (n / 400)).sum()
    assert stats.chi2.sf(chi2, 399) > 1e-4, chi2
    beyond = np.abs(z) > R
    expected = 2 * stats.norm.sf(R) * n  # ~1030
    assert abs(beyond.sum() - expected) < 5 * np.sqrt(expected)
    tail = np.abs(z[beyond]) - R
    cond = stats.norm.sf(R + np.sort(tail)) / stats.norm.sf(R)  # uniform on (0, 1) if the tail is right
    assert stats.kstest(cond, "uniform").pvalue > 1e-4
    assert abs((z[beyond] > 0).mean() - 0.5) < 5 * 0.5 / np.sqrt(beyond.sum())


def test_redraw_keeps_in_bound_first_draws_and_clip_equals_np_clip():
    base = dsnn.random.normal(mean=0.0, std=1.0)
    ids = np.arange(5000)
    raw = sample(base, K, ids)
    red = sample(dsnn.math.redraw(base, min=-1.0, max=1.0), K, ids)
    inside = (raw >= -1.0) & (raw <= 1.0)
    np.testing.assert_array_equal(red[inside], raw[inside])
    assert np.all(red[~inside] != raw[~inside])
    assert np.all(np.abs(red) <= 1.0)
    cl = sample(dsnn.math.clip(base, min=-1.0, max=1.0), K, ids)
    np.testing.assert_array_equal(cl, np.clip(raw, -1.0, 1.0))


def test_nest2_dicts_sample_as_nest3_forms():
    ids = np.arange(2000)
    pairs = [
        ({"distribution": "normal", "mu": 1.0, "sigma": 0.5}, dsnn.random.normal(1.0, 0.5)),
        ({"distribution": "normal_clipped", "mu": 1.0, "sigma": 0.5, "low": 0.8, "high": 1.5},
         dsnn.math.redraw(dsnn.random.normal(1.0, 0.5), min=0.8, max=1.5)),
        ({"distribution": "normal_clipped_to_boundary", "mu": 1.0, "sigma": 0.5, "low": 0.8},
         dsnn.math.clip(dsnn.random.normal(1.0, 0.5), min=0.8)),
        ({"distribution": "lognormal", "mu": 0.2, "sigma": 0.3}, dsnn.random.lognormal(0.2, 0.3)),
        ({"distribution": "exponential", "lambda": 4.0}, dsnn.random.exponential(beta=0.25)),
        ({"distribution": "uniform", "low": -2.0, "high": 2.0}, dsnn.random.uniform(-2.0, 2.0)),
    ]
    for spec, dist in pairs:
        parsed = parse(spec, "test")
        assert parsed == dist, spec
        np.testing.assert_array_equal(sample(parsed, K, ids), sample(dist, K, ids))


@pytest.mark.parametrize("name", ["normal", "clip"])
def test_multidimensional_ids_unbounded_and_clip(name):
    ids = np.arange(60).reshape(6, 10)
    out = sample(DISTS[name], K, ids)
    assert out.shape == (6, 10)
    np.testing.assert_array_equal(out, sample(DISTS[name], K, ids.ravel()).reshape(6, 10))


def test_multidimensional_ids_redraw():
    ids = np.arange(60).reshape(6, 10)
    out = sample(DISTS["redraw_tail"], K, ids)
    np.testing.assert_array_equal(out, sample(DISTS["redraw_tail"], K, ids.ravel()).reshape(6, 10))


@pytest.mark.parametrize("value", [dsnn.random.normal(1.0, 2.0), dsnn.math.redraw(dsnn.random.normal(0.0, 1.0), min=0.5),
                                   dsnn.math.clip(dsnn.random.lognormal(0.0, 1.0), max=2.0)])
def test_values_do_not_depend_on_the_chunking(value, monkeypatch):
    """Large id arrays are sampled in chunks; every id keeps the value it has when drawn alone."""
    from dsnn.randomness import sampling

    ids = np.arange(10_000, dtype=np.uint64).reshape(100, 100)
    whole = sampling.sample(value, 99, ids)
    monkeypatch.setattr(sampling, "CHUNK", 777)
    chunked = sampling.sample(value, 99, ids)
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_array_equal(sampling.sample(value, 99, ids[3:4, 5:6]), whole[3:4, 5:6])
