"""The counter-based RNG (dsnn.rng): pure functions, reference values, statistics,
and the numba Poisson kernel drawing the same bits as the NumPy formula."""

import math

import numpy as np
import pytest

import dsnn
from dsnn.construction.inputs import poisson_table
from dsnn.randomness import rng

MASK = (1 << 64) - 1


def _mix_py(z: int) -> int:
    """SplitMix64 finaliser with Python ints (independent of NumPy)."""
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _bits_py(k: int, i: int, c: int) -> int:
    return _mix_py((_mix_py((k + i * rng.GAMMA) & MASK) + (c + 1) * rng.GAMMA) & MASK)


def _chi2_ok(counts, expected):
    """Chi-square statistic within mean +- 6 sd of the chi-square law (df = bins - 1)."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.broadcast_to(np.asarray(expected, dtype=np.float64), counts.shape)
    stat = float(((counts - expected) ** 2 / expected).sum())
    df = counts.size - 1
    return abs(stat - df) < 6.0 * math.sqrt(2.0 * df), stat, df


# ------------------------------------------------------------ reference values
def test_mix_is_splitmix64_with_published_reference_values():
    # SplitMix64 seeded with 0: outputs are mix(n * GAMMA), n = 1, 2, 3, 4
    z = np.array([(n * rng.GAMMA) & MASK for n in range(1, 5)], dtype=np.uint64)
    out = rng.mix(z)
    assert [int(v) for v in out] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4,
                                     0x06C45D188009454F, 0xF88BB8A8724C81EC]
    assert rng._mix_int(rng.GAMMA) == 0xE220A8397B1DCDAF


def test_mix_array_equals_python_int_mix():
    vals = [0, 1, 2, 12345, 2**63, MASK, 0xDEADBEEFCAFEBABE, rng.GAMMA]
    out = rng.mix(np.array(vals, dtype=np.uint64))
    assert [int(v) for v in out] == [_mix_py(v) for v in vals]
    assert [rng._mix_int(v) for v in vals] == [_mix_py(v) for v in vals]


def test_purpose_code_is_fnv1a_then_mixed():
    # FNV-1a 64 of "" is the offset basis, of "a" the published 0xaf63dc4c8601ec8c
    assert rng.purpose_code("") == _mix_py(0xCBF29CE484222325)
    assert rng.purpose_code("a") == _mix_py(0xAF63DC4C8601EC8C)


def test_bits_matches_documented_formula():
    k = rng.key(7, "test", 3)
    ids = np.array([0, 1, 5, 1000, 2**40 + 3, 2**63 + 11], dtype=np.uint64)
    counters = np.array([0, 1, 2, 77, 2**33, 5], dtype=np.uint64)
    out = rng.bits(k, ids, counters)
    assert out.dtype == np.uint64
    assert [int(v) for v in out] == [_bits_py(k, int(i), int(c)) for i, c in zip(ids, counters)]


def test_key_folds_seed_purpose_and_ids():
    k = rng._mix_int(99 ^ rng.purpose_code("conn"))
    assert rng.key(99, "conn") == k
    assert rng.key(99, "conn", 4) == _mix_py(k + rng.GAMMA * 5)
    assert rng.key(99, "conn", 4, 0) == _mix_py(_mix_py(k + rng.GAMMA * 5) + rng.GAMMA)


# ---------------------------------------------------------------- determinism
def test_pure_functions_same_inputs_same_outputs():
    k = rng.key(12345, "weight", 0)
    ids = np.arange(1000, dtype=np.int64)
    ids_copy = ids.copy()
    a = rng.bits(k, ids, 3)
    b = rng.bits(k, ids, 3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ids, ids_copy)  # inputs untouched
    np.testing.assert_array_equal(rng.uniform(k, ids, 3), rng.uniform(k, ids, 3))
    np.testing.assert_array_equal(rng.integers(k, ids, 17, 3), rng.integers(k, ids, 17, 3))
    assert rng.key(1, "x", 2, 3) == rng.key(1, "x", 2, 3)


def test_value_depends_only_on_its_own_id_and_counter():
    k = rng.key(5, "p")
    ids = np.arange(2000)
    full = rng.bits(k, ids, 9)
    np.testing.assert_array_equal(full[1500:], rng.bits(k, ids[1500:], 9))
    np.testing.assert_array_equal(full[::-1], rng.bits(k, ids[::-1], 9))
    single = rng.bits(k, np.array([1234]), 9)
    assert single[0] == full[1234]
    # ids and counters broadcast, element (i, c) is bits(k, i, c)
    grid = rng.bits(k, ids[:50, None], np.arange(7)[None, :])
    assert grid.shape == (50, 7)
    for c in range(7):
        np.testing.assert_array_equal(grid[:, c], rng.bits(k, ids[:50], c))


def test_counters_ids_and_keys_give_different_streams():
    k = rng.key(5, "p")
    ids = np.arange(10_000)
    a = rng.bits(k, ids, 0)
    b = rng.bits(k, ids, 1)
    c = rng.bits(rng.key(5, "q"), ids, 0)
    assert np.unique(a).size == ids.size  # distinct ids, distinct words
    assert not np.any(a == b)
    assert not np.any(a == c)
    # stream of id i at counters 0..n is not stream of id i+1 shifted
    row0 = rng.bits(k, 0, np.arange(100))
    row1 = rng.bits(k, 1, np.arange(100))
    assert np.intersect1d(row0, row1).size == 0


def test_keys_differ_by_purpose_seed_and_ids():
    keys = [
        rng.key(1, "conn", 0), rng.key(1, "conn", 1), rng.key(1, "conn"), rng.key(1, "weight", 0),
        rng.key(1, "delay", 0), rng.key(1, "poisson", 0), rng.key(2, "conn", 0), rng.key(0, "conn", 0),
        rng.key(1, "conn", 0, 0), rng.key(1, "conn:0"), rng.key(2**63 - 1, "conn", 0),
    ]
    assert len(set(keys)) == len(keys)
    assert all(isinstance(k, int) and 0 <= k < 2**64 for k in keys)
    assert rng.purpose_code("state:V_m") != rng.purpose_code("state:I_syn_ex")


# ------------------------------------------------------------------ statistics
def test_uniform_range_mean_and_variance():
    k = rng.key(2024, "uniform-test")
    n = 400_000
    u = rng.uniform(k, np.arange(n), 0)
    assert u.dtype == np.float64
    assert u.min() >= 0.0 and u.max() < 1.0
    # exactly 53-bit values: u * 2**53 is a whole number
    assert np.all(np.floor(u[:1000] * 2.0**53) == u[:1000] * 2.0**53)
    se_mean = math.sqrt(1 / 12 / n)
    assert abs(u.mean() - 0.5) < 4 * se_mean
    # var of a sample variance: (mu4 - sigma^4)/n, uniform mu4 = 1/80
    se_var = math.sqrt((1 / 80 - (1 / 12) ** 2) / n)
    assert abs(u.var() - 1 / 12) < 4 * se_var
    # also along counters for one id
    v = rng.uniform(k, 3, np.arange(n))
    assert abs(v.mean() - 0.5) < 4 * se_mean
    assert abs(v.var() - 1 / 12) < 4 * se_var
    # consecutive values uncorrelated
    r = np.corrcoef(u[:-1], u[1:])[0, 1]
    assert abs(r) < 4 / math.sqrt(n)


def test_uniform_histogram_chi_square():
    u = rng.uniform(rng.key(1, "hist"), np.arange(200_000), 4)
    counts = np.bincount(np.floor(u * 100).astype(np.int64), minlength=100)
    ok, stat, df = _chi2_ok(counts, u.size / 100)
    assert ok, (stat, df)


@pytest.mark.parametrize("n", [1, 2, 7, 10, 97, 1000])
def test_integers_in_range_and_uniform(n):
    k = rng.key(77, "ints", n)
    m = 200 * n if n > 1 else 1000
    x = rng.integers(k, np.arange(m), n, 0)
    assert x.dtype == np.int64
    assert x.min() >= 0 and x.max() < n
    if n == 1:
        assert np.all(x == 0)
        return
    counts = np.bincount(x, minlength=n)
    assert counts.size == n
    ok, stat, df = _chi2_ok(counts, m / n)
    assert ok, (stat, df)


def test_integers_with_array_bound_and_large_n():
    k = rng.key(3, "ints-array")
    n = np.array([5, 50, 500, 2**40, 2**52], dtype=np.int64)
    x = rng.integers(k, np.arange(5)[:, None], n[:, None], np.arange(20_000)[None, :])
    assert x.shape == (5, 20_000)
    assert np.all(x >= 0) and np.all(x < n[:, None])
    assert np.array_equal(x, np.floor(rng.uniform(k, np.arange(5)[:, None], np.arange(20_000)[None, :])
                                      * n[:, None].astype(np.float64)).astype(np.int64))
    # large bounds are used in full: the top half is hit about half the time
    top = (x[3] >= 2**39).mean()
    assert abs(top - 0.5) < 4 * math.sqrt(0.25 / 20_000)


# ------------------------------------------------------------ Poisson kernel
def _poisson_stream(k, syn_keys):
    with np.errstate(over="ignore"):
        return rng.mix(np.uint64(k) + np.asarray(syn_keys, dtype=np.uint64) * np.uint64(rng.GAMMA))


def test_poisson_kernel_uniform_equals_rng_uniform_by_hand():
    """u = (mix(stream + (n+1)*GAMMA) >> 11) * 2**-53, stream = mix(k + key*GAMMA) is rng.uniform(k, key, n)."""
    k = rng.key(12345, "poisson", 3)
    syn_keys = np.array([0, 1, 2, (7 << 32) | 5, (123456 << 32) | 99, 2**63 + 1], dtype=np.uint64)
    steps = np.array([0, 1, 2, 10, 9999, 2**31], dtype=np.uint64)
    stream = _poisson_stream(k, syn_keys)
    with np.errstate(over="ignore"):
        h = rng.mix(stream[:, None] + (steps[None, :] + np.uint64(1)) * np.uint64(rng.GAMMA))
    by_hand = (h >> np.uint64(11)).astype(np.float64) * 2.0**-53
    np.testing.assert_array_equal(rng.uniform(k, syn_keys[:, None], steps[None, :]), by_hand)
    # and with Python ints
    for i, key in enumerate(syn_keys):
        for j, n in enumerate(steps):
            assert by_hand[i, j] == (_bits_py(k, int(key), int(n)) >> 11) * 2.0**-53


def _built_poisson_input(lam, n_conn, dt=0.1, seed=4321):
    """The PoissonInput of a built network: one poisson_generator -> n_conn neurons (1 pA, 1 step)."""
    net = dsnn.Network(seed=seed, dt=dt)
    pg = net.create("poisson_generator", 1, {"rate": lam / (dt * 1e-3)})
    E = net.create("iaf_psc_exp", n_conn, {"V_th": 1e6})
    proj = net.connect(pg, E, syn_spec={"weight": 1.0, "delay": dt})
    sim = net.build(partitions=1)
    pin = sim.partitions[0].poisson
    assert pin is not None and pin.target.shape[0] == n_conn
    return net, proj, E, pin


def _poisson_counts(lam, n_conn, n_steps, seed=4321):
    """Counts (steps 0..n_steps-1, connections) drawn by the kernel through PoissonInput.inject."""
    net, proj, E, pin = _built_poisson_input(lam, n_conn, seed=seed)
    ring = np.zeros((n_steps + 2, 2, n_conn), dtype=np.int64)  # no wrap-around
    pin.inject(0, n_steps + 1, ring)  # arrival steps: the counts emitted at steps 0..n_steps-1 arrive 1 later
    assert not ring[:, 1].any()  # positive weight: excitatory channel only
    assert np.all(ring % 2**32 == 0)  # whole spikes of 1 pA
    counts = np.zeros((n_steps, n_conn), dtype=np.int64)
    counts[:, pin.target] = ring[1:n_steps + 1, 0, pin.target] // 2**32  # delay of 1 step
    return counts, net, proj, E


def test_poisson_kernel_counts_equal_inversion_of_rng_uniform():
    """The kernel's count at step n is the inversion of the Poisson cdf at rng.uniform(k, syn_key, n)."""
    lam, n_conn, n_steps = 2.0, 40, 300
    counts, net, proj, E = _poisson_counts(lam, n_conn, n_steps)
    table = poisson_table(lam / 1e-4, net.dt)
    k = rng.key(net.seed, "poisson", proj.index)
    syn_keys = np.arange(E.first, E.first + E.n, dtype=np.uint64) << np.uint64(32)  # (target << 32) | 0
    u = rng.uniform(k, syn_keys[None, :], np.arange(n_steps)[:, None])
    expected = np.minimum(np.searchsorted(table, u, side="right"), table.shape[0] - 1)
    expected[0] = 0  # a generator starting at 0 ms is active from update step 1 on
    assert counts[1:].sum() > 0.9 * lam * n_conn * (n_steps - 1)
    np.testing.assert_array_equal(counts, expected)


def test_poisson_table_is_the_poisson_cdf():
    lam = 2.0
    table = poisson_table(lam / 1e-4, 0.1)
    assert table[-1] == 2.0  # sentinel
    pk = [math.exp(-lam) * lam**j / math.factorial(j) for j in range(10)]
    np.testing.assert_allclose(table[:10], np.cumsum(pk), rtol=1e-12)
    assert abs(table[-2] - 1.0) < 1e-12
    assert np.array_equal(poisson_table(0.0, 0.1), np.array([2.0]))


@pytest.mark.parametrize("lam", [0.5, 2.0, 30.0])
def test_poisson_kernel_statistics(lam):
    n_conn, n_steps = 500, 2001
    counts, *_ = _poisson_counts(lam, n_conn, n_steps)
    counts = counts[1:]  # step 0 is before the generator starts
    x = counts.ravel().astype(np.float64)
    n = x.size
    assert x.min() >= 0
    assert abs(x.mean() - lam) < 4 * math.sqrt(lam / n)
    # var of the sample variance: (mu4 - sigma^4)/n, Poisson mu4 = lam (1 + 3 lam)
    assert abs(x.var() - lam) < 4 * math.sqrt((lam + 2 * lam**2) / n)
    p0 = math.exp(-lam)
    se0 = math.sqrt(p0 * (1 - p0) / n)
    assert abs((x == 0).mean() - p0) < 4 * se0 + 1.0 / n
    p1 = lam * math.exp(-lam)
    assert abs((x == 1).mean() - p1) < 4 * math.sqrt(p1 * (1 - p1) / n) + 1.0 / n
    # each connection has its own train: totals vary as Poisson(lam * steps), neighbours uncorrelated
    per_conn = counts.sum(axis=0).astype(np.float64)
    m = lam * counts.shape[0]
    assert abs(per_conn.var(ddof=1) - m) < 4 * math.sqrt(2 * m**2 / (n_conn - 1) + m / n_conn)
    r = np.corrcoef(counts[:, 0], counts[:, 1])[0, 1]
    assert abs(r) < 4 / math.sqrt(counts.shape[0])
    # and steps are independent of one another
    r_t = np.corrcoef(counts[:-1].ravel(), counts[1:].ravel())[0, 1]
    assert abs(r_t) < 4 / math.sqrt(n)


@pytest.mark.parametrize("k", [0, 2**64 - 1, 12345678901234567890])
def test_compiled_bits_equal_the_array_expression(k):
    """The compiled NumPy path of rng.bits gives the very words of the SplitMix expression written with
    array operations (what CuPy runs), for negative, large and unsigned ids and broadcast counters."""

    def expression(ids, c):
        ids, c = np.asarray(ids).astype(np.uint64), np.asarray(c).astype(np.uint64)
        with np.errstate(over="ignore"):
            h = rng.mix(np.uint64(k) + ids * np.uint64(rng.GAMMA))
            return rng.mix(h + (c + np.uint64(1)) * np.uint64(rng.GAMMA))

    gen = np.random.default_rng(0)
    cases = [(gen.integers(-2**62, 2**62, 1000), 0), (np.arange(50).reshape(5, 10), np.arange(10)),
             (np.array(7), 3), (gen.integers(0, 2**63 - 1, (3, 4)), gen.integers(0, 2**40, (3, 1))),
             (np.arange(5, dtype=np.uint64) + np.uint64(2**63), np.uint64(5)), (np.zeros(0, dtype=np.int64), 1)]
    for ids, c in cases:
        got, want = rng.bits(k, ids, c), expression(ids, c)
        assert got.dtype == np.uint64 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [1, 7, 10_000, 2**40])
def test_fused_integers_equal_the_array_expression(n):
    """The one-pass path (1-D ids, one bound, one counter) gives floor(uniform * n) bit for bit, ids given
    as uint64 keys above 2**63 included."""
    k = rng.key(5, "ints-fused")
    ids = np.concatenate([np.arange(5000, dtype=np.uint64), np.uint64(2**63) + np.arange(100, dtype=np.uint64)])
    fused = rng.integers(k, ids, n, 3)
    by_hand = np.floor(rng.uniform(k, ids, 3) * np.float64(n)).astype(np.int64)
    np.testing.assert_array_equal(fused, by_hand)
    np.testing.assert_array_equal(rng.integers(k, ids.astype(np.int64), n, 3), by_hand)
