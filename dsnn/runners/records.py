"""What partitions recorded, as pandas DataFrames: spikes, voltages, synapses, memory.

Partitions record chunks of arrays (gids and update steps, V_m samples);
these functions turn them into the tables :class:`~dsnn.runners.simulation.Simulation`
returns, the same for every runner: stamped and windowed as NEST does
(:mod:`dsnn.description.timing`), sorted, with population labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..description.network import Projection
from ..description.timing import steps_of, time_ms, window

__all__ = ["spikes_frame", "voltages_frame", "voltage_chunks", "connections_frame", "sorted_connections",
           "memory_totals", "label_spikes", "spike_recorders"]


def label_spikes(frame: pd.DataFrame, network) -> pd.DataFrame:
    """``frame`` (with a ``sender`` column of gids) with a categorical ``population`` column added."""
    pops = network.populations
    firsts = np.array([p.first for p in pops], dtype=np.int64)
    names = [p.name for p in pops]
    codes = np.searchsorted(firsts, frame["sender"].to_numpy(), side="right") - 1
    out = frame.copy()
    categories = list(dict.fromkeys(names))  # two populations may share a label
    code_of = np.array([categories.index(n) for n in names], dtype=np.int64)
    out["population"] = pd.Categorical.from_codes(code_of[codes], categories=categories)
    return out


def spike_recorders(network) -> list:
    """The network's spike_recorder populations, in creation order."""
    return [p for p in network.populations if p.model == "spike_recorder"]


def spikes_frame(chunks, params: dict, dt: float) -> pd.DataFrame:
    """Spikes from (gids, update steps) chunks, stamped step+1, within the recorder's window."""
    if chunks:
        gids = np.concatenate([g for g, _ in chunks])
        stamps = np.concatenate([s for _, s in chunks]) + 1
    else:
        gids = stamps = np.zeros(0, dtype=np.int64)
    lo, hi = window(params, dt)
    keep = (stamps > lo) & (stamps <= hi)
    gids, stamps = gids[keep], stamps[keep]
    order = np.lexsort((gids, stamps))
    return pd.DataFrame({"sender": gids[order].astype(np.int64), "time": time_ms(stamps[order], dt)})


def voltage_chunks(part, voltmeter_gid: int) -> list:
    """(first step, values (steps, neurons, variables), gids) chunks a partition holds for a voltmeter or
    multimeter (restored from a checkpoint, then recorded)."""
    from ..backends.state import voltage_chunks as chunks

    return chunks(part, voltmeter_gid)


def voltages_frame(chunks, params: dict, dt: float, names: tuple = ("V_m",)) -> pd.DataFrame:
    """Samples from (first update step, values (steps, neurons, variables), gids) chunks: columns sender, time
    and one per recorded variable (``names``, in order).

    The state after update step n is stamped n+1; a voltmeter or multimeter
    samples the stamps that are multiples of its interval within its window.
    """
    every = steps_of(params["interval"], dt)
    lo, hi = window(params, dt)
    senders, stamps, values = [], [], []
    for first, vals, gids in chunks if names else ():  # a multimeter told to record nothing records nothing
        st = first + 1 + np.arange(vals.shape[0])
        rows = np.nonzero((st % every == 0) & (st > lo) & (st <= hi))[0]
        if rows.size == 0:
            continue
        senders.append(np.tile(gids, rows.size))
        stamps.append(np.repeat(st[rows], gids.shape[0]))
        values.append(vals[rows].reshape(-1, len(names)))
    if senders:
        s, t, v = np.concatenate(senders), np.concatenate(stamps), np.concatenate(values)
    else:
        s = t = np.zeros(0, dtype=np.int64)
        v = np.zeros((0, len(names)))
    order = np.lexsort((s, t))
    frame = {"sender": s[order].astype(np.int64), "time": time_ms(t[order], dt)}
    frame.update({name: v[order, j] for j, name in enumerate(names)})
    return pd.DataFrame(frame)


def check_projection(network, projection) -> int | None:
    """The index of ``projection`` (None for all), refused unless it is one of ``network``'s (in the
    process that made it: a network sent to workers is a copy)."""
    if projection is None:
        return None
    if not (isinstance(projection, Projection) and projection.pre.network is network):
        raise ValueError(f"connections: projection must be a Projection of this network "
                         f"(returned by net.connect), got {projection!r}")
    return projection.index


def connections_frame(partitions, network, projection: int | None = None) -> pd.DataFrame:
    """All synapses as (source, target, weight, delay), sorted; optionally of the projection of index
    ``projection`` (see :func:`check_projection`)."""
    cols = {"source": [], "target": [], "weight": [], "delay": []}
    want = projection
    for part in partitions:
        slot_gids = np.concatenate([part.local_gids, part.image_gids, _device_gids(network)])
        for g in part.groups:
            if want is not None and g.projection != want:
                continue
            slot, target, delay, weight = g.unpack()
            cols["source"].append(slot_gids[slot])
            cols["target"].append(part.local_gids[target])
            cols["weight"].append(weight)
            cols["delay"].append(time_ms(delay, network.dt))
    data = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
    return sorted_connections(pd.DataFrame(data).astype({"source": np.int64, "target": np.int64}))


def sorted_connections(df: pd.DataFrame) -> pd.DataFrame:
    """Synapses in dsnn's canonical order (source, target, delay, weight), whatever partition held them."""
    return df.sort_values(["source", "target", "delay", "weight"], ignore_index=True)


def memory_totals(nbytes_per_partition, n_synapses: int) -> dict:
    """Bytes held by all partitions, by kind (summed ``Partition.nbytes()`` dicts), and bytes per synapse."""
    total: dict = {}
    for nbytes in nbytes_per_partition:
        for k, v in nbytes.items():
            total[k] = total.get(k, 0) + v
    total["bytes_per_synapse"] = sum(total.values()) / max(1, n_synapses)
    return total


def _device_gids(network) -> np.ndarray:
    pops = [p for p in network.populations if p.spec.kind == "spike_source"]
    if not pops:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(p.first, p.first + p.n, dtype=np.int64) for p in pops])
