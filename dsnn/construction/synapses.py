"""A partition's incoming synapses, drawn where they will live.

Each projection is drawn onto the targets a partition owns (target-side:
:mod:`.connectivity`), keyed by global ids so that the synapses do not
depend on the partitioning, and packed straight into rows over the
presynaptic slots (:class:`~dsnn.backends.partition.SynapseGroup`): target
and delay in one word of 16, 24, 32 or 64 bits, weights one fixed-point
number per projection or a float32 per synapse.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..backends.cpu import FIXED_SCALE
from ..backends.partition import SynapseGroup
from ..backends.plasticity import RULES, STDP_COLUMNS
from ..description.distributions import Distribution
from ..description.network import Network
from ..description.timing import steps_of
from ..randomness import rng
from ..randomness.sampling import sample
from .connectivity import draw, draw_chunks
from .nodes import NodeIndex
from .rows import count_rows, fill_rows, indegree_mark, indegree_pack, steps_of_delays

__all__ = ["fixed_point", "in_place_rows", "pack_projection", "draw_projection", "target_ranges", "image_gids",
           "synapse_group", "InDegreeRows", "PackedRows", "KEEP_SHARE", "KEEP_PARTITION_SHARE"]


def fixed_point(weight_values, homogeneous: bool):
    """Fixed-point weights: exact for a float64 scalar, exact for float32 per synapse."""
    if homogeneous:
        return np.int64(round(float(weight_values) * FIXED_SCALE))
    return (weight_values.astype(np.float32).astype(np.float64) * FIXED_SCALE).astype(np.int64)


@dataclass
class InDegreeRows:
    """A fixed in-degree projection with multapses and homogeneous weight and delay.

    Its synapses are never materialised as (source, target) lists: the kernels
    draw them straight into their rows (see :func:`.rows.indegree_pack`).
    """

    k: int
    targets: np.ndarray  # gids, contiguous
    self_index: np.ndarray
    local0: int
    delay: np.ndarray  # (1,) steps
    pre_first: int  # the sources are gids pre_first .. pre_first + n_pre - 1

    def mark_sources(self, proj, present):
        indegree_mark(np.uint64(self.k), self.targets, proj.rule.value, proj.pre.n, self.self_index,
                      self.pre_first, present)


def in_place_rows(net: Network, proj, pieces):
    """An :class:`InDegreeRows` if ``proj`` qualifies and has targets here, else None.

    It qualifies with one weight and one delay, multapses allowed, sources
    that are consecutive gids and owned targets that are one run of
    consecutive local indices.
    """
    if not (proj.kind == "synapse" and proj.rule.name == "fixed_indegree" and proj.rule.allow_multapses
            and proj.rule.value > 0 and not isinstance(proj.weight, Distribution)
            and not isinstance(proj.delay, Distribution)):
        return None
    pre = NodeIndex.of(proj.pre)
    ranges = list(target_ranges(proj, pieces))
    if not pre.contiguous or len(ranges) != 1:
        return None
    lo, t_lo, t_hi = ranges[0]
    targets = np.arange(t_lo, t_hi, dtype=np.int64)
    self_index = pre.index(targets) if not proj.rule.allow_autapses else np.full(targets.shape, -1, np.int64)
    return InDegreeRows(rng.key(net.seed, "conn", proj.index), targets, self_index, lo,
                        np.array([steps_of(proj.delay, net.dt)], dtype=np.int64), pre.first)


def draw_projection(net: Network, proj, pieces):
    """Connections of a generator projection onto the owned targets: (src_gid, tgt_local, key, weights, delays).

    ``key`` is None when nothing per connection is random.
    """
    srcs, tgts, keys = [], [], []
    kc = rng.key(net.seed, "conn", proj.index)
    need_keys = (proj.kind == "poisson" or isinstance(proj.weight, Distribution)
                 or isinstance(proj.delay, Distribution))
    pre, post = NodeIndex.of(proj.pre), NodeIndex.of(proj.post)
    for lo, t_lo, t_hi in target_ranges(proj, pieces):
        s, t, k = draw(proj.rule, kc, pre, post, t_lo, t_hi, want_keys=need_keys)
        srcs.append(s)
        tgts.append(t - (t_lo - lo))  # gid -> local index
        keys.append(k)
    if not srcs or sum(s.shape[0] for s in srcs) == 0:
        return None
    src, tgt_local = _joined(srcs), _joined(tgts)
    key = _joined(keys) if need_keys else None
    w = _weights(net, proj, key) if isinstance(proj.weight, Distribution) else float(proj.weight)
    if isinstance(proj.delay, Distribution):
        delay = _delay_steps(net, proj, key)
    else:
        delay = np.full(src.shape[0], steps_of(proj.delay, net.dt), dtype=np.int64)
    return src, tgt_local, key, w, delay


def target_ranges(proj, pieces):
    """(local index of t_lo, t_lo, t_hi) of each run of ``proj``'s targets that the owned ``pieces``
    (``(population, g0, g1)``, in local order) hold: consecutive gids at consecutive local indices,
    runs that meet joined."""
    runs, offset = [], 0
    for pop, g0, g1 in pieces:
        for post in proj.post.pieces:
            t_lo, t_hi = max(g0, post.first), min(g1, post.first + post.n)
            if pop is post.root and t_lo < t_hi:
                lo = t_lo - g0 + offset
                if runs and runs[-1][2] == t_lo and runs[-1][0] + (runs[-1][2] - runs[-1][1]) == lo:
                    runs[-1][2] = t_hi
                else:
                    runs.append([lo, t_lo, t_hi])
        offset += g1 - g0
    return [tuple(r) for r in runs]


def _weights(net: Network, proj, key) -> np.ndarray:
    """Weights (pA, float64) of the synapses keyed ``key``, checked against the fixed-point range."""
    w = sample(proj.weight, rng.key(net.seed, "weight", proj.index), key)
    if w.size and np.abs(w).max() >= 2.0**31:
        raise ValueError(f"syn_spec: weight of projection {proj.index} drew {np.abs(w).max():.3g} pA; "
                         "weights must stay within ±2**31 pA (bound the distribution with dsnn.math.clip)")
    return w


def _delay_steps(net: Network, proj, key) -> np.ndarray:
    """Delays in whole steps (>= 1, int64) of the synapses keyed ``key``: max(1, rint(delay / dt))."""
    d = sample(proj.delay, rng.key(net.seed, "delay", proj.index), key)
    out = np.empty(d.shape[0], dtype=np.int64)
    steps_of_delays(d, float(net.dt), out)
    return out


def _packed_words(n: int, bits: int):
    """Storage for ``n`` packed words of ``bits`` bits: (words, high bytes).

    16 bits: uint16; 24: uint16 with a uint8 array of bits 16-23; 32: uint32; else uint64.
    """
    if bits <= 16:
        return np.empty(n, dtype=np.uint16), _NO_HIGH
    if bits <= 24:
        return np.empty(n, dtype=np.uint16), np.empty(n, dtype=np.uint8)
    return np.empty(n, dtype=np.uint32 if bits <= 32 else np.uint64), _NO_HIGH


_NO_HIGH = np.zeros(0, dtype=np.uint8)
_NO_WEIGHTS = np.zeros(0, dtype=np.float32)


def _compact(steps: np.ndarray) -> np.ndarray:
    """Non-negative ``steps`` in the narrowest of uint8, uint16 and int64 that holds them."""
    top = int(steps.max()) if steps.size else 0
    return steps.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.int64, copy=False)


def _slot_order(pre: NodeIndex, local_gids) -> np.ndarray:
    """Indices of ``pre``'s nodes in the order of their slots.

    Slots number the owned neurons first, then the images, then the
    devices, each in gid order; so the owned nodes of ``pre`` come first,
    then the others. A projection's rows laid out in this order are in slot
    order whichever of the others turn out to be images.
    """
    owned = pre.index(local_gids)
    owned = owned[owned >= 0]
    others = np.ones(pre.n, dtype=bool)
    others[owned] = False
    return np.concatenate([owned, np.nonzero(others)[0]])


@dataclass
class PackedRows:
    """A projection's synapses packed in rows of their sources, before the slots are numbered.

    ``sources`` are the gids of the sources with synapses, in slot order,
    and ``counts`` their row lengths; :meth:`group` places the rows at
    their slots without moving a synapse.
    """

    sources: np.ndarray
    counts: np.ndarray
    packed: np.ndarray
    packed_hi: np.ndarray
    dbits: int
    d0: int
    max_delay: int
    weights: np.ndarray | None

    def mark_sources(self, proj, present):
        present[self.sources] = True

    def group(self, proj, slot_of, n_slots) -> SynapseGroup:
        lengths = np.zeros(n_slots + 1, dtype=np.int64)
        lengths[slot_of[self.sources] + 1] = self.counts
        group = SynapseGroup(
            projection=proj.index, row_ptr=_row_pointers(np.cumsum(lengths)), packed=self.packed,
            packed_hi=self.packed_hi, shift=np.uint64(self.dbits), dmask=np.uint64((1 << self.dbits) - 1),
            d0=self.d0, wfix=0 if self.weights is not None else int(fixed_point(proj.weight, True)),
            weights=self.weights)
        if proj.plastic:  # a weight per synapse (float64, it changes) and traces per presynaptic slot
            params = dict(proj.synapse_params)
            if group.weights is None:
                group.weights = np.full(group.n, float(proj.weight))
            group.wfix = 0
            group.kplus, group.t_last, group.u_state = np.zeros(n_slots), np.zeros(n_slots), np.zeros(n_slots)
            if proj.synapse == "tsodyks2_synapse":  # U, tau_rec, tau_fac; x and u per slot from -1 ms on
                row = [RULES[proj.synapse], params["U"], params["tau_rec"], params["tau_fac"], 0.0, 0.0, 0.0]
                group.kplus[:], group.u_state[:], group.t_last[:] = params["x"], params["u"], -1.0
            else:
                params["rule"] = RULES[proj.synapse]
                if "mu" in params:  # stdp_pl_synapse_hom: its exponent where stdp_synapse's facilitation has one
                    params.update(mu_plus=params.pop("mu"), mu_minus=0.0, Wmax=0.0)
                row = [params[name] for name in STDP_COLUMNS]
            group.stdp = np.array(row, dtype=np.float64)
        return group


def _row_pointers(row_ptr: np.ndarray) -> np.ndarray:
    """``row_ptr`` as int32 where the synapse count allows."""
    return row_ptr.astype(np.int32) if row_ptr[-1] < 2**31 else row_ptr


def pack_projection(net: Network, proj, pieces, local_gids, keep_bytes: float = 0.0,
                    expected: float = 0.0) -> PackedRows | None:
    """Draw a projection's synapses onto the owned targets straight into their rows.

    Two passes over the same chunks of :func:`draw_chunks`: the first counts
    each source's synapses (and draws random delays, kept in 8 or 16 bits
    where they fit, for the packing width), the second fills the rows. Where
    the chunks take at most ``keep_bytes`` (and :data:`KEEP_SHARE` of the
    memory available), the first pass also draws the weights and keeps its
    chunks, sources and targets in 16 or 32 bits, so that the second reads
    them instead of drawing them again; otherwise the second draws them
    again (the same synapses either way) and only one chunk of synapses is
    held besides the result. ``expected``: the synapses the projection is
    expected to have here (the memory estimate's), which decides whether the
    first pass starts keeping.
    """
    dt = net.dt
    pre, post = NodeIndex.of(proj.pre), NodeIndex.of(proj.post)
    n_local = local_gids.shape[0]
    kc = rng.key(net.seed, "conn", proj.index)
    w_random, d_random = isinstance(proj.weight, Distribution), isinstance(proj.delay, Distribution)

    def chunks(want_keys):
        """(source index among ``pre`` + ``first``, target local index, key) of each chunk"""
        for lo, t_lo, t_hi in target_ranges(proj, pieces):
            for src, tgt, key in draw_chunks(proj.rule, kc, pre, post, t_lo, t_hi, want_keys=want_keys):
                yield (src if pre.contiguous else pre.index(src)), tgt - (t_lo - lo), key

    first = pre.first if pre.contiguous else 0  # what chunks' sources count from
    counts = np.zeros(pre.n, dtype=np.int64)
    delays = []
    w_dtype = np.float64 if proj.plastic else np.float32
    per_synapse = _narrow_bytes(pre.n) + _narrow_bytes(n_local) + (np.dtype(w_dtype).itemsize if w_random else 0)
    kept, kept_bytes = ([], 0) if 0 < per_synapse * expected <= keep_bytes else (None, 0)
    for src, tgt, key in chunks(d_random or (w_random and kept is not None)):
        count_rows(src, first, counts)
        if d_random:
            d = _delay_steps(net, proj, key)
            delays.append(_compact(d))
        if kept is not None:
            chunk = (_narrow(src - first, pre.n), _narrow(tgt, n_local),
                     _weights(net, proj, key).astype(w_dtype) if w_random else _NO_WEIGHTS)
            kept_bytes += sum(a.nbytes for a in chunk)
            if kept_bytes <= keep_bytes:
                kept.append(chunk)
            else:  # the second pass draws them again
                kept = None
    n = int(counts.sum())
    if n == 0:
        return None
    if d_random:
        d0 = min(int(d.min()) for d in delays if d.size)
        d1 = max(int(d.max()) for d in delays if d.size)
    else:
        d0 = d1 = steps_of(proj.delay, dt)
        delays = itertools.repeat(np.array([d0], dtype=np.int64))
    dbits = (d1 - d0).bit_length()
    packed, packed_hi = _packed_words(n, max(1, (n_local - 1).bit_length()) + dbits)
    weights = np.empty(n, dtype=w_dtype) if w_random else None
    order = _slot_order(pre, local_gids)
    fill = np.empty(pre.n, dtype=np.int64)
    fill[order] = np.cumsum(counts[order]) - counts[order]
    if kept is not None:  # the first pass's chunks, each let go once filled in
        drawn, first = _taken(kept), 0
    else:
        drawn = ((src, tgt, _weights(net, proj, key).astype(w_dtype) if w_random else _NO_WEIGHTS)
                 for src, tgt, key in chunks(w_random))
    for (src, tgt, w), delay in zip(drawn, delays):
        fill_rows(src, first, fill, tgt, delay, dbits, d0, packed, packed_hi, w,
                  weights if w_random else _NO_WEIGHTS)
    sources = order[counts[order] > 0]
    return PackedRows(pre.gids(sources), counts[sources], packed, packed_hi, dbits, d0, d1, weights)


#: a partition's :func:`pack_projection` calls keep their first pass's chunks for the second while they
#: take at most this share of the memory available when the projection starts
KEEP_SHARE = 0.25

#: ... and at most this share of the partition's expected size, so that the construction peak stays within
#: the memory estimate's PEAK_FACTOR of the final size
KEEP_PARTITION_SHARE = 0.2


def _narrow_type(top: int):
    return np.uint16 if top <= 2**16 else np.uint32 if top <= 2**32 else np.int64


def _narrow_bytes(top: int) -> int:
    return np.dtype(_narrow_type(top)).itemsize


def _narrow(values, top: int) -> np.ndarray:
    """Non-negative ``values`` below ``top`` as uint16 or uint32 where those hold ``top``, else int64."""
    return values.astype(_narrow_type(top), copy=False)


def _taken(items: list):
    """The items of ``items`` in order, each dropped from the list as it is handed out."""
    for i in range(len(items)):
        item, items[i] = items[i], None
        yield item


def _joined(parts):
    """``np.concatenate`` without the copy when there is one part."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def image_gids(net: Network, synaptic, local_gids) -> np.ndarray:
    """Sorted gids of the remote neurons that are sources of local synapses."""
    present = np.zeros(net.n_nodes + 1, dtype=bool)
    for proj, drawn in synaptic:
        if not proj.pre.is_neuron:
            continue
        drawn.mark_sources(proj, present)
    present[local_gids] = False
    return np.nonzero(present)[0].astype(np.int64)


def synapse_group(proj, drawn, slot_of, n_slots, n_local) -> SynapseGroup:
    if isinstance(drawn, PackedRows):
        return drawn.group(proj, slot_of, n_slots)
    packed, packed_hi = _packed_words(drawn.targets.shape[0] * proj.rule.value, max(1, (n_local - 1).bit_length()))
    row_ptr = indegree_pack(np.uint64(drawn.k), drawn.targets, proj.rule.value, proj.pre.n, drawn.self_index,
                            drawn.pre_first, slot_of, n_slots, drawn.local0, packed, packed_hi)
    return SynapseGroup(projection=proj.index, row_ptr=_row_pointers(row_ptr), packed=packed, packed_hi=packed_hi,
                        shift=np.uint64(0), dmask=np.uint64(0), d0=int(drawn.delay[0]),
                        wfix=int(fixed_point(proj.weight, True)))
