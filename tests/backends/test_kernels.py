"""CPU kernels: packed synapse words of every width deliver what the synapse list says."""

import numpy as np
import pytest

from dsnn.backends import cpu
from dsnn.construction import rows

FIXED = 2.0**32


def _synapses(rng, n, n_slots, n_targets, min_delay, max_delay):
    src = rng.integers(0, n_slots, n)
    tgt = rng.integers(0, n_targets, n)
    delay = rng.integers(min_delay, max_delay + 1, n)
    weight = rng.normal(0.0, 50.0, n).astype(np.float32)
    return src, tgt, delay, weight


def _pack(src, tgt, delay, weight, n_slots, words, high):
    """Rows by source with the two-pass kernels; returns row_ptr, packed words, weights in row order."""
    counts = np.zeros(n_slots, dtype=np.int64)
    rows.count_rows(src, 0, counts)
    row_ptr = np.concatenate([[0], np.cumsum(counts)])
    fill = row_ptr[:-1].copy()
    d0 = int(delay.min())
    dbits = int(delay.max() - d0).bit_length()
    out_w = np.empty_like(weight)
    rows.fill_rows(src, 0, fill, tgt, delay, dbits, d0, words, high, weight, out_w)
    return row_ptr, d0, dbits, out_w


@pytest.mark.parametrize("dtype,with_high,n_targets,min_delay,max_delay", [
    (np.uint16, False, 300, 1, 40),        # 9 + 6 bits
    (np.uint16, True, 5000, 1, 200),       # 13 + 8 bits: 24-bit words
    (np.uint32, False, 5000, 1, 200),
    (np.uint64, False, 5000, 1, 200),
    (np.uint16, False, 5000, 15, 15),      # one delay: the row-at-a-time path
    (np.uint16, True, 100_000, 7, 7),      # one delay, 17-bit targets
])
def test_delivery_of_every_word_width_matches_the_synapse_list(dtype, with_high, n_targets, min_delay, max_delay):
    rng = np.random.default_rng(7)
    n, n_slots, R = 50_000, 400, max_delay + 3
    src, tgt, delay, weight = _synapses(rng, n, n_slots, n_targets, min_delay, max_delay)
    words = np.empty(n, dtype=dtype)
    high = np.empty(n if with_high else 0, dtype=np.uint8)
    row_ptr, d0, dbits, w_rows = _pack(src, tgt, delay, weight, n_slots, words, high)
    spike_slots = rng.integers(0, n_slots, 300)
    spike_steps = rng.integers(0, 5 * R, 300)

    ring = np.zeros((R, 2, n_targets), dtype=np.int64)
    cpu.deliver_weighted(spike_slots, spike_steps, row_ptr, words, high, np.uint64(dbits),
                             np.uint64((1 << dbits) - 1), d0, w_rows, ring)
    # reference: every synapse of every spiking source, straight from the list
    expect = np.zeros_like(ring)
    for s, t in zip(spike_slots, spike_steps):
        sel = np.nonzero(src == s)[0]
        fx = (weight[sel].astype(np.float64) * FIXED).astype(np.int64)
        np.add.at(expect, ((t + delay[sel]) % R, (fx <= 0).astype(int), tgt[sel]), fx)
    assert np.array_equal(ring, expect)

    ring[:] = 0
    wfix = int(round(12.5 * FIXED))
    cpu.deliver_uniform(spike_slots, spike_steps, row_ptr, words, high, np.uint64(dbits),
                            np.uint64((1 << dbits) - 1), d0, wfix, ring)
    expect[:] = 0
    for s, t in zip(spike_slots, spike_steps):
        sel = np.nonzero(src == s)[0]
        np.add.at(expect, ((t + delay[sel]) % R, 0, tgt[sel]), wfix)
    assert np.array_equal(ring, expect)


def test_fill_rows_keeps_input_order_within_a_row():
    src = np.array([3, 1, 3, 0, 3, 1])
    tgt = np.array([10, 11, 12, 13, 14, 15])
    words = np.empty(6, dtype=np.uint16)
    row_ptr, d0, dbits, _ = _pack(src, tgt, np.array([1]), np.zeros(0, dtype=np.float32), 4, words,
                                  np.zeros(0, dtype=np.uint8))
    assert list(row_ptr) == [0, 1, 3, 3, 6]
    assert list(words) == [13, 11, 15, 10, 12, 14]


@pytest.mark.parametrize("dtype,with_high,n_targets,max_delay,row_mean,weighted", [
    (np.uint16, False, 300, 40, 300, True),     # counting sort: long rows, few delays
    (np.uint16, True, 5000, 200, 300, True),    # 24-bit words
    (np.uint32, False, 5000, 1000, 20, True),   # short rows among many delays: the pair sort
    (np.uint64, False, 5000, 60, 5, False),     # a common weight: no weights to move
])
def test_sort_rows_by_delay_orders_each_row_stably_and_keeps_its_synapses(dtype, with_high, n_targets, max_delay,
                                                                           row_mean, weighted):
    """Each row ends up ordered by delay; within one delay its synapses keep their order; words, high bytes
    and weights move together (each row holds the same (target, delay, weight) triples as before)."""
    rng = np.random.default_rng(11)
    n_slots = 400
    n = n_slots * row_mean
    src, tgt, delay, weight = _synapses(rng, n, n_slots, n_targets, 1, max_delay)
    tgt = np.arange(n) % n_targets  # targets ascend in input order: stability is visible
    words = np.empty(n, dtype=dtype)
    high = np.empty(n if with_high else 0, dtype=np.uint8)
    row_ptr, d0, dbits, w_rows = _pack(src, tgt, delay, weight, n_slots, words, high)
    dmask = (1 << dbits) - 1

    def triples():
        full = words.astype(np.uint64) | (high.astype(np.uint64) << np.uint64(16) if with_high else np.uint64(0))
        return (full >> np.uint64(dbits)).astype(np.int64), (full & np.uint64(dmask)).astype(np.int64), w_rows.copy()

    if not weighted:
        w_rows = np.zeros(0, dtype=np.float32)
    t_before, d_before, w_before = triples()
    moved = cpu.sort_rows_by_delay(row_ptr, words, high, np.uint64(dmask), w_rows)
    t_after, d_after, w_after = triples()
    assert 0 < moved <= n_slots
    for s in range(n_slots):
        a, b = row_ptr[s], row_ptr[s + 1]
        expect = np.lexsort((np.arange(b - a), d_before[a:b]))  # by delay, then by place: a stable sort
        np.testing.assert_array_equal(d_after[a:b], d_before[a:b][expect])
        np.testing.assert_array_equal(t_after[a:b], t_before[a:b][expect])
        if weighted:
            np.testing.assert_array_equal(w_after[a:b], w_before[a:b][expect])
    assert cpu.sort_rows_by_delay(row_ptr, words, high, np.uint64(dmask), w_rows) == 0  # sorted: nothing moves


@pytest.mark.parametrize("rate", [800.0, 12_000.0, 3.0e6])
def test_poisson_runs_draw_what_the_per_connection_kernel_draws(rate):
    """The run-wise Poisson kernel (one stretch of a ring row per run and step; short tables compared entry
    by entry, long ones by a one-step guide search, each with a scalar search for the rest) adds, bit for
    bit, what the per-connection inversion adds, for connections that break runs in every way: generator,
    delay, channel and non-consecutive targets; rates from a few to hundreds of counts per step (every bucket
    flagged)."""
    import dsnn

    net = dsnn.Network(seed=11, dt=0.1)
    a = net.create("iaf_psc_exp", 400)
    pg = net.create("poisson_generator", params={"rate": rate})
    pg2 = net.create("poisson_generator", params={"rate": rate / 3, "start": 2.0, "stop": 8.0})
    net.connect(pg, a[0:150], syn_spec={"weight": 10.0, "delay": 1.0})
    net.connect(pg, a[100:300], syn_spec={"weight": -30.0, "delay": 0.5})
    for piece in (a[0:50], a[60:120], a[119:200]):  # gaps and an overlap: targets not consecutive
        net.connect(pg2, piece, syn_spec={"weight": dsnn.random.normal(0.0, 20.0), "delay": 2.0})
    sim = net.build(partitions=1)
    pin = sim.partitions[0].poisson
    assert pin.run_start.shape[0] > 4 and pin.several.any()  # several runs; some flagged buckets
    assert (pin.compared > 0).all() if rate < 1e5 else (pin.compared == 0).all()  # short tables / the guide
    R = 40
    ring_runs, ring_each = (np.zeros((R, 2, 400), dtype=np.int64) for _ in range(2))
    for step in range(0, 120, 7):  # 7 steps a call, across the second generator's window
        pin.inject(step, 7, ring_runs)
        cpu.poisson_input(step, 7, pin.target, pin.wfix, pin.delay, pin.gen, pin.stream, pin.active_lo,
                          pin.active_hi, pin.cdf, pin.cdf_start, pin.cdf_len, pin.guide, ring_each)
    np.testing.assert_array_equal(ring_runs, ring_each)
    assert np.count_nonzero(ring_runs) > 0
