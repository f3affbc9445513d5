"""The delivery log (events of synapses of several delays, added to the ring just before their step):
what it adds equals the synapse list, whatever its capacity, and the spikes do not depend on it."""

import numpy as np
import pytest

import dsnn
from dsnn.backends import cpu
from dsnn.backends import partition as part
from dsnn.backends.partition import SynapseGroup, _slot_groups, _synapse_tables

FIXED = 2.0**32


def _group(rng, index, n, n_slots, n_targets, delays, weighted):
    """A SynapseGroup of ``n`` random synapses (uint32 words, int64 rows) and its synapse list."""
    src = np.sort(rng.integers(0, n_slots, n))
    tgt = rng.integers(0, n_targets, n)
    delay = rng.integers(delays[0], delays[1] + 1, n)
    d0 = int(delays[0])
    dbits = int(delays[1] - d0).bit_length()
    words = ((tgt.astype(np.uint64) << np.uint64(dbits)) | (delay - d0).astype(np.uint64)).astype(np.uint32)
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n_slots))]).astype(np.int64)
    if weighted:
        weight = rng.normal(0.0, 40.0, n).astype(np.float32)
        g = SynapseGroup(index, row_ptr, words, dbits, (1 << dbits) - 1, d0, weights=weight)
        fx = (weight.astype(np.float64) * FIXED).astype(np.int64)
    else:
        wfix = int(round(-17.3 * FIXED))
        g = SynapseGroup(index, row_ptr, words, dbits, (1 << dbits) - 1, d0, wfix=wfix)
        fx = np.full(n, wfix, dtype=np.int64)
    return g, (src, tgt, delay, fx)


@pytest.mark.parametrize("capacity", [0, 3, 100_000])
def test_logged_delivery_adds_what_the_synapse_list_says(capacity):
    """Groups of one delay (ring), several delays with a common weight and with weights per synapse (log):
    after the log is applied the ring holds every synapse's weight at (emission + delay) % R, with a log
    too small for a slot (events go straight to the ring) or none at all."""
    rng = np.random.default_rng(3)
    n_slots, n_targets, R = 200, 700, 24
    made = [_group(rng, 0, 20_000, n_slots, n_targets, (3, 3), False),
            _group(rng, 1, 30_000, n_slots, n_targets, (1, 20), False),
            _group(rng, 2, 30_000, n_slots, n_targets, (2, 17), True)]
    groups = [g for g, _ in made]
    tables, slot_groups = _synapse_tables(groups), _slot_groups(groups)
    log = np.zeros((R, capacity), dtype=np.uint64)
    count, direct = np.zeros(R, dtype=np.int64), np.zeros(1, dtype=np.int64)
    common = np.array([g.wfix for g in groups], dtype=np.int64)
    ring = np.zeros((R, 2, n_targets), dtype=np.int64)
    expect = np.zeros_like(ring)
    events = 0
    for first in range(0, 3 * R, 1):  # a batch of spikes per step, applying each step's log before it
        cpu.apply_log(first, 1, log, count, common, ring)
        expect_step = expect[first % R].copy()
        np.testing.assert_array_equal(ring[first % R], expect_step)  # the step's row is complete
        ring[first % R] = expect[first % R] = 0  # the update took it
        spike_slots = rng.choice(n_slots, 6, replace=False)
        spike_steps = np.full(6, first + 1, dtype=np.int64)  # emitted this step, stamped one later
        for table, like_rows, like_words, _ in tables:
            events += cpu.deliver_table(spike_slots, spike_steps, *slot_groups, table, like_rows, like_words, log,
                                        count, direct, ring)
        for _, (src, tgt, delay, fx) in made:
            sel = np.isin(src, spike_slots)
            np.add.at(expect, ((first + 1 + delay[sel]) % R, (fx[sel] <= 0).astype(int), tgt[sel]), fx[sel])
    cpu.apply_log(0, R, log, count, common, ring)  # everything still logged
    np.testing.assert_array_equal(ring, expect)
    assert not count.any()
    assert events > 0
    if capacity == 3:
        assert direct[0] > 0  # the full log sent events to the ring
    else:
        assert direct[0] == 0


def _network():
    """Synapses of several delays with a common weight and with weights per synapse, and one delay."""
    net = dsnn.Network(seed=5, dt=0.1)
    A = net.create("iaf_psc_exp", 250, {"V_m": dsnn.random.uniform(-70.0, -55.0)})
    B = net.create("iaf_psc_alpha", 150)
    pg = net.create("poisson_generator", params={"rate": 15000.0})
    net.connect(pg, A, syn_spec={"weight": 75.0, "delay": 0.7})
    net.connect(pg, B, syn_spec={"weight": 90.0, "delay": 1.3})
    net.connect(A, B, {"rule": "pairwise_bernoulli", "p": 0.2},
                {"weight": dsnn.random.normal(40.0, 10.0), "delay": dsnn.random.uniform(0.5, 4.0)})
    net.connect(B, A, {"rule": "fixed_indegree", "indegree": 30},
                {"weight": -60.0, "delay": dsnn.math.redraw(dsnn.random.normal(2.0, 0.5), min=0.1)})
    net.connect(A, A, {"rule": "fixed_indegree", "indegree": 20}, {"weight": 20.0, "delay": 1.0})
    sr = net.create("spike_recorder")
    net.connect(A, sr)
    net.connect(B, sr)
    return net


def _spikes(partitions):
    sim = _network().build(partitions=partitions)
    sim.run(150.0)
    return sim.spikes().sort_values(["time", "sender"]).to_numpy(), sim.partitions


@pytest.mark.parametrize("first_capacity,max_bytes", [(1, 64 << 20), (1, 0)])
def test_spikes_do_not_depend_on_the_delivery_log(monkeypatch, first_capacity, max_bytes):
    """The same spikes with the default log, one that grows from a single event per slot, one that cannot
    grow (most events go straight to the ring) and none at all (the ring only), on 1 and 3 partitions."""
    reference, parts = _spikes(1)
    assert len(reference) > 500 and parts[0]._log.shape[1] > 0
    monkeypatch.setattr(part, "LOG_FIRST_CAPACITY", first_capacity)
    monkeypatch.setattr(part, "LOG_MAX_BYTES", max_bytes)
    monkeypatch.setattr(part, "LOG_MAX_RING_MULTIPLE", 1 if max_bytes else 0)
    for partitions in (1, 3):
        spikes, parts = _spikes(partitions)
        np.testing.assert_array_equal(spikes, reference)
        assert sum(p.log_overflows for p in parts) > 0
        grown = max(p._log.shape[1] for p in parts)
        assert grown > 1 if max_bytes else grown == 1
    monkeypatch.setattr(cpu, "LOG_TARGET_LIMIT", 0)  # no partition logs
    spikes, parts = _spikes(3)
    assert all(p._log.shape[1] == 0 for p in parts)
    np.testing.assert_array_equal(spikes, reference)


def test_rows_of_several_delays_are_ordered_by_delay_in_every_partition():
    """A partition orders each row of a non-plastic group of several delays by delay (a spike's synapses of
    one delay are logged as one run), on any partition count, and the synapses stay those drawn: the
    network's synapse list is the same on 1 and 3 partitions."""
    lists = []
    for partitions in (1, 3):
        sim = _network().build(partitions=partitions)
        several = 0
        for p in sim.partitions:
            for g in p.groups:
                if int(g.dmask) and not g.plastic:
                    slot, _, delay, _ = g.unpack()
                    same_row = np.diff(slot) == 0
                    assert (np.diff(delay)[same_row] >= 0).all()
                    several += int((np.diff(delay)[same_row] > 0).sum())
        assert several > 1000  # rows really hold several delays
        conns = sim.connections()
        lists.append(conns.sort_values(list(conns.columns)).to_numpy())
    np.testing.assert_array_equal(lists[0], lists[1])
