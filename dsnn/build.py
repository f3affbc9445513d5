"""Construction: turn the network description into the state of one partition.

:func:`build_partition` is what one construction task runs: it builds the
neurons a partition owns and draws their incoming synapses where they will
live, so synapses never move. Everything it draws is keyed by global ids
(:mod:`dsnn.rng`), hence the same for any decomposition.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from . import rng
from .connectivity import draw, draw_chunks
from .distributions import Distribution
from .kernels import FIXED_SCALE, count_rows, fill_rows, indegree_mark, indegree_pack
from .models import NEURON_KERNELS
from .network import TICS_PER_MS, Network, _tics
from .partition import CurrentInput, NeuronBlock, Partition, PoissonInput, SynapseGroup
from .sampling import sample

__all__ = ["build_partition", "owned_pieces", "steps_of"]

NEVER = np.iinfo(np.int64).max // 4
GUIDE_BUCKETS = 1024


def steps_of(ms: float, dt: float) -> int:
    """Whole steps in ``ms`` (rounded to the nearest step, as NEST's Time does); inf -> NEVER."""
    if math.isinf(ms):
        return NEVER
    return int(round(_tics(ms) / _tics(dt)))


def owned_pieces(net: Network, decomposition, p: int) -> list:
    """(population, first gid, stop gid) of the neurons partition ``p`` owns, in gid order."""
    a, b = decomposition.owned(p)
    pieces, offset = [], 0
    for pop in net.neuron_populations:
        lo, hi = max(a, offset), min(b, offset + pop.n)
        if lo < hi:
            pieces.append((pop, pop.first + lo - offset, pop.first + hi - offset))
        offset += pop.n
    return pieces


def _fixed(weight_values, homogeneous: bool):
    """Fixed-point weights: exact for a float64 scalar, exact for float32 per synapse."""
    if homogeneous:
        return np.int64(round(float(weight_values) * FIXED_SCALE))
    return (weight_values.astype(np.float32).astype(np.float64) * FIXED_SCALE).astype(np.int64)


def _poisson_table(rate_hz: float, dt: float) -> np.ndarray:
    """Cumulative Poisson probabilities for mean ``rate*dt``, ending with a sentinel > 1."""
    lam = rate_hz * dt * 1e-3
    if lam <= 0:
        return np.array([2.0])
    n_max = int(lam + 12.0 * math.sqrt(lam) + 40)
    k = np.arange(n_max + 1, dtype=np.float64)
    logp = -lam + k * math.log(lam) - np.array([math.lgamma(x + 1.0) for x in k])
    cdf = np.cumsum(np.exp(logp))
    return np.append(cdf, 2.0)


def _neuron_blocks(net: Network, pieces, local_gids):
    blocks, lo = [], 0
    for pop, g0, g1 in pieces:
        kernel = NEURON_KERNELS[pop.model]
        spec = pop.spec
        gids = np.arange(g0, g1, dtype=np.int64)
        scalars = {k: v for k, v in pop.params.items() if not spec.params[k].is_state}
        init = {name: sample(pop.params[name], rng.key(net.seed, "state:" + name), gids)
                for name in kernel.STATE}
        state = kernel.initial_state(init, scalars["E_L"])
        state["I0"] = np.zeros(gids.shape[0])
        state["ref"] = np.zeros(gids.shape[0], dtype=np.int64)
        blocks.append(NeuronBlock(
            model=kernel, params=scalars, const=kernel.constants(scalars, net.dt), state=state,
            lo=lo, hi=lo + gids.shape[0], ref_counts=steps_of(scalars["t_ref"], net.dt),
            rec_idx=np.zeros(0, dtype=np.int64), population=pop.index))
        lo += gids.shape[0]
    return blocks


@dataclass
class _InDegreeRows:
    """A fixed in-degree projection with multapses and homogeneous weight and delay.

    Its synapses are never materialised as (source, target) lists: the kernels
    draw them straight into their rows (see :func:`dsnn.kernels.indegree_pack`).
    """

    k: int
    targets: np.ndarray  # gids, contiguous
    self_index: np.ndarray
    local0: int
    delay: np.ndarray  # (1,) steps

    def mark_sources(self, proj, present):
        indegree_mark(np.uint64(self.k), self.targets, proj.rule.value, proj.pre.n, self.self_index,
                      proj.pre.first, present)


def _in_place_rows(net: Network, proj, pieces):
    """An :class:`_InDegreeRows` if ``proj`` qualifies and has targets here, else None."""
    if not (proj.kind == "synapse" and proj.rule.name == "fixed_indegree" and proj.rule.allow_multapses
            and proj.rule.value > 0 and not isinstance(proj.weight, Distribution)
            and not isinstance(proj.delay, Distribution)):
        return None
    for lo, t_lo, t_hi in _target_ranges(proj, pieces):  # a population is one piece: one range at most
        targets = np.arange(t_lo, t_hi, dtype=np.int64)
        pre = proj.pre
        inside = (not proj.rule.allow_autapses) & (targets >= pre.first) & (targets < pre.first + pre.n)
        return _InDegreeRows(rng.key(net.seed, "conn", proj.index), targets,
                             np.where(inside, targets - pre.first, -1), lo,
                             np.array([steps_of(proj.delay, net.dt)], dtype=np.int64))
    return None


def _draw_projection(net: Network, proj, pieces):
    """Connections of a generator projection onto the owned targets: (src_gid, tgt_local, key, weights, delays).

    ``key`` is None when nothing per connection is random.
    """
    srcs, tgts, keys = [], [], []
    kc = rng.key(net.seed, "conn", proj.index)
    need_keys = (proj.kind == "poisson" or isinstance(proj.weight, Distribution)
                 or isinstance(proj.delay, Distribution))
    for lo, t_lo, t_hi in _target_ranges(proj, pieces):
        s, t, k = draw(proj.rule, kc, proj.pre.first, proj.pre.n, proj.post.first, proj.post.n, t_lo, t_hi,
                       want_keys=need_keys)
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


def _target_ranges(proj, pieces):
    """(local index of t_lo, t_lo, t_hi) of each owned piece of ``proj``'s targets."""
    post, offset = proj.post, 0
    for pop, g0, g1 in pieces:
        t_lo, t_hi = max(g0, post.first), min(g1, post.first + post.n)
        if pop is post.root and t_lo < t_hi:
            yield t_lo - g0 + offset, t_lo, t_hi
        offset += g1 - g0


def _weights(net: Network, proj, key) -> np.ndarray:
    """Weights (pA, float64) of the synapses keyed ``key``, checked against the fixed-point range."""
    w = sample(proj.weight, rng.key(net.seed, "weight", proj.index), key)
    if w.size and np.abs(w).max() >= 2.0**31:
        raise ValueError(f"syn_spec: weight of projection {proj.index} drew {np.abs(w).max():.3g} pA; "
                         "weights must stay within ±2**31 pA (bound the distribution with dsnn.math.clip)")
    return w


def _delay_steps(net: Network, proj, key) -> np.ndarray:
    """Delays in whole steps (>= 1, int64) of the synapses keyed ``key``."""
    d = sample(proj.delay, rng.key(net.seed, "delay", proj.index), key)
    return np.maximum(1, np.rint(d / net.dt)).astype(np.int64)


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


def _slot_order(pre, local_gids) -> np.ndarray:
    """Indices (relative to ``pre.first``) of ``pre``'s gids in the order of their slots.

    Slots number the owned neurons first, then the images, then the
    devices, each in gid order; so the owned gids of ``pre`` come first,
    then the others. A projection's rows laid out in this order are in slot
    order whichever of the others turn out to be images.
    """
    a, b = np.searchsorted(local_gids, [pre.first, pre.first + pre.n])
    owned = local_gids[a:b] - pre.first
    others = np.ones(pre.n, dtype=bool)
    others[owned] = False
    return np.concatenate([owned, np.nonzero(others)[0]])


@dataclass
class _PackedRows:
    """A projection's synapses packed in rows of their sources, before the slots are numbered.

    ``sources`` (relative to ``first``) are the sources with synapses, in
    slot order, and ``counts`` their row lengths; :meth:`group` places the
    rows at their slots without moving a synapse.
    """

    first: int
    sources: np.ndarray
    counts: np.ndarray
    packed: np.ndarray
    packed_hi: np.ndarray
    dbits: int
    d0: int
    max_delay: int
    weights: np.ndarray | None

    def mark_sources(self, proj, present):
        present[self.first + self.sources] = True

    def group(self, proj, slot_of, n_slots) -> SynapseGroup:
        lengths = np.zeros(n_slots + 1, dtype=np.int64)
        lengths[slot_of[self.first + self.sources] + 1] = self.counts
        return SynapseGroup(
            projection=proj.index, row_ptr=_row_pointers(np.cumsum(lengths)), packed=self.packed,
            packed_hi=self.packed_hi, shift=np.uint64(self.dbits), dmask=np.uint64((1 << self.dbits) - 1),
            d0=self.d0, wfix=0 if self.weights is not None else int(_fixed(proj.weight, True)),
            weights=self.weights)


def _row_pointers(row_ptr: np.ndarray) -> np.ndarray:
    """``row_ptr`` as int32 where the synapse count allows."""
    return row_ptr.astype(np.int32) if row_ptr[-1] < 2**31 else row_ptr


def _pack_projection(net: Network, proj, pieces, local_gids) -> _PackedRows | None:
    """Draw a projection's synapses onto the owned targets straight into their rows.

    Two passes over the same chunks of :func:`draw_chunks`: the first counts
    each source's synapses (and draws random delays, kept in 8 or 16 bits
    where they fit, for the packing width), the second draws the weights and
    fills the rows. Only one chunk of synapses is ever held besides the
    result, so the construction peak stays close to the final size.
    """
    pre, dt = proj.pre, net.dt
    n_local = local_gids.shape[0]
    kc = rng.key(net.seed, "conn", proj.index)
    w_random, d_random = isinstance(proj.weight, Distribution), isinstance(proj.delay, Distribution)

    def chunks(want_keys):
        for lo, t_lo, t_hi in _target_ranges(proj, pieces):
            for src, tgt, key in draw_chunks(proj.rule, kc, pre.first, pre.n, proj.post.first, proj.post.n,
                                             t_lo, t_hi, want_keys=want_keys):
                yield src, tgt - (t_lo - lo), key

    counts = np.zeros(pre.n, dtype=np.int64)
    delays = []
    for src, _, key in chunks(d_random):
        count_rows(src, pre.first, counts)
        if d_random:
            d = _delay_steps(net, proj, key)
            delays.append(_compact(d))
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
    weights = np.empty(n, dtype=np.float32) if w_random else None
    order = _slot_order(pre, local_gids)
    fill = np.empty(pre.n, dtype=np.int64)
    fill[order] = np.cumsum(counts[order]) - counts[order]
    for (src, tgt, key), delay in zip(chunks(w_random), delays):
        w = _weights(net, proj, key).astype(np.float32) if w_random else _NO_WEIGHTS
        fill_rows(src, pre.first, fill, tgt, delay, dbits, d0, packed, packed_hi, w,
                  weights if w_random else _NO_WEIGHTS)
    sources = order[counts[order] > 0]
    return _PackedRows(pre.first, sources, counts[sources], packed, packed_hi, dbits, d0, d1, weights)


def _joined(parts):
    """``np.concatenate`` without the copy when there is one part."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _image_gids(net: Network, synaptic, local_gids) -> np.ndarray:
    """Sorted gids of the remote neurons that are sources of local synapses."""
    present = np.zeros(net.n_nodes + 1, dtype=bool)
    for proj, drawn in synaptic:
        if not proj.pre.spec.is_neuron:
            continue
        drawn.mark_sources(proj, present)
    present[local_gids] = False
    return np.nonzero(present)[0].astype(np.int64)


def _synapse_group(proj, drawn, slot_of, n_slots, n_local) -> SynapseGroup:
    if isinstance(drawn, _PackedRows):
        return drawn.group(proj, slot_of, n_slots)
    packed, packed_hi = _packed_words(drawn.targets.shape[0] * proj.rule.value, max(1, (n_local - 1).bit_length()))
    row_ptr = indegree_pack(np.uint64(drawn.k), drawn.targets, proj.rule.value, proj.pre.n, drawn.self_index,
                            proj.pre.first, slot_of, n_slots, drawn.local0, packed, packed_hi)
    return SynapseGroup(projection=proj.index, row_ptr=_row_pointers(row_ptr), packed=packed, packed_hi=packed_hi,
                        shift=np.uint64(0), dmask=np.uint64(0), d0=int(drawn.delay[0]),
                        wfix=int(_fixed(proj.weight, True)))


def _device_window(pop, dt, shift: int):
    """Active update steps [lo, hi) of a generator population: origin+start < n+shift <= origin+stop.

    ``shift`` is 0 for spike emitters and 2 for dc_generators, which is when
    NEST 3.10 sends their events (matched to its traces in the tests)."""
    p = pop.params
    lo = steps_of(p["origin"] + p["start"], dt) + 1 - shift
    hi = NEVER if math.isinf(p["stop"]) else steps_of(p["origin"] + p["stop"], dt) + 1 - shift
    return lo, hi


def build_partition(net: Network, decomposition, p: int) -> Partition:
    """Build partition ``p``: its neurons and all synapses onto them."""
    dt = net.dt
    interval = net.min_delay_steps
    pieces = owned_pieces(net, decomposition, p)
    local_gids = np.concatenate([np.arange(g0, g1, dtype=np.int64) for _, g0, g1 in pieces])
    n_local = local_gids.shape[0]
    blocks = _neuron_blocks(net, pieces, local_gids)

    spike_sources = [pop for pop in net.populations if pop.spec.kind == "spike_source"]
    source_gids = np.concatenate([np.arange(pop.first, pop.first + pop.n) for pop in spike_sources]
                                 ) if spike_sources else np.zeros(0, dtype=np.int64)

    synaptic, poisson, current = [], [], []
    spike_masks, voltmeters = {}, {}
    for proj in net.projections:
        if proj.kind == "record_spikes":
            mask = spike_masks.setdefault(proj.post.first, np.zeros(n_local, dtype=bool))
            mask |= (local_gids >= proj.pre.first) & (local_gids < proj.pre.first + proj.pre.n)
            continue
        if proj.kind == "record_vm":
            voltmeters.setdefault(proj.pre.first, []).append(proj.post)
            continue
        if proj.kind == "synapse":
            drawn = _in_place_rows(net, proj, pieces) or _pack_projection(net, proj, pieces, local_gids)
        else:
            drawn = _draw_projection(net, proj, pieces)
        if drawn is None:
            continue
        {"synapse": synaptic, "poisson": poisson, "current": current}[proj.kind].append((proj, drawn))

    # presynaptic slots: local neurons, then images of remote neurons, then devices
    image_gids = _image_gids(net, synaptic, local_gids)
    n_images = image_gids.shape[0]
    n_slots = n_local + n_images + source_gids.shape[0]
    slot_of = np.full(net.n_nodes + 1, -1, dtype=np.int32 if n_slots < 2**31 else np.int64)
    for i, gids in enumerate((local_gids, image_gids, source_gids)):
        first = (0, n_local, n_local + n_images)[i]
        slot_of[gids] = np.arange(first, first + gids.shape[0])

    groups = [_synapse_group(proj, drawn, slot_of, n_slots, n_local) for proj, drawn in synaptic]
    delays = [int(drawn.delay[0]) if isinstance(drawn, _InDegreeRows) else drawn.max_delay for _, drawn in synaptic]
    delays += [int(drawn[4].max()) for _, drawn in poisson + current]
    max_delay = max(delays + [interval])

    # spikes of spike_generators, known in advance: stamp S is emitted in update step S-1
    dev_steps, dev_slots = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for pop in spike_sources:
        prm = pop.params
        stamps = np.array([steps_of(t, dt) for t in prm["spike_times"]], dtype=np.int64)
        mult = np.array(prm["spike_multiplicities"] or [1] * len(stamps), dtype=np.int64)
        origin = steps_of(prm["origin"], dt)
        lo = origin + steps_of(prm["start"], dt)
        hi = NEVER if math.isinf(prm["stop"]) else origin + steps_of(prm["stop"], dt)
        keep = (stamps > lo) & (stamps <= hi)
        stamps = np.repeat(stamps[keep], mult[keep])
        for gid in range(pop.first, pop.first + pop.n):
            dev_steps.append(stamps - 1)
            dev_slots.append(np.full(stamps.shape[0], slot_of[gid], dtype=np.int64))
    dev_steps, dev_slots = np.concatenate(dev_steps), np.concatenate(dev_slots)
    order = np.argsort(dev_steps, kind="stable")

    poisson_input = _poisson_input(net, poisson) if poisson else None
    current_input = _current_input(net, current) if current else None

    # voltmeters: which neurons each block records
    vm_cols = {}
    for vgid, posts in voltmeters.items():
        for bi, blk in enumerate(blocks):
            gids = local_gids[blk.lo:blk.hi]
            sel = np.zeros(gids.shape[0], dtype=bool)
            for post in posts:
                sel |= (gids >= post.first) & (gids < post.first + post.n)
            if sel.any():
                vm_cols.setdefault(bi, {})[vgid] = np.nonzero(sel)[0]
    vm_layout = {}
    for bi, per_vm in vm_cols.items():
        rec = np.unique(np.concatenate(list(per_vm.values())))
        blocks[bi].rec_idx = rec
        for vgid, idx in per_vm.items():
            vm_layout.setdefault(vgid, []).append((bi, np.searchsorted(rec, idx),
                                                   local_gids[blocks[bi].lo + idx]))

    R = interval + max_delay + 1
    return Partition(
        index=p, interval=interval, local_gids=local_gids, image_gids=image_gids, blocks=blocks,
        groups=groups, ring_syn=np.zeros((R, 2, n_local), dtype=np.int64),
        ring_cur=np.zeros((R, n_local), dtype=np.int64), poisson=poisson_input,
        currents=current_input, device_steps=dev_steps[order], device_slots=dev_slots[order],
        spike_masks=spike_masks, voltmeters=vm_layout)


def _generator_index(proj_list, src_gid_arrays):
    """Per connection, the index of its generator population among ``proj_list``'s pre populations."""
    pops = []
    gen = []
    for (proj, _), src in zip(proj_list, src_gid_arrays):
        root = proj.pre.root
        if root not in pops:
            pops.append(root)
        gen.append(np.full(src.shape[0], pops.index(root), dtype=np.int64))
    return pops, np.concatenate(gen)


def _poisson_input(net: Network, poisson) -> PoissonInput:
    pops, gen = _generator_index(poisson, [d[0] for _, d in poisson])
    tables = [_poisson_table(pop.params["rate"], net.dt) for pop in pops]
    windows = [_device_window(pop, net.dt, 0) for pop in pops]
    streams = []
    for proj, (src, tgt, key, w, d) in poisson:
        k = rng.key(net.seed, "poisson", proj.index)
        with np.errstate(over="ignore"):
            streams.append(rng.mix(np.uint64(k) + key * np.uint64(rng.GAMMA)))
    wfix = np.concatenate([
        np.full(d[0].shape[0], _fixed(proj.weight, True)) if not isinstance(proj.weight, Distribution)
        else _fixed(d[3], False) for proj, d in poisson])
    lens = np.array([t.shape[0] for t in tables], dtype=np.int64)
    edges = np.arange(GUIDE_BUCKETS) / GUIDE_BUCKETS
    guide = np.stack([np.minimum(np.searchsorted(t, edges, side="right"), t.shape[0] - 1) for t in tables])
    return PoissonInput(
        target=np.concatenate([d[1] for _, d in poisson]).astype(np.int64), wfix=wfix.astype(np.int64),
        delay=np.concatenate([d[4] for _, d in poisson]), gen=gen, stream=np.concatenate(streams),
        active_lo=np.array([w[0] for w in windows], dtype=np.int64),
        active_hi=np.array([w[1] for w in windows], dtype=np.int64),
        cdf=np.concatenate(tables), cdf_start=np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64),
        cdf_len=lens, guide=guide.astype(np.int64))


def _current_input(net: Network, current) -> CurrentInput:
    pops, gen = _generator_index(current, [d[0] for _, d in current])
    windows = [_device_window(pop, net.dt, 2) for pop in pops]
    values = []
    for proj, (src, tgt, key, w, d) in current:
        amp = proj.pre.params["amplitude"]
        w = np.broadcast_to(np.asarray(w, dtype=np.float64), src.shape)
        if isinstance(proj.weight, Distribution):
            w = w.astype(np.float32).astype(np.float64)
        values.append(np.rint(w * amp * FIXED_SCALE).astype(np.int64))
    return CurrentInput(
        target=np.concatenate([d[1] for _, d in current]).astype(np.int64), value=np.concatenate(values),
        delay=np.concatenate([d[4] for _, d in current]), gen=gen,
        active_lo=np.array([w[0] for w in windows], dtype=np.int64),
        active_hi=np.array([w[1] for w in windows], dtype=np.int64))


def time_ms(stamps, dt: float):
    """Times in ms of step stamps, computed through tics as NEST does (exact for grid times)."""
    return (np.asarray(stamps, dtype=np.int64) * _tics(dt)) * (1.0 / TICS_PER_MS)
