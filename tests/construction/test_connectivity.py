"""Connection rules, flags, random weights and delays, seen through sim.connections().

Small networks (hundreds of neurons). Statistical checks use 4 sigma bounds (or
a generous chi-square bound) and fixed seeds, so they are deterministic.
"""

import math

import numpy as np
import pytest

import dsnn
from dsnn.randomness import rng

SEED = 12345
N_PRE, N_POST = 200, 300


def _phi(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _Phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _chi2_ok(counts, expected=None, sds=6.0, var_factor=1.0):
    """Pearson chi-square of ``counts`` against ``expected`` (default: uniform), within mean +- sds*sd.

    ``var_factor`` scales the variance of a count against its mean: 1 for draws with replacement,
    ``1 - K/n`` for K distinct draws among n per row (each count is then a sum of Bernoulli(K/n)).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if expected is None:
        expected = np.full(counts.shape, counts.mean())
    stat = float(((counts - expected) ** 2 / (expected * var_factor)).sum())
    df = counts.size - 1
    return abs(stat - df) < sds * math.sqrt(2.0 * df), (stat, df)


def _net(seed=SEED, dt=0.1):
    return dsnn.Network(seed=seed, dt=dt)


def two_pops(conn_spec, syn_spec=None, n_pre=N_PRE, n_post=N_POST, seed=SEED, partitions=1, dt=0.1):
    """pre (n_pre neurons) -> post (n_post neurons): (connections, pre, post)."""
    net = _net(seed, dt)
    A = net.create("iaf_psc_exp", n_pre)
    B = net.create("iaf_psc_exp", n_post)
    net.connect(A, B, conn_spec, syn_spec)
    return net.build(partitions=partitions).connections(), A, B


def one_pop(conn_spec, syn_spec=None, n=N_PRE, seed=SEED, partitions=1):
    """A population connected to itself: (connections, population)."""
    net = _net(seed)
    A = net.create("iaf_psc_exp", n)
    net.connect(A, A, conn_spec, syn_spec)
    return net.build(partitions=partitions).connections(), A


def _in_range(col, pop):
    return bool(np.all((col >= pop.first) & (col < pop.first + pop.n)))


def _in_counts(df, pop):
    return np.bincount(df.target.to_numpy() - pop.first, minlength=pop.n)


def _out_counts(df, pop):
    return np.bincount(df.source.to_numpy() - pop.first, minlength=pop.n)


FLAGS = [(True, True), (True, False), (False, True), (False, False)]


# ======================================================== exact counts per rule
@pytest.mark.parametrize("autapses,multapses", FLAGS)
def test_fixed_indegree_exact(autapses, multapses):
    K = 20
    spec = {"rule": "fixed_indegree", "indegree": K, "allow_autapses": autapses, "allow_multapses": multapses}
    df, A, B = two_pops(spec)
    assert len(df) == K * B.n
    assert _in_range(df.source, A) and _in_range(df.target, B)
    assert np.all(_in_counts(df, B) == K)
    # and on a population connected to itself
    df, A = one_pop(spec)
    assert len(df) == K * A.n
    assert np.all(_in_counts(df, A) == K)
    assert _in_range(df.source, A)


@pytest.mark.parametrize("autapses,multapses", FLAGS)
def test_fixed_outdegree_exact(autapses, multapses):
    K = 30
    spec = {"rule": "fixed_outdegree", "outdegree": K, "allow_autapses": autapses, "allow_multapses": multapses}
    df, A, B = two_pops(spec)
    assert len(df) == K * A.n
    assert _in_range(df.source, A) and _in_range(df.target, B)
    assert np.all(_out_counts(df, A) == K)
    df, A = one_pop(spec)
    assert len(df) == K * A.n
    assert np.all(_out_counts(df, A) == K)
    assert _in_range(df.target, A)


@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_total_number_exact(autapses):
    N = 7777
    spec = {"rule": "fixed_total_number", "N": N, "allow_autapses": autapses, "allow_multapses": True}
    df, A, B = two_pops(spec)
    assert len(df) == N
    assert _in_range(df.source, A) and _in_range(df.target, B)
    df, A = one_pop(spec)
    assert len(df) == N
    assert _in_range(df.source, A) and _in_range(df.target, A)


def test_fixed_total_number_in_degrees_are_multinomial_across_its_target_blocks():
    """N connections onto targets spread over 25 blocks of TOTAL_NUMBER_BLOCK (the last one short): the
    in-degrees are those of N independent uniform targets, Binomial(N, 1/n) each, with no seam at the
    blocks' edges (the block totals, drawn as one multinomial, fit their sizes), and sources uniform; the
    same connections on 1 and 3 partitions (whose ranges cut through blocks)."""
    from dsnn.construction.connectivity import TOTAL_NUMBER_BLOCK

    n_post = 24 * TOTAL_NUMBER_BLOCK + 1000
    N, n_pre = 40 * n_post, 500
    spec = {"rule": "fixed_total_number", "N": N}
    df, A, B = two_pops(spec, n_pre=n_pre, n_post=n_post, seed=77)
    assert len(df) == N
    indeg = np.bincount(df.target.to_numpy() - B.first, minlength=n_post)
    lam = N / n_post
    assert abs(indeg.var() - lam * (1 - 1 / n_post)) < 4 * lam * math.sqrt(2.0 / n_post)
    hist = np.bincount(indeg, minlength=100)[:100].astype(float)  # the distribution of in-degrees
    ks = np.arange(100)
    pmf = np.exp(ks * math.log(lam) - lam - np.array([math.lgamma(k + 1) for k in ks]))
    keep = pmf * n_post > 20
    ok, stat = _chi2_ok(hist[keep], pmf[keep] * n_post)
    assert ok, stat
    blocks = np.add.reduceat(indeg, np.arange(0, n_post, TOTAL_NUMBER_BLOCK))
    sizes = np.diff(np.append(np.arange(0, n_post, TOTAL_NUMBER_BLOCK), n_post))
    ok, stat = _chi2_ok(blocks, N * sizes / n_post)
    assert ok, stat
    ok, stat = _chi2_ok(np.bincount(df.source.to_numpy() - A.first, minlength=n_pre))
    assert ok, stat
    df3, *_ = two_pops(spec, n_pre=n_pre, n_post=n_post, seed=77, partitions=3)
    cols = ["source", "target", "weight", "delay"]
    assert df3[cols].sort_values(cols).reset_index(drop=True).equals(df[cols].sort_values(cols).reset_index(drop=True))


def test_all_to_all_exact():
    df, A, B = two_pops({"rule": "all_to_all"})
    assert len(df) == A.n * B.n
    pairs = set(zip(df.source, df.target))
    assert len(pairs) == A.n * B.n
    assert pairs == {(s, t) for s in A.gids for t in B.gids}
    df, A = one_pop({"rule": "all_to_all", "allow_autapses": True}, n=150)
    assert len(df) == 150 * 150
    assert (df.source == df.target).sum() == 150
    assert not df.duplicated(["source", "target"]).any()
    df, A = one_pop({"rule": "all_to_all", "allow_autapses": False}, n=150)
    assert len(df) == 150 * 149
    assert not (df.source == df.target).any()
    assert np.all(_in_counts(df, A) == 149) and np.all(_out_counts(df, A) == 149)


def test_one_to_one_exact():
    df, A, B = two_pops({"rule": "one_to_one"}, n_pre=250, n_post=250)
    assert len(df) == 250
    np.testing.assert_array_equal(df.source.to_numpy() - A.first, df.target.to_numpy() - B.first)
    assert set(df.source) == set(A.gids)
    df, A = one_pop({"rule": "one_to_one", "allow_autapses": True})
    assert len(df) == A.n and np.all(df.source == df.target)
    # NEST: one_to_one of a population onto itself without autapses makes no synapse
    df, A = one_pop({"rule": "one_to_one", "allow_autapses": False})
    assert len(df) == 0


def test_one_to_one_between_views():
    net = _net()
    A = net.create("iaf_psc_exp", 300)
    net.connect(A[0:100], A[150:250], "one_to_one", {"weight": 2.0, "delay": 1.0})
    df = net.build(partitions=3).connections()
    assert len(df) == 100
    np.testing.assert_array_equal(df.target.to_numpy() - df.source.to_numpy(), np.full(100, 150))


def test_pairwise_bernoulli_count_large():
    p = 0.3
    df, A, B = two_pops({"rule": "pairwise_bernoulli", "p": p}, n_pre=500, n_post=600)
    n = A.n * B.n
    assert abs(len(df) - n * p) < 4 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_pairwise_bernoulli_count(p):
    df, A, B = two_pops({"rule": "pairwise_bernoulli", "p": p})
    n = A.n * B.n
    assert abs(len(df) - n * p) < 4 * math.sqrt(n * p * (1 - p))
    assert not df.duplicated(["source", "target"]).any()
    assert _in_range(df.source, A) and _in_range(df.target, B)
    for autapses in (True, False):
        df, A = one_pop({"rule": "pairwise_bernoulli", "p": p, "allow_autapses": autapses})
        n = A.n * A.n if autapses else A.n * (A.n - 1)
        assert abs(len(df) - n * p) < 4 * math.sqrt(n * p * (1 - p))
        if autapses:  # about A.n * p autapses
            assert (df.source == df.target).sum() > 0
        else:
            assert not (df.source == df.target).any()
    # in-degrees are binomial(n_pre, p): their variance too
    df, A, B = two_pops({"rule": "pairwise_bernoulli", "p": p})
    indeg = _in_counts(df, B).astype(float)
    var = A.n * p * (1 - p)
    assert abs(indeg.var(ddof=1) - var) < 4 * var * math.sqrt(2.0 / (B.n - 1)) * 1.2


def test_pairwise_bernoulli_extremes():
    df, A, B = two_pops({"rule": "pairwise_bernoulli", "p": 0.0})
    assert len(df) == 0
    df, A, B = two_pops({"rule": "pairwise_bernoulli", "p": 1.0})
    assert len(df) == A.n * B.n
    df, A = one_pop({"rule": "pairwise_bernoulli", "p": 1.0, "allow_autapses": False})
    assert len(df) == A.n * (A.n - 1)


def test_zero_degrees_make_no_synapses():
    for spec in ({"rule": "fixed_indegree", "indegree": 0}, {"rule": "fixed_outdegree", "outdegree": 0},
                 {"rule": "fixed_total_number", "N": 0}):
        df, A, B = two_pops(spec)
        assert len(df) == 0, spec


# ====================================================== autapses and multapses
NO_AUTAPSE_SPECS = [
    {"rule": "all_to_all"},
    {"rule": "one_to_one"},
    {"rule": "fixed_indegree", "indegree": 60},
    {"rule": "fixed_indegree", "indegree": 60, "allow_multapses": False},
    {"rule": "fixed_indegree", "indegree": 190, "allow_multapses": False},  # dense
    {"rule": "fixed_indegree", "indegree": 300},
    {"rule": "fixed_outdegree", "outdegree": 60},
    {"rule": "fixed_outdegree", "outdegree": 60, "allow_multapses": False},
    {"rule": "fixed_outdegree", "outdegree": 190, "allow_multapses": False},  # dense
    {"rule": "fixed_total_number", "N": 20_000},
    {"rule": "pairwise_bernoulli", "p": 0.5},
]


@pytest.mark.parametrize("spec", NO_AUTAPSE_SPECS, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_no_autapses(spec):
    df, A = one_pop(dict(spec, allow_autapses=False))
    assert not (df.source == df.target).any()
    if spec["rule"] != "one_to_one":
        assert len(df) > 0
        # the same rule with autapses allowed does make some (the check above can fail)
        df_auto, _ = one_pop(dict(spec, allow_autapses=True))
        assert (df_auto.source == df_auto.target).sum() > 0


def test_no_autapses_on_overlapping_views():
    """pre and post overlap in part: no neuron connects to itself, the others may."""
    net = _net()
    A = net.create("iaf_psc_exp", 200)
    specs = [{"rule": "fixed_indegree", "indegree": 40}, {"rule": "fixed_outdegree", "outdegree": 40},
             {"rule": "fixed_total_number", "N": 8000}, {"rule": "pairwise_bernoulli", "p": 0.3},
             {"rule": "all_to_all"}, {"rule": "fixed_indegree", "indegree": 40, "allow_multapses": False}]
    projs = [net.connect(A[0:120], A[80:200], dict(s, allow_autapses=False), {"weight": 1.0, "delay": 1.0})
             for s in specs]
    sim = net.build(partitions=2)
    for spec, proj in zip(specs, projs):
        df = sim.connections(proj)
        assert len(df) > 0, spec
        assert not (df.source == df.target).any(), spec
        assert _in_range(df.source, A[0:120]) and _in_range(df.target, A[80:200]), spec


MULTAPSE_CASES = [
    # (rule, degree, pre size, post size, same population)
    ("fixed_indegree", 20, 200, 300, False),
    ("fixed_indegree", 150, 200, 300, False),
    ("fixed_indegree", 99, 200, 300, False),    # sparse algorithm, many redraws
    ("fixed_indegree", 195, 200, 300, False),   # dense: indegree close to the source size
    ("fixed_indegree", 200, 200, 300, False),   # every source exactly once
    ("fixed_indegree", 199, 200, 200, True),    # without autapses: all the others
    ("fixed_indegree", 120, 200, 200, True),
    ("fixed_indegree", 99, 200, 200, True),
    ("fixed_outdegree", 20, 200, 300, False),
    ("fixed_outdegree", 280, 200, 300, False),  # dense
    ("fixed_outdegree", 300, 200, 300, False),
    ("fixed_outdegree", 199, 200, 200, True),
    ("fixed_outdegree", 120, 200, 200, True),
    ("fixed_outdegree", 149, 200, 300, False),
]


@pytest.mark.parametrize("rule,K,n_pre,n_post,same", MULTAPSE_CASES)
def test_no_multapses(rule, K, n_pre, n_post, same):
    key = "indegree" if rule == "fixed_indegree" else "outdegree"
    spec = {"rule": rule, key: K, "allow_multapses": False, "allow_autapses": not same}
    if same:
        df, A = one_pop(spec, n=n_pre)
        B = A
        assert not (df.source == df.target).any()
    else:
        df, A, B = two_pops(spec, n_pre=n_pre, n_post=n_post)
    assert not df.duplicated(["source", "target"]).any()
    counts = _in_counts(df, B) if rule == "fixed_indegree" else _out_counts(df, A)
    assert np.all(counts == K)
    full = (n_pre if rule == "fixed_indegree" else n_post) - (1 if same else 0)
    if K == full:  # every possible partner exactly once
        assert len(df) == K * (n_post if rule == "fixed_indegree" else n_pre)


@pytest.mark.parametrize("rule", ["fixed_indegree", "fixed_outdegree"])
def test_multapses_allowed_do_occur(rule):
    """With multapses allowed, K draws among 100 give repeated pairs (birthday problem)."""
    key = "indegree" if rule == "fixed_indegree" else "outdegree"
    df, A, B = two_pops({"rule": rule, key: 50, "allow_multapses": True}, n_pre=100, n_post=100)
    dup = df.duplicated(["source", "target"]).sum()
    # expected repeats per row: K - n (1 - (1 - 1/n)^K) ~ 10.6 of 50
    n, K = 100, 50
    expect = 100 * (K - n * (1 - (1 - 1 / n) ** K))
    assert abs(dup - expect) < 0.25 * expect


# ================================================================= uniformity
def test_fixed_indegree_sources_uniform():
    K = 50
    df, A, B = two_pops({"rule": "fixed_indegree", "indegree": K, "allow_multapses": True})
    hits = _out_counts(df, A)
    assert hits.sum() == K * B.n
    ok, info = _chi2_ok(hits)
    assert ok, info
    # multiplicities of one (source, target) pair are binomial(K, 1/n_pre): the count of pairs hit
    # twice or more is close to its expectation
    pair_counts = df.groupby(["source", "target"]).size().to_numpy()
    p = 1 / A.n
    p2 = 1 - (1 - p) ** K - K * p * (1 - p) ** (K - 1)
    n_pairs = A.n * B.n
    assert abs((pair_counts >= 2).sum() - n_pairs * p2) < 4 * math.sqrt(n_pairs * p2)


@pytest.mark.parametrize("spec", [
    {"rule": "fixed_indegree", "indegree": 50, "allow_multapses": False},
    {"rule": "fixed_indegree", "indegree": 150, "allow_multapses": False},  # dense
    {"rule": "fixed_indegree", "indegree": 50, "allow_autapses": False},
    {"rule": "fixed_indegree", "indegree": 150, "allow_autapses": False, "allow_multapses": False},
])
def test_fixed_indegree_sources_uniform_variants(spec):
    n = 200
    df, A = one_pop(spec, n=n)
    K = spec["indegree"]
    no_self = not spec.get("allow_autapses", True)
    n_eff = n - 1 if no_self else n
    factor = 1.0 - K / n_eff if not spec.get("allow_multapses", True) else 1.0
    hits = _out_counts(df, A)
    ok, info = _chi2_ok(hits, var_factor=factor)
    assert ok, info
    # no preference by distance to the target either (the autapse shift must not bias neighbours)
    delta = (df.source.to_numpy() - df.target.to_numpy()) % n
    counts = np.bincount(delta, minlength=n)
    if no_self:
        assert counts[0] == 0
        counts = counts[1:]
    ok, info = _chi2_ok(counts, var_factor=factor)
    assert ok, info


def test_fixed_outdegree_and_total_number_targets_uniform():
    df, A, B = two_pops({"rule": "fixed_outdegree", "outdegree": 75})
    ok, info = _chi2_ok(_in_counts(df, B))
    assert ok, info
    df, A, B = two_pops({"rule": "fixed_total_number", "N": 30_000})
    ok, info = _chi2_ok(_in_counts(df, B))
    assert ok, info
    ok, info = _chi2_ok(_out_counts(df, A))
    assert ok, info
    df, A, B = two_pops({"rule": "pairwise_bernoulli", "p": 0.2})
    ok, info = _chi2_ok(_out_counts(df, A))
    assert ok, info


def _contingency_ok(df, A, B, bins=10):
    """Source and target of a synapse independent: chi-square of a bins x bins table of
    (source bin, target bin) against the product of its margins, df = (bins-1)**2."""
    sb = (df.source.to_numpy() - A.first) * bins // A.n
    tb = (df.target.to_numpy() - B.first) * bins // B.n
    table = np.bincount(sb * bins + tb, minlength=bins * bins).reshape(bins, bins).astype(float)
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    dof = (bins - 1) ** 2
    return abs(stat - dof) < 6 * math.sqrt(2 * dof), (stat, dof)


@pytest.mark.parametrize("spec", [
    {"rule": "fixed_total_number", "N": 30_000},
    {"rule": "fixed_indegree", "indegree": 50},
    {"rule": "fixed_outdegree", "outdegree": 75},
    {"rule": "pairwise_bernoulli", "p": 0.2},
], ids=lambda s: s["rule"])
def test_source_and_target_independent(spec):
    df, A, B = two_pops(spec)
    ok, info = _contingency_ok(df, A, B)
    assert ok, info
    # within a block of neighbouring gids too (finer structure)
    ok, info = _contingency_ok(df[(df.source < A.first + 20) & (df.target < B.first + 20)],
                               A[0:20], B[0:20], bins=5)
    assert ok, info


@pytest.mark.parametrize("weight", [54.0, dsnn.random.uniform(1.0, 2.0)], ids=["fixed", "random"])
@pytest.mark.parametrize("partitions", [1, 3])
def test_fixed_indegree_draws_follow_the_documented_stream(weight, partitions):
    """Target t's sources are pre.first + rng.integers(key(seed, "conn", proj), t, n_pre, 0..K-1).

    A fixed weight takes the path that draws straight into the rows, a random
    one the path through explicit source lists; both must follow the stream.
    """
    K = 25
    net = _net()
    A = net.create("iaf_psc_exp", 200)
    B = net.create("iaf_psc_exp", 100)
    proj = net.connect(A, B, {"rule": "fixed_indegree", "indegree": K}, {"weight": weight})
    df = net.build(partitions=partitions).connections()
    kc = rng.key(SEED, "conn", proj.index)
    for t in list(B.gids)[::5]:
        want = np.sort(A.first + rng.integers(kc, t, A.n, np.arange(K)))
        got = np.sort(df.source[df.target == t].to_numpy())
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("weight", [54.0, dsnn.random.uniform(1.0, 2.0)], ids=["fixed", "random"])
def test_fixed_indegree_without_autapses_follows_the_stream(weight):
    """Without autapses, target t (index m in the source population) draws among n-1 and skips m."""
    K, n = 30, 120
    net = _net()
    A = net.create("iaf_psc_exp", n)
    proj = net.connect(A, A, {"rule": "fixed_indegree", "indegree": K, "allow_autapses": False},
                       {"weight": weight})
    df = net.build(partitions=2).connections()
    kc = rng.key(SEED, "conn", proj.index)
    for t in list(A.gids)[::7]:
        m = t - A.first
        draws = rng.integers(kc, t, n - 1, np.arange(K))
        want = np.sort(A.first + draws + (draws >= m))
        np.testing.assert_array_equal(np.sort(df.source[df.target == t].to_numpy()), want)


# ============================================================ random weights
N_SYN_A, N_SYN_B = 200, 300  # all_to_all: 60 000 synapses


def _weights(weight, seed=SEED):
    df, A, B = two_pops({"rule": "all_to_all"}, {"weight": weight, "delay": 1.0},
                        n_pre=N_SYN_A, n_post=N_SYN_B, seed=seed)
    assert len(df) == N_SYN_A * N_SYN_B
    return df.weight.to_numpy()


def _check_moments(x, mean, var):
    n = x.size
    m = x.mean()
    assert abs(m - mean) < 4 * math.sqrt(var / n), (m, mean)
    s2 = x.var()
    mu4 = np.mean((x - m) ** 4)
    se_var = math.sqrt(max(mu4 - s2**2, 0.0) / n)
    assert abs(s2 - var) < 4 * se_var, (s2, var)


def _lognormal_moments(mu, s):
    mean = math.exp(mu + s * s / 2)
    return mean, (math.exp(s * s) - 1) * math.exp(2 * mu + s * s)


@pytest.mark.parametrize("name,dist,mean,var", [
    ("normal", dsnn.random.normal(mean=5.0, std=1.0), 5.0, 1.0),
    ("normal_neg", dsnn.random.normal(mean=-3.0, std=2.5), -3.0, 6.25),
    ("uniform", dsnn.random.uniform(min=-2.0, max=3.0), 0.5, 25.0 / 12),
    ("lognormal", dsnn.random.lognormal(mean=0.5, std=0.4), *_lognormal_moments(0.5, 0.4)),
    ("lognormal_wide", dsnn.random.lognormal(mean=1.0, std=1.0), *_lognormal_moments(1.0, 1.0)),
    ("exponential", dsnn.random.exponential(beta=2.0), 2.0, 4.0),
])
def test_weight_distribution_moments(name, dist, mean, var):
    w = _weights(dist)
    assert np.unique(w).size > 0.9 * w.size  # one draw per synapse
    _check_moments(w, mean, var)
    if name == "uniform":
        assert w.min() >= -2.0 and w.max() <= 3.0
        ok, info = _chi2_ok(np.bincount(np.floor((w + 2.0) / 5.0 * 50).astype(int), minlength=50))
        assert ok, info
    if name in ("lognormal", "lognormal_wide", "exponential"):
        assert w.min() > 0
    if name.startswith("lognormal"):
        _check_moments(np.log(w), dist.p("mean"), dist.p("std") ** 2)
    if name == "exponential":  # P(w > beta) = 1/e
        p = math.exp(-1)
        assert abs((w > 2.0).mean() - p) < 4 * math.sqrt(p * (1 - p) / w.size)


def _truncnorm_moments(mu, s, lo, hi):
    a, b = (lo - mu) / s, (hi - mu) / s
    pa, pb = _phi(a) if math.isfinite(a) else 0.0, _phi(b) if math.isfinite(b) else 0.0
    Z = _Phi(b) - _Phi(a)
    ta = a * pa if math.isfinite(a) else 0.0
    tb = b * pb if math.isfinite(b) else 0.0
    mean = mu + s * (pa - pb) / Z
    var = s * s * (1 + (ta - tb) / Z - ((pa - pb) / Z) ** 2)
    return mean, var


@pytest.mark.parametrize("mu,s,lo,hi", [
    (5.0, 2.0, 4.0, 7.0),
    (0.0, 1.0, 1.0, math.inf),     # one-sided, rejects ~84%
    (1.0, 3.0, -math.inf, 0.5),
])
def test_redraw_is_truncated_normal(mu, s, lo, hi):
    dist = dsnn.math.redraw(dsnn.random.normal(mean=mu, std=s),
                            min=None if math.isinf(lo) else lo, max=None if math.isinf(hi) else hi)
    w = _weights(dist)
    assert w.min() >= lo and w.max() <= hi
    assert not np.any(w == lo) and not np.any(w == hi)  # redrawn, not clipped
    mean, var = _truncnorm_moments(mu, s, lo, hi)
    _check_moments(w, mean, var)


def test_redraw_of_other_distributions_respects_bounds():
    w = _weights(dsnn.math.redraw(dsnn.random.exponential(beta=1.0), min=0.5, max=2.0))
    assert w.min() >= 0.5 and w.max() <= 2.0
    # truncated exponential: mean of 0.5 + Exp(1) truncated to [0, 1.5]
    L = 1.5
    mean = 0.5 + 1 - L * math.exp(-L) / (1 - math.exp(-L))
    assert abs(w.mean() - mean) < 4 * w.std() / math.sqrt(w.size)
    w = _weights(dsnn.math.redraw(dsnn.random.lognormal(mean=0.0, std=1.0), min=0.5, max=1.5))
    assert w.min() >= 0.5 and w.max() <= 1.5


def test_clip_puts_tail_mass_at_the_bounds():
    lo, hi = 4.0, 7.5
    w = _weights(dsnn.math.clip(dsnn.random.normal(mean=5.0, std=1.0), min=lo, max=hi))
    n = w.size
    assert w.min() == lo and w.max() == hi
    for frac, p in (((w == lo).mean(), _Phi(-1.0)), ((w == hi).mean(), 1 - _Phi(2.5))):
        assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n), (frac, p)
    inner = w[(w > lo) & (w < hi)]
    assert abs(inner.size / n - (_Phi(2.5) - _Phi(-1.0))) < 4 * math.sqrt(0.25 / n)
    # clipped and unclipped draws coincide inside the bounds
    raw = _weights(dsnn.random.normal(mean=5.0, std=1.0))
    np.testing.assert_array_equal(np.sort(np.clip(raw, lo, hi)), np.sort(w))


@pytest.mark.parametrize("nest2,nest3", [
    ({"distribution": "normal", "mu": 5.0, "sigma": 1.0}, dsnn.random.normal(mean=5.0, std=1.0)),
    ({"distribution": "normal_clipped", "mu": 5.0, "sigma": 2.0, "low": 4.0, "high": 7.0},
     dsnn.math.redraw(dsnn.random.normal(mean=5.0, std=2.0), min=4.0, max=7.0)),
    ({"distribution": "normal_clipped_to_boundary", "mu": 5.0, "sigma": 1.0, "low": 4.0},
     dsnn.math.clip(dsnn.random.normal(mean=5.0, std=1.0), min=4.0)),
    ({"distribution": "lognormal", "mu": 0.5, "sigma": 0.4}, dsnn.random.lognormal(mean=0.5, std=0.4)),
    ({"distribution": "lognormal_clipped", "mu": 0.5, "sigma": 0.4, "high": 2.0},
     dsnn.math.redraw(dsnn.random.lognormal(mean=0.5, std=0.4), max=2.0)),
    ({"distribution": "exponential", "lambda": 0.5}, dsnn.random.exponential(beta=2.0)),
    ({"distribution": "uniform", "low": -2.0, "high": 3.0}, dsnn.random.uniform(min=-2.0, max=3.0)),
], ids=lambda v: v["distribution"] if isinstance(v, dict) else "")
def test_nest2_dict_equals_nest3_form(nest2, nest3):
    delay2 = {"distribution": "normal_clipped", "mu": 1.5, "sigma": 0.5, "low": 0.1, "high": 3.0}
    delay3 = dsnn.math.redraw(dsnn.random.normal(mean=1.5, std=0.5), min=0.1, max=3.0)
    spec = {"rule": "fixed_indegree", "indegree": 30}
    d2, _, _ = two_pops(spec, {"weight": nest2, "delay": delay2}, seed=777)
    d3, _, _ = two_pops(spec, {"weight": nest3, "delay": delay3}, seed=777)
    assert d2.weight.nunique() > 1000 and d2.delay.nunique() > 5
    assert d2.equals(d3)
    np.testing.assert_array_equal(d2.weight.to_numpy(), d3.weight.to_numpy())


# ===================================================================== delays
@pytest.mark.parametrize("dt", [0.1, 0.25])
@pytest.mark.parametrize("delay", [
    dsnn.math.redraw(dsnn.random.normal(mean=1.5, std=0.7), min=0.25, max=4.0),
    dsnn.math.clip(dsnn.random.exponential(beta=1.0), min=0.25),
    dsnn.random.uniform(min=0.25, max=3.0),
    dsnn.math.redraw(dsnn.random.lognormal(mean=0.0, std=0.5), min=0.25, max=5.0),
], ids=["redraw_normal", "clip_exponential", "uniform", "redraw_lognormal"])
def test_random_delays_on_grid_and_at_least_dt(dt, delay):
    df, A, B = two_pops({"rule": "fixed_indegree", "indegree": 20}, {"weight": 1.0, "delay": delay}, dt=dt)
    d = df.delay.to_numpy()
    steps = d / dt
    assert np.all(np.abs(steps - np.rint(steps)) < 1e-9)
    assert np.all(np.rint(steps) >= 1) and d.min() >= dt - 1e-12
    assert np.unique(np.rint(steps)).size >= 5  # really drawn per synapse
    lo, hi = delay.support()
    assert d.min() >= lo - dt / 2 - 1e-9 and d.max() <= hi + dt / 2 + 1e-9
    if delay.kind == "uniform":
        # rounded to the nearest step: P(k steps) = |[(k-1/2) dt, (k+1/2) dt] & [lo, hi]| / (hi - lo)
        k = np.rint(steps).astype(np.int64)
        ks = np.arange(int(lo / dt) - 1, int(hi / dt) + 2)
        prob = np.array([max(0.0, min(hi, (j + 0.5) * dt) - max(lo, (j - 0.5) * dt)) for j in ks]) / (hi - lo)
        assert set(np.unique(k)) <= set(ks[prob > 0])
        keep = prob > 0
        counts = np.array([(k == j).sum() for j in ks[keep]])
        expected = prob[keep] * k.size
        stat = float(((counts - expected) ** 2 / expected).sum())
        assert abs(stat - (counts.size - 1)) < 6 * math.sqrt(2 * (counts.size - 1)), stat


def test_constant_delay_and_weight():
    df, A, B = two_pops({"rule": "fixed_indegree", "indegree": 10}, {"weight": -2.5, "delay": 1.7})
    assert np.all(df.weight == -2.5)
    assert np.allclose(df.delay, 1.7, rtol=0, atol=1e-12)


# ====================================================== partition invariance
RULE_SPECS = {
    "one_to_one": {"rule": "one_to_one"},
    "all_to_all": {"rule": "all_to_all"},
    "fixed_indegree": {"rule": "fixed_indegree", "indegree": 25},
    "fixed_indegree_nomulti": {"rule": "fixed_indegree", "indegree": 25, "allow_multapses": False},
    "fixed_indegree_dense": {"rule": "fixed_indegree", "indegree": 180, "allow_multapses": False},
    "fixed_outdegree": {"rule": "fixed_outdegree", "outdegree": 25},
    "fixed_outdegree_nomulti": {"rule": "fixed_outdegree", "outdegree": 25, "allow_multapses": False},
    "fixed_outdegree_dense": {"rule": "fixed_outdegree", "outdegree": 180, "allow_multapses": False},
    "fixed_total_number": {"rule": "fixed_total_number", "N": 6000},
    "pairwise_bernoulli": {"rule": "pairwise_bernoulli", "p": 0.1},
}

W_DIST = dsnn.math.redraw(dsnn.random.normal(mean=5.0, std=2.0), min=0.0)
D_DIST = dsnn.math.clip(dsnn.random.exponential(beta=1.5), min=0.1, max=5.0)


def _invariance_network(spec, seed=SEED):
    """A (200) and B (300): A->B, B->B without autapses, view -> view, overlapping views; random weights/delays."""
    net = _net(seed)
    A = net.create("iaf_psc_exp", 200)
    B = net.create("iaf_psc_exp", 300)
    net.connect(A, B if spec["rule"] != "one_to_one" else B[0:200], spec,
                {"weight": W_DIST, "delay": D_DIST})
    net.connect(B[0:200], B[0:200], dict(spec, allow_autapses=False),
                {"weight": dsnn.random.uniform(min=-3.0, max=-1.0), "delay": 1.0})
    net.connect(A[10:200], B[50:240], spec, {"weight": 2.0, "delay": D_DIST})
    # pre and post overlapping in part (B[100:200] are both), without autapses
    net.connect(B[0:200], B[100:300], dict(spec, allow_autapses=False), {"weight": W_DIST, "delay": 1.0})
    return net


@pytest.mark.parametrize("name", list(RULE_SPECS))
def test_partition_invariance(name):
    spec = RULE_SPECS[name]
    net = _invariance_network(spec)
    ref_sim = net.build(partitions=1)
    ref = ref_sim.connections()
    assert len(ref) > 0 and ref.weight.nunique() > 100
    per_proj = [ref_sim.connections(p) for p in net.projections]
    assert sum(len(d) for d in per_proj) == len(ref)
    for partitions in (3, [100, 250, 150], [1, 498, 1], 7):
        sim = net.build(partitions=partitions)
        df = sim.connections()
        assert df.equals(ref), (name, partitions)
        for p, want in zip(net.projections, per_proj):
            assert sim.connections(p).equals(want), (name, partitions, p.index)


@pytest.mark.parametrize("name", list(RULE_SPECS))
def test_same_seed_same_network_other_seed_other_network(name):
    spec = RULE_SPECS[name]
    a = _invariance_network(spec, seed=1).build().connections()
    b = _invariance_network(spec, seed=1).build().connections()
    c = _invariance_network(spec, seed=2).build().connections()
    assert a.equals(b)
    assert not a.equals(c)
    # weights differ synapse by synapse, not just in order
    assert not np.array_equal(np.sort(a.weight.to_numpy()), np.sort(c.weight.to_numpy()))
    if name not in ("one_to_one", "all_to_all"):  # the structure itself is random
        pa = set(zip(a.source, a.target))
        pc = set(zip(c.source, c.target))
        assert pa != pc


def test_projections_are_drawn_independently():
    """Two identical connect calls draw different synapses (keyed by the projection)."""
    net = _net()
    A = net.create("iaf_psc_exp", 200)
    B = net.create("iaf_psc_exp", 300)
    spec = {"rule": "fixed_indegree", "indegree": 20}
    p1 = net.connect(A, B, spec, {"weight": W_DIST, "delay": 1.0})
    p2 = net.connect(A, B, spec, {"weight": W_DIST, "delay": 1.0})
    sim = net.build()
    d1, d2 = sim.connections(p1), sim.connections(p2)
    assert len(d1) == len(d2) == 20 * 300
    assert not d1[["source", "target"]].equals(d2[["source", "target"]])
    assert not np.array_equal(d1.weight.to_numpy(), d2.weight.to_numpy())


def test_partition_invariance_partial_overlap_half_indegree():
    """Targets inside and outside pre (n_eff differs by one) drawn on any partitioning."""
    net = _net()
    A = net.create("iaf_psc_exp", 200)
    net.connect(A[0:150], A[50:200], {"rule": "fixed_indegree", "indegree": 75,
                                      "allow_autapses": False, "allow_multapses": False})
    ref = net.build(partitions=1).connections()
    assert len(ref) == 75 * 150 and not ref.duplicated(["source", "target"]).any()
    assert net.build(partitions=[150, 50]).connections().equals(ref)


@pytest.mark.parametrize("autapses", [True, False])
def test_fixed_total_number_compiled_pass_draws_what_the_documented_expression_draws(autapses):
    """Connection i of fixed_total_number: target rng.integers(k, i, n_post, 0), source
    rng.integers(k, i, n_pre, 1), redrawn at counters 2, 3, ... while it equals the target (no
    autapses); the compiled pass keeps exactly the connections onto the asked target range."""
    from dsnn.construction.connectivity import draw_chunks
    from dsnn.construction.nodes import NodeIndex
    from dsnn.description.rules import parse_conn_spec

    k, N, first, n = rng.key(1, "conn", 0), 50_000, 10, 40  # one population: many autapse redraws
    rule = parse_conn_spec({"rule": "fixed_total_number", "N": N, "allow_autapses": autapses}, n, n, n)
    i = np.arange(N, dtype=np.uint64)
    tgt = first + rng.integers(k, i, n, 0)
    src = first + rng.integers(k, i, n, 1)
    c = 2
    bad = np.nonzero(src == tgt)[0] if not autapses else np.zeros(0, dtype=np.int64)
    while bad.size:
        src[bad] = first + rng.integers(k, i[bad], n, c)
        bad = bad[src[bad] == tgt[bad]]
        c += 1
    for t_lo, t_hi in ((first, first + n), (first + 7, first + 23)):
        side = NodeIndex([(first, n)])
        got = [np.concatenate(parts) for parts in zip(*draw_chunks(rule, k, side, side, t_lo, t_hi))]
        keep = (tgt >= t_lo) & (tgt < t_hi)
        np.testing.assert_array_equal(got[0], src[keep])
        np.testing.assert_array_equal(got[1], tgt[keep])
        np.testing.assert_array_equal(got[2], i[keep])
    assert autapses or not np.any(src == tgt)


def test_delays_in_steps_are_numpys_rounding_with_a_floor_of_one_step():
    """max(1, rint(delay / dt)) as NumPy computes it (half to even), compiled: random delays, exact halves
    of a step, and delays below one step."""
    from dsnn.construction.rows import steps_of_delays

    dt = 0.1
    rng_ = np.random.default_rng(3)
    d = np.concatenate([rng_.uniform(0.0, 20.0, 10_000), (np.arange(200) + 0.5) * dt, [0.0, 0.01, 0.049, 0.05]])
    out = np.empty(d.shape[0], dtype=np.int64)
    steps_of_delays(d, dt, out)
    np.testing.assert_array_equal(out, np.maximum(1, np.rint(d / dt)).astype(np.int64))
    assert out.min() == 1
