"""A partition's dynamic state as arrays keyed by neuron gid, and back onto any partition of the network.

A partition's synapses, inputs and schedules are functions of the network's
seed and the gids, so they are rebuilt, not saved. What changes as a run
goes on is saved by gid, so that it can be put back onto another
decomposition of the same network:

- ``step``: the update step the partition is at (every partition of a
  simulation is at the same step between runs);
- neuron state, per model: ``model.<name>.gids`` and ``model.<name>.<var>``
  for each of the model's ``KERNEL_STATE`` variables (refractory counts
  included);
- the input still in flight: ``ring_syn`` (rows, 2, neurons) and
  ``ring_cur`` (rows, neurons), fixed point, row ``k`` the input of update
  step ``step + k`` (the delivery log is added to the ring first);
- what was recorded: ``spikes.<recorder gid>.gids`` / ``.steps`` and
  ``vm.<voltmeter gid>.<k>.first`` / ``.V`` (steps x neurons x variables, V_m absolute)
  / ``.gids``;
- plastic synapses: ``plastic.<projection>.source`` / ``.target`` /
  ``.weight`` (by gids, in the order they were drawn within a pair) and
  ``.slot_gids`` / ``.kplus`` / ``.t_last`` / ``.u`` (per source), and their
  targets' spike histories ``post.gids`` / ``.n`` / ``.t`` / ``.k`` / ``.kminus`` /
  ``.last_spike``.

Poisson and current inputs keep no state (each draw is keyed by step and
connection), nor do the device spike schedules. Counters (spikes, bytes,
timers) start again from zero in a restored partition.
"""

from __future__ import annotations

import numpy as np

__all__ = ["capture", "restore", "voltage_chunks", "merged_voltage_chunks", "membrane_potentials", "state_values",
           "set_membrane_potentials", "FORMAT"]

#: version of the arrays' layout; a reader refuses another
FORMAT = 1


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _model_name(model) -> str:
    return model.__name__.rsplit(".", 1)[-1]


def _merged(chunks: list) -> list:
    """Consecutive voltage chunks ``(first, V, gids)`` of the same neurons joined into one."""
    runs: list = []  # [first, [values...], gids, next first]: joined once at the end (not chunk by chunk)
    for first, values, gids in chunks:
        if runs and runs[-1][3] == first and np.array_equal(runs[-1][2], gids):
            runs[-1][1].append(values)
            runs[-1][3] += values.shape[0]
        else:
            runs.append([first, [values], gids, first + values.shape[0]])
    return [(first, parts[0] if len(parts) == 1 else np.concatenate(parts), gids) for first, parts, gids, _ in runs]


def voltage_chunks(part, voltmeter_gid: int) -> list:
    """``(first step, values (steps, neurons, variables), gids)`` chunks the partition holds for a voltmeter or
    multimeter, its variables in the order it records them (V_m absolute): those restored from a checkpoint,
    then those it recorded."""
    chunks = list(part.restored_vm.get(voltmeter_gid, []))
    for bi, cols, gids in part.voltmeters.get(voltmeter_gid, []):
        blk = part.blocks[bi]
        is_vm = blk.rec_var[cols] == 0  # V_m, the first recordable of every model
        for first, values in part.recorded_vm.get(bi, []):
            got = values[:, cols]
            got[:, is_vm] = blk.model.membrane_potential(blk, got[:, is_vm])
            chunks.append((first, got, gids))
    return chunks


def merged_voltage_chunks(part, voltmeter_gid: int) -> list:
    """:func:`voltage_chunks` with consecutive chunks of the same neurons joined."""
    return _merged(voltage_chunks(part, voltmeter_gid))


def capture(part) -> dict:
    """The partition's dynamic state as host arrays (see the module docstring); adds its delivery log to
    its ring first (which changes nothing it will compute)."""
    part.flush_log()
    S = part.step
    R = part.ring_syn.shape[0]
    rows = (S + np.arange(R)) % R
    out = {"format": np.array([FORMAT]), "step": np.array([S], dtype=np.int64),
           "gids": np.asarray(part.local_gids, dtype=np.int64),
           "ring_syn": _host(part.ring_syn)[rows], "ring_cur": _host(part.ring_cur)[rows]}
    by_model: dict = {}
    for blk in part.blocks:
        by_model.setdefault(_model_name(blk.model), []).append(blk)
    for name, blocks in by_model.items():
        out[f"model.{name}.gids"] = np.concatenate([part.local_gids[b.lo:b.hi] for b in blocks])
        for var in blocks[0].model.KERNEL_STATE:
            out[f"model.{name}.{var}"] = np.concatenate([_host(b.state[var]) for b in blocks])
    out.update(_plastic_state(part))
    for rgid, chunks in part.recorded_spikes.items():
        out[f"spikes.{rgid}.gids"] = np.concatenate([g for g, _ in chunks]) if chunks else np.zeros(0, np.int64)
        out[f"spikes.{rgid}.steps"] = np.concatenate([s for _, s in chunks]) if chunks else np.zeros(0, np.int64)
    vgids = set(part.voltmeters) | set(part.restored_vm)
    for vgid in sorted(vgids):
        for k, (first, values, gids) in enumerate(merged_voltage_chunks(part, vgid)):
            out[f"vm.{vgid}.{k}.first"] = np.array([first], dtype=np.int64)
            out[f"vm.{vgid}.{k}.V"] = np.ascontiguousarray(values)
            out[f"vm.{vgid}.{k}.gids"] = np.asarray(gids, dtype=np.int64)
    return out


def _local(part, gids) -> tuple:
    """(positions in the partition's local order, mask of the gids it owns)."""
    pos = np.searchsorted(part.local_gids, gids)
    pos = np.minimum(pos, max(part.n_local - 1, 0))
    hit = part.local_gids[pos] == gids if part.n_local else np.zeros(gids.shape[0], dtype=bool)
    return pos, hit


def _owned_blocks(part, gids: np.ndarray):
    """``(block, positions in gids, offsets in the block)`` of each block holding some of ``gids``."""
    pos, hit = _local(part, gids)
    for blk in part.blocks:
        inside = hit & (pos >= blk.lo) & (pos < blk.hi)
        if inside.any():
            where = np.nonzero(inside)[0]
            yield blk, where, pos[where] - blk.lo


def state_values(part, gids: np.ndarray, name: str) -> tuple:
    """The value now of state variable ``name`` (one of the model's ``SPEC.recordables``; V_m absolute, in mV)
    of those of ``gids`` the partition owns: (their positions in ``gids``, values)."""
    where, values = [], []
    for blk, at, offsets in _owned_blocks(part, np.asarray(gids, dtype=np.int64)):
        model = blk.model
        array = _host(blk.state[model.RECORDED_STATE[model.SPEC.recordables.index(name)]])[offsets]
        where.append(at)
        values.append(np.asarray(model.membrane_potential(blk, array) if name == "V_m" else array, dtype=float))
    if not where:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(where), np.concatenate(values)


def membrane_potentials(part, gids: np.ndarray) -> tuple:
    """V_m (mV, absolute) now of those of ``gids`` the partition owns: (their positions in ``gids``,
    values). Some kernels keep ``V`` as V_m - E_L (``model.membrane_potential`` adds it back)."""
    return state_values(part, gids, "V_m")


def set_membrane_potentials(part, gids: np.ndarray, values: np.ndarray) -> int:
    """Set V_m (mV, absolute) of those of ``gids`` the partition owns to ``values`` (one per gid); returns
    how many it owns."""
    values = np.asarray(values, dtype=float)
    count = 0
    for blk, at, offsets in _owned_blocks(part, np.asarray(gids, dtype=np.int64)):
        offset = blk.model.membrane_potential(blk, 0.0)  # V_m of V = 0, i.e. E_L
        V = blk.state["V"]
        relative = values[at] - offset
        if part.gpu:
            from . import gpu

            V[gpu.cupy().asarray(offsets)] = gpu.cupy().asarray(relative)
        else:
            V[offsets] = relative
        count += at.shape[0]
    return count


def restore(part, saved: list) -> int:
    """Put the state of the neurons this partition owns, from ``saved`` (mappings such as :func:`capture`
    returns, from any decomposition of the same network), into ``part``, a partition just built at step 0.
    Returns how many of its neurons were found; raises ValueError where the pieces disagree or do not
    fit."""
    xp = np
    if part.gpu:
        from . import gpu

        xp = gpu.cupy()
    steps = {int(s["step"][0]) for s in saved}
    if len(steps) != 1:
        raise ValueError(f"the checkpoint's files are at different steps: {sorted(steps)}")
    S = steps.pop()
    R = part.ring_syn.shape[0]
    ring_syn, ring_cur = _host(part.ring_syn), _host(part.ring_cur)
    found = np.zeros(part.n_local, dtype=bool)
    for s in saved:
        if int(s["format"][0]) != FORMAT:
            raise ValueError(f"state format {int(s['format'][0])}, this dsnn reads {FORMAT}")
        pos, hit = _local(part, s["gids"])
        if not hit.any():
            continue
        found[pos[hit]] = True
        saved_syn, saved_cur = s["ring_syn"], s["ring_cur"]
        rows = min(R, saved_syn.shape[0])
        if saved_syn[rows:][..., hit].any() or saved_cur[rows:][..., hit].any():
            raise ValueError(f"input in flight {saved_syn.shape[0]} steps ahead does not fit this partition's "
                             f"ring of {R} steps")
        at = (S + np.arange(rows)) % R
        ring_syn[at[:, None], :, pos[hit][None, :]] = np.moveaxis(saved_syn[:rows][..., hit], 1, 2)
        ring_cur[at[:, None], pos[hit][None, :]] = saved_cur[:rows][..., hit]
        for blk in part.blocks:
            name = _model_name(blk.model)
            if f"model.{name}.gids" not in s:
                continue
            mpos, mhit = _local(part, s[f"model.{name}.gids"])
            sel = mhit & (mpos >= blk.lo) & (mpos < blk.hi)
            if not sel.any():
                continue
            for var in blk.model.KERNEL_STATE:
                values = s[f"model.{name}.{var}"][sel]
                blk.state[var][xp.asarray(mpos[sel] - blk.lo)] = xp.asarray(values)
        for key in s:
            if key.startswith("spikes.") and key.endswith(".gids"):
                rgid = int(key.split(".")[1])
                gids, stamps = s[key], s[f"spikes.{rgid}.steps"]
                keep = _local(part, gids)[1]
                if keep.any():
                    part.recorded_spikes.setdefault(rgid, []).append((gids[keep], stamps[keep]))
            elif key.startswith("vm.") and key.endswith(".gids"):
                _, vgid, k, _ = key.split(".")
                gids = s[key]
                keep = _local(part, gids)[1]
                if keep.any():
                    values = s[f"vm.{vgid}.{k}.V"]
                    values = values[..., None] if values.ndim == 2 else values  # V_m alone, as dsnn saved it before
                    part.restored_vm.setdefault(int(vgid), []).append(
                        (int(s[f"vm.{vgid}.{k}.first"][0]), values[:, keep], gids[keep]))
    if part.gpu:
        part.ring_syn[...] = xp.asarray(ring_syn)
        part.ring_cur[...] = xp.asarray(ring_cur)
    for chunks in part.recorded_spikes.values():  # in step order, as a run records them
        if len(chunks) > 1:
            gids, stamps = np.concatenate([g for g, _ in chunks]), np.concatenate([t for _, t in chunks])
            order = np.argsort(stamps, kind="stable")
            chunks[:] = [(gids[order], stamps[order])]
    _restore_plastic(part, saved)
    part.step = S
    return int(found.sum())


def _canonical(sources, targets) -> np.ndarray:
    """The order of synapses by target gid, then source gid, ties kept in row order (the order they were
    drawn in, the same on every decomposition): how a plastic group's synapses are matched across them."""
    return np.lexsort((sources, targets))


def _plastic_synapses(part, g) -> tuple:
    """(source gids, target gids, positions) of a plastic group's synapses, in canonical order."""
    slot, target, _, _ = g.unpack()
    slot_gids = np.concatenate([part.local_gids, part.image_gids])
    sources, targets = slot_gids[slot], np.asarray(part.local_gids)[target]
    order = _canonical(sources, targets)
    return sources[order], targets[order], order


def _plastic_state(part) -> dict:
    """The changing state of plastic synapses (``plastic.<projection>.*``: weights by source and target
    gid, K+ and last spike time by source gid) and the spike histories of their targets (``post.*``)."""
    out: dict = {}
    plastic = [g for g in part.groups if g.plastic]
    if not plastic:
        return out
    slot_gids = np.concatenate([part.local_gids, part.image_gids])
    for g in plastic:
        sources, targets, order = _plastic_synapses(part, g)
        rows = np.nonzero(np.diff(_host(g.row_ptr)) > 0)[0]
        key = f"plastic.{g.projection}"
        out.update({f"{key}.source": sources, f"{key}.target": targets, f"{key}.weight": _host(g.weights)[order],
                    f"{key}.slot_gids": slot_gids[rows], f"{key}.kplus": _host(g.kplus)[rows],
                    f"{key}.t_last": _host(g.t_last)[rows], f"{key}.u": _host(g.u_state)[rows]})
    post = part._post
    counts = post.n.copy()
    take = np.arange(post.t.shape[1])[None, :] < counts[:, None]
    out.update({"post.gids": np.asarray(part.local_gids, dtype=np.int64), "post.kminus": post.kminus.copy(),
                "post.last_spike": post.last_spike.copy(), "post.n": counts, "post.t": post.t[take],
                "post.k": post.k[take]})
    return out


def _assign(target, values) -> None:
    """``target[...] = values`` for a host or GPU array ``target`` and host ``values``."""
    if isinstance(target, np.ndarray):
        target[...] = values
    else:
        from . import gpu

        target[...] = gpu.cupy().asarray(values)


def _restore_plastic(part, saved: list) -> None:
    """Put saved plastic state (see :func:`_plastic_state`) into ``part``'s plastic groups and spike
    histories, matching synapses by their canonical order; ValueError where they do not match."""
    plastic = [g for g in part.groups if g.plastic]
    if not plastic:
        return
    local = np.asarray(part.local_gids)
    slot_gids = np.concatenate([local, part.image_gids])
    for g in plastic:
        key = f"plastic.{g.projection}"
        parts = [s for s in saved if f"{key}.source" in s]
        if not parts:
            raise ValueError(f"the checkpoint holds no state of plastic projection {g.projection}")
        src = np.concatenate([s[f"{key}.source"] for s in parts])
        tgt = np.concatenate([s[f"{key}.target"] for s in parts])
        w = np.concatenate([s[f"{key}.weight"] for s in parts])
        mine = _local(part, tgt)[1]
        src, tgt, w = src[mine], tgt[mine], w[mine]
        order = _canonical(src, tgt)
        sources, targets, positions = _plastic_synapses(part, g)
        if not (np.array_equal(src[order], sources) and np.array_equal(tgt[order], targets)):
            raise ValueError(f"the checkpoint's synapses of plastic projection {g.projection} differ from "
                             "this network's")
        weights = _host(g.weights).copy()
        weights[positions] = w[order]
        _assign(g.weights, weights)
        gids = np.concatenate([s[f"{key}.slot_gids"] for s in parts])
        kplus = np.concatenate([s[f"{key}.kplus"] for s in parts])
        t_last = np.concatenate([s[f"{key}.t_last"] for s in parts])
        u_state = np.concatenate([s[f"{key}.u"] for s in parts])
        gids, first = np.unique(gids, return_index=True)  # a source's traces are the same wherever it is
        rows = np.nonzero(np.diff(_host(g.row_ptr)) > 0)[0]
        at = np.searchsorted(gids, slot_gids[rows])
        if not np.array_equal(gids[np.minimum(at, gids.shape[0] - 1)], slot_gids[rows]):
            raise ValueError(f"the checkpoint lacks the traces of sources of plastic projection {g.projection}")
        for name, values in (("kplus", kplus), ("t_last", t_last), ("u_state", u_state)):
            whole = _host(getattr(g, name)).copy()
            whole[rows] = values[first][at]
            _assign(getattr(g, name), whole)
    post = part._post
    for s in saved:
        if "post.gids" not in s:
            continue
        pos, hit = _local(part, s["post.gids"])
        if not hit.any():
            continue
        counts, hit_counts = s["post.n"], s["post.n"][hit]
        starts = np.cumsum(counts) - counts
        post.ensure_capacity(int(hit_counts.max(initial=0)))
        rows = np.repeat(pos[hit], hit_counts)
        within = np.arange(int(hit_counts.sum())) - np.repeat(np.cumsum(hit_counts) - hit_counts, hit_counts)
        taken = np.repeat(starts[hit], hit_counts) + within
        post.t[rows, within] = s["post.t"][taken]
        post.k[rows, within] = s["post.k"][taken]
        post.n[pos[hit]] = hit_counts
        post.kminus[pos[hit]] = s["post.kminus"][hit]
        post.last_spike[pos[hit]] = s["post.last_spike"][hit]
    post.refresh_newest()
    if part.gpu:
        part._post_device.upload(post)
