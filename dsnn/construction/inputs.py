"""Generator input of a partition: Poisson trains, dc currents and spike_generator schedules.

Devices are replicated on every partition; each partition keeps only the
connections onto its own neurons. Poisson counts are drawn while stepping,
from the counter-based generator keyed by each connection (so they do not
depend on the partitioning), by inversion of a cumulative table per
generator (:func:`poisson_table`).
"""

from __future__ import annotations

import math

import numpy as np

from ..backends.cpu import FIXED_SCALE
from ..backends.partition import CurrentInput, PoissonInput
from ..description.distributions import Distribution
from ..description.network import Network
from ..description.timing import NEVER, steps_of, window
from ..randomness import rng
from .synapses import fixed_point

__all__ = ["poisson_table", "poisson_input", "current_input", "device_window", "spike_schedule", "GUIDE_BUCKETS"]

#: buckets of the guide table that starts each inversion of a Poisson table
GUIDE_BUCKETS = 1024


def poisson_table(rate_hz: float, dt: float) -> np.ndarray:
    """Cumulative Poisson probabilities for mean ``rate*dt``, ending with a sentinel > 1."""
    lam = rate_hz * dt * 1e-3
    if lam <= 0:
        return np.array([2.0])
    n_max = int(lam + 12.0 * math.sqrt(lam) + 40)
    k = np.arange(n_max + 1, dtype=np.float64)
    logp = -lam + k * math.log(lam) - np.array([math.lgamma(x + 1.0) for x in k])
    cdf = np.cumsum(np.exp(logp))
    return np.append(cdf, 2.0)


def device_window(pop, dt, shift: int):
    """Active update steps [lo, hi) of a generator population: those with stamps ``n + 1 - shift`` in
    its window (:func:`~dsnn.description.timing.window`).

    ``shift`` is 0 for spike emitters and 2 for dc_generators, which is when
    NEST 3.10 sends their events (matched to its traces in the tests)."""
    lo, hi = window(pop.params, dt)
    return lo + 1 - shift, (NEVER if hi == NEVER else hi + 1 - shift)


def spike_schedule(net: Network, spike_sources, slot_of) -> tuple[np.ndarray, np.ndarray]:
    """(update steps, presynaptic slots) of every spike of the spike_generators ``spike_sources``, sorted
    by step: known in advance, a spike stamped S is emitted in update step S-1."""
    steps, slots = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for pop in spike_sources:
        prm = pop.params
        stamps = np.array([steps_of(t, net.dt) for t in prm["spike_times"]], dtype=np.int64)
        mult = np.array(prm["spike_multiplicities"] or [1] * len(stamps), dtype=np.int64)
        lo, hi = window(prm, net.dt)
        keep = (stamps > lo) & (stamps <= hi)
        stamps = np.repeat(stamps[keep], mult[keep])
        for gid in range(pop.first, pop.first + pop.n):
            steps.append(stamps - 1)
            slots.append(np.full(stamps.shape[0], slot_of[gid], dtype=np.int64))
    steps, slots = np.concatenate(steps), np.concatenate(slots)
    order = np.argsort(steps, kind="stable")
    return steps[order], slots[order]


def _generator_index(proj_list, src_gid_arrays):
    """Per connection, the index of its generator population among ``proj_list``'s pre populations
    (a projection from generators added, ``pg1 + pg2``, has several)."""
    pops = []
    gen = []
    for (proj, _), src in zip(proj_list, src_gid_arrays):
        index = np.empty(src.shape[0], dtype=np.int64)
        for piece in proj.pre.pieces:
            if piece.root not in pops:
                pops.append(piece.root)
            index[(src >= piece.first) & (src < piece.first + piece.n)] = pops.index(piece.root)
        gen.append(index)
    return pops, np.concatenate(gen)


def poisson_input(net: Network, poisson) -> PoissonInput:
    """The Poisson input of a partition from its ``(projection, drawn connections)`` of poisson_generators."""
    pops, gen = _generator_index(poisson, [d[0] for _, d in poisson])
    tables = [poisson_table(pop.params["rate"], net.dt) for pop in pops]
    windows = [device_window(pop, net.dt, 0) for pop in pops]
    streams = []
    for proj, (src, tgt, key, w, d) in poisson:
        k = rng.key(net.seed, "poisson", proj.index)
        with np.errstate(over="ignore"):
            streams.append(rng.mix(np.uint64(k) + key * np.uint64(rng.GAMMA)))
    wfix = np.concatenate([
        np.full(d[0].shape[0], fixed_point(proj.weight, True)) if not isinstance(proj.weight, Distribution)
        else fixed_point(d[3], False) for proj, d in poisson])
    lens = np.array([t.shape[0] for t in tables], dtype=np.int64)
    edges = np.arange(GUIDE_BUCKETS + 1) / GUIDE_BUCKETS
    # per bucket: the count of entries <= its lower edge (the guide), the entry past it, and whether the
    # bucket holds several entries (then one step past the guide may fall short)
    counts = [np.minimum(np.searchsorted(t, edges, side="right"), t.shape[0] - 1) for t in tables]
    guide = np.stack([c[:-1] for c in counts])
    threshold = np.stack([t[c[:-1]] for t, c in zip(tables, counts)])
    several = np.stack([(c[1:] - c[:-1]) >= 2 for c in counts]).astype(np.int64)
    target = np.concatenate([d[1] for _, d in poisson]).astype(np.int64)
    delay = np.concatenate([d[4] for _, d in poisson]).astype(np.int64)
    wfix = wfix.astype(np.int64)
    start, end = _runs(gen, target, delay, wfix)
    return PoissonInput(
        target=target, wfix=wfix, delay=delay, gen=gen, stream=np.concatenate(streams),
        active_lo=np.array([w[0] for w in windows], dtype=np.int64),
        active_hi=np.array([w[1] for w in windows], dtype=np.int64),
        cdf=np.concatenate(tables), cdf_start=np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64),
        cdf_len=lens, guide=guide.astype(np.int64), threshold=threshold, several=several,
        compared=np.array([compared_entries(t) for t in tables], dtype=np.int64),
        run_start=start, run_end=end, run_gen=gen[start], run_target=target[start], run_delay=delay[start],
        run_channel=(wfix[start] <= 0).astype(np.int64))


#: a Poisson table is compared entry by entry (cpu.poisson_runs) where this many leading entries hold all
#: but COMPARED_TAIL of the probability; longer tables use the guide table
COMPARED_MAX = 32
COMPARED_TAIL = 2.0**-10


def compared_entries(table: np.ndarray) -> int:
    """Leading entries of a cumulative Poisson ``table`` (ending with its sentinel) that u is compared
    with one by one: up to the first entry >= 1 - COMPARED_TAIL, at most the last index; 0 if more than
    COMPARED_MAX."""
    top = table.shape[0] - 1
    m = min(int(np.searchsorted(table, 1.0 - COMPARED_TAIL, side="left")) + 1, top)
    return m if m <= COMPARED_MAX else 0


def _runs(gen, target, delay, wfix):
    """(start, end) of the maximal runs of connections with one generator, delay and ring channel and
    consecutive targets (a run is one stretch of one ring row per step)."""
    n = target.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    channel = wfix <= 0
    breaks = ((gen[1:] != gen[:-1]) | (delay[1:] != delay[:-1]) | (channel[1:] != channel[:-1])
              | (target[1:] != target[:-1] + 1))
    start = np.concatenate([[0], np.nonzero(breaks)[0] + 1]).astype(np.int64)
    return start, np.append(start[1:], n).astype(np.int64)


def current_input(net: Network, current) -> CurrentInput:
    """The dc input of a partition from its ``(projection, drawn connections)`` of dc_generators."""
    pops, gen = _generator_index(current, [d[0] for _, d in current])
    windows = [device_window(pop, net.dt, 2) for pop in pops]
    values = []
    for proj, (src, tgt, key, w, d) in current:
        amp = np.empty(src.shape[0])
        for piece in proj.pre.pieces:
            amp[(src >= piece.first) & (src < piece.first + piece.n)] = piece.params["amplitude"]
        w = np.broadcast_to(np.asarray(w, dtype=np.float64), src.shape)
        if isinstance(proj.weight, Distribution):
            w = w.astype(np.float32).astype(np.float64)
        values.append(np.rint(w * amp * FIXED_SCALE).astype(np.int64))
    return CurrentInput(
        target=np.concatenate([d[1] for _, d in current]).astype(np.int64), value=np.concatenate(values),
        delay=np.concatenate([d[4] for _, d in current]), gen=gen,
        active_lo=np.array([w[0] for w in windows], dtype=np.int64),
        active_hi=np.array([w[1] for w in windows], dtype=np.int64))
