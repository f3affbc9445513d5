"""Construction of one partition: its neurons and their incoming synapses, where they will live.

:func:`build_partition` is what one construction task runs. Everything it
draws is keyed by global ids (:mod:`dsnn.randomness.rng`), hence the same
for any decomposition; no synapse is ever moved after it is drawn.
"""

from __future__ import annotations

import time

import numpy as np

from ..backends.partition import NeuronBlock, Partition
from ..description.network import Network
from ..description.timing import steps_of, tics
from ..models import NEURON_MODELS
from ..models.devices import recorded_variables
from ..randomness import rng
from ..randomness.sampling import sample
from . import estimate
from .inputs import current_input, poisson_input, spike_schedule
from .synapses import (
    KEEP_PARTITION_SHARE,
    KEEP_SHARE,
    InDegreeRows,
    draw_projection,
    image_gids,
    in_place_rows,
    pack_projection,
    synapse_group,
)

__all__ = ["build_partition", "neuron_blocks"]


def neuron_blocks(net: Network, pieces) -> list:
    """One :class:`~dsnn.backends.partition.NeuronBlock` per owned piece ``(population, g0, g1)``, in
    the order of the pieces, with its initial state drawn per neuron gid."""
    blocks, lo = [], 0
    for pop, g0, g1 in pieces:
        model = NEURON_MODELS[pop.model]
        spec = pop.spec
        gids = np.arange(g0, g1, dtype=np.int64)
        scalars = {k: v for k, v in pop.params.items() if not spec.params[k].is_state}
        init = {name: sample(pop.params[name], rng.key(net.seed, "state:" + name), gids)
                for name in model.STATE}
        state = model.initial_state(init, scalars)
        state["I0"] = np.zeros(gids.shape[0])
        state["ref"] = np.zeros(gids.shape[0], dtype=np.int64)
        blocks.append(NeuronBlock(
            model=model, params=scalars, const=model.constants(scalars, net.dt), state=state,
            lo=lo, hi=lo + gids.shape[0], ref_counts=steps_of(scalars.get("t_ref", 0.0), net.dt),  # none: 0
            rec_idx=np.zeros(0, dtype=np.int64), population=pop.index))
        lo += gids.shape[0]
    return blocks


def _voltmeter_layout(blocks, local_gids, voltmeters: dict) -> dict:
    """Set each block's recorded columns (``rec_idx``, the neuron, and ``rec_var``, the variable: its index in
    the model's recordables) and return, per voltmeter or multimeter gid, its ``(block index, columns
    (neurons, variables), gids)``. ``voltmeters``: gid -> (the variables it records, the populations it
    records from)."""
    columns: dict = {}
    for vgid, (names, posts) in voltmeters.items():
        for bi, blk in enumerate(blocks if names else ()):
            gids = local_gids[blk.lo:blk.hi]
            sel = np.zeros(gids.shape[0], dtype=bool)
            for post in posts:
                for first, n in post.spans:
                    sel |= (gids >= first) & (gids < first + n)
            if sel.any():
                var = np.array([blk.model.SPEC.recordables.index(name) for name in names], dtype=np.int64)
                columns.setdefault(bi, {})[vgid] = (np.nonzero(sel)[0], var)
    layout: dict = {}
    for bi, per_vm in columns.items():
        n = blocks[bi].hi - blocks[bi].lo
        keys = np.unique(np.concatenate([(var[None, :] * n + idx[:, None]).ravel() for idx, var in per_vm.values()]))
        blocks[bi].rec_idx, blocks[bi].rec_var = keys % n, keys // n
        for vgid, (idx, var) in per_vm.items():
            cols = np.searchsorted(keys, var[None, :] * n + idx[:, None])
            layout.setdefault(vgid, []).append((bi, cols, local_gids[blocks[bi].lo + idx]))
    return layout


def build_partition(net: Network, decomposition, p: int) -> Partition:
    """Build partition ``p`` of ``decomposition``: its neurons and all synapses onto them (the seconds it
    took in ``build_seconds``)."""
    t0 = time.perf_counter()
    interval = net.min_delay_steps
    pieces = decomposition.populations_of(net, p)
    local_gids = decomposition.local_gids(p)
    n_local = local_gids.shape[0]
    blocks = neuron_blocks(net, pieces)
    keep_bytes = KEEP_PARTITION_SHARE * estimate.one_partition_bytes(net, decomposition, p)["bytes"]

    spike_sources = [pop for pop in net.populations if pop.spec.kind == "spike_source"]
    source_gids = np.concatenate([np.arange(pop.first, pop.first + pop.n) for pop in spike_sources]
                                 ) if spike_sources else np.zeros(0, dtype=np.int64)

    synaptic, poisson, current = [], [], []
    spike_masks, voltmeters = {}, {}
    for proj in net.projections:
        if proj.kind == "record_spikes":
            mask = spike_masks.setdefault(proj.post.first, np.zeros(n_local, dtype=bool))
            for first, n in proj.pre.spans:
                mask |= (local_gids >= first) & (local_gids < first + n)
            continue
        if proj.kind == "record_vm":
            voltmeters.setdefault(proj.pre.first, (recorded_variables(proj.pre.pieces[0]), []))[1].append(proj.post)
            continue
        if proj.kind == "synapse":
            drawn = (None if proj.plastic else in_place_rows(net, proj, pieces)) or \
                pack_projection(net, proj, pieces, local_gids,
                                min(keep_bytes, KEEP_SHARE * estimate.host_available_bytes()),
                                estimate.expected_synapses(proj, pieces))
        else:
            drawn = draw_projection(net, proj, pieces)
        if drawn is None:
            continue
        {"synapse": synaptic, "poisson": poisson, "current": current}[proj.kind].append((proj, drawn))

    # presynaptic slots: local neurons, then images of remote neurons, then devices
    images = image_gids(net, synaptic, local_gids)
    n_images = images.shape[0]
    n_slots = n_local + n_images + source_gids.shape[0]
    slot_of = np.full(net.n_nodes + 1, -1, dtype=np.int32 if n_slots < 2**31 else np.int64)
    for first, gids in ((0, local_gids), (n_local, images), (n_local + n_images, source_gids)):
        slot_of[gids] = np.arange(first, first + gids.shape[0])

    groups = [synapse_group(proj, drawn, slot_of, n_slots, n_local) for proj, drawn in synaptic]
    delays = [int(drawn.delay[0]) if isinstance(drawn, InDegreeRows) else drawn.max_delay for _, drawn in synaptic]
    delays += [int(drawn[4].max()) for _, drawn in poisson + current]
    max_delay = max(delays + [interval])
    device_steps, device_slots = spike_schedule(net, spike_sources, slot_of)

    R = interval + max_delay + 1
    return Partition(
        index=p, interval=interval, local_gids=local_gids, image_gids=images, blocks=blocks,
        groups=groups, ring_syn=np.zeros((R, 2, n_local), dtype=np.int64),
        ring_cur=np.zeros((R, n_local), dtype=np.int64),
        poisson=poisson_input(net, poisson) if poisson else None,
        currents=current_input(net, current) if current else None,
        device_steps=device_steps, device_slots=device_slots,
        spike_masks=spike_masks, voltmeters=_voltmeter_layout(blocks, local_gids, voltmeters),
        build_seconds=time.perf_counter() - t0, tics_per_step=tics(net.dt))
