"""Recorded data as pandas DataFrames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .build import NEVER, steps_of, time_ms

__all__ = ["spikes_frame", "voltages_frame", "voltage_chunks", "connections_frame", "sorted_connections",
           "memory_totals", "population_name", "label_spikes", "spike_recorders", "recorded_neurons",
           "population_rates", "recording_ms", "save_run", "load_run"]


def population_name(pop) -> str:
    """A population's label, or ``<model>-<index>`` where it has none."""
    root = pop.root
    return root.label or f"{root.model}-{root.index}"


def label_spikes(frame: pd.DataFrame, network) -> pd.DataFrame:
    """``frame`` (with a ``sender`` column of gids) with a categorical ``population`` column added."""
    pops = network.populations
    firsts = np.array([p.first for p in pops], dtype=np.int64)
    names = [population_name(p) for p in pops]
    codes = np.searchsorted(firsts, frame["sender"].to_numpy(), side="right") - 1
    out = frame.copy()
    categories = list(dict.fromkeys(names))  # two populations may share a label
    code_of = np.array([categories.index(n) for n in names], dtype=np.int64)
    out["population"] = pd.Categorical.from_codes(code_of[codes], categories=categories)
    return out


def spike_recorders(network) -> list:
    """The network's spike_recorder populations, in creation order."""
    return [p for p in network.populations if p.model == "spike_recorder"]


def recorded_neurons(network) -> dict:
    """Population name -> number of its neurons recorded by any spike_recorder (recorded populations only)."""
    gids: dict = {}
    for proj in network.projections:
        if proj.kind == "record_spikes":
            pre = proj.pre
            gids.setdefault(population_name(pre), []).append(np.arange(pre.first, pre.first + pre.n))
    return {name: int(np.unique(np.concatenate(g)).shape[0]) for name, g in gids.items()}


def recording_ms(network, t_ms: float) -> dict:
    """Population name -> ms of the first ``t_ms`` of simulated time during which a spike_recorder
    recorded it (its recorders' ``origin + start`` to ``origin + stop`` windows, spanned)."""
    T = steps_of(t_ms, network.dt)
    span: dict = {}
    for proj in network.projections:
        if proj.kind == "record_spikes":
            lo, hi = _window(proj.post.root.params, network.dt)
            lo, hi = max(lo, 0), min(hi, T)
            name = population_name(proj.pre)
            a, b = span.get(name, (lo, hi))
            span[name] = (min(a, lo), max(b, hi))
    return {name: max(hi - lo, 0) * network.dt for name, (lo, hi) in span.items()}


def population_rates(spikes: pd.DataFrame, network, t_ms: float) -> dict:
    """Population name -> mean rate (spikes/s) of its recorded neurons over the part of the first
    ``t_ms`` of simulated time during which they were recorded (NaN where that is empty).

    ``spikes`` has ``sender`` and ``population`` columns; a spike recorded by
    two recorders counts once. A recorder with ``start=500.0`` thus gives
    rates without the first 500 ms, as NEST's examples compute them.
    """
    if t_ms <= 0:
        raise ValueError(f"t_ms must be positive, got {t_ms!r}")
    counts = spikes.drop_duplicates(["sender", "time"])["population"].value_counts()
    window = recording_ms(network, t_ms)
    return {name: float(counts.get(name, 0)) / n / (window[name] / 1000.0) if window[name] > 0 else float("nan")
            for name, n in recorded_neurons(network).items()}


def _window(params: dict, dt: float) -> tuple[int, int]:
    origin = steps_of(params["origin"], dt)
    lo = origin + steps_of(params["start"], dt)
    hi = NEVER if np.isinf(params["stop"]) else origin + steps_of(params["stop"], dt)
    return lo, hi


def spikes_frame(chunks, params: dict, dt: float) -> pd.DataFrame:
    """Spikes from (gids, update steps) chunks, stamped step+1, within the recorder's window."""
    if chunks:
        gids = np.concatenate([g for g, _ in chunks])
        stamps = np.concatenate([s for _, s in chunks]) + 1
    else:
        gids = stamps = np.zeros(0, dtype=np.int64)
    lo, hi = _window(params, dt)
    keep = (stamps > lo) & (stamps <= hi)
    gids, stamps = gids[keep], stamps[keep]
    order = np.lexsort((gids, stamps))
    return pd.DataFrame({"sender": gids[order].astype(np.int64), "time": time_ms(stamps[order], dt)})


def voltage_chunks(part, voltmeter_gid: int) -> list:
    """(first step, absolute V_m (steps, neurons), gids) chunks a partition recorded for a voltmeter."""
    chunks = []
    for bi, cols, gids in part.voltmeters.get(voltmeter_gid, []):
        blk = part.blocks[bi]
        for first, values in part.recorded_vm.get(bi, []):
            chunks.append((first, blk.model.membrane_potential(blk, values[:, cols]), gids))
    return chunks


def voltages_frame(chunks, params: dict, dt: float) -> pd.DataFrame:
    """V_m samples from (first update step, values (steps, neurons), gids) chunks.

    The state after update step n is stamped n+1; a voltmeter samples the
    stamps that are multiples of its interval within its window.
    """
    every = steps_of(params["interval"], dt)
    lo, hi = _window(params, dt)
    senders, stamps, values = [], [], []
    for first, vals, gids in chunks:
        st = first + 1 + np.arange(vals.shape[0])
        rows = np.nonzero((st % every == 0) & (st > lo) & (st <= hi))[0]
        if rows.size == 0:
            continue
        senders.append(np.tile(gids, rows.size))
        stamps.append(np.repeat(st[rows], gids.shape[0]))
        values.append(vals[rows].ravel())
    if senders:
        s, t, v = np.concatenate(senders), np.concatenate(stamps), np.concatenate(values)
    else:
        s = t = np.zeros(0, dtype=np.int64)
        v = np.zeros(0)
    order = np.lexsort((s, t))
    return pd.DataFrame({"sender": s[order].astype(np.int64), "time": time_ms(t[order], dt), "V_m": v[order]})


def connections_frame(partitions, network, projection=None) -> pd.DataFrame:
    """All synapses as (source, target, weight, delay), sorted; optionally of one projection."""
    from .network import Projection

    if projection is not None and not (isinstance(projection, Projection)
                                       and projection.pre.network is network):
        raise ValueError(f"connections: projection must be a Projection of this network "
                         f"(returned by net.connect), got {projection!r}")
    cols = {"source": [], "target": [], "weight": [], "delay": []}
    want = None if projection is None else projection.index
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


def save_run(directory, spikes: pd.DataFrame, summary: dict) -> None:
    """Write ``spikes.parquet`` and ``summary.json`` into ``directory`` (created if needed)."""
    import json
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    spikes.to_parquet(out / "spikes.parquet", index=False)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))


def load_run(directory) -> tuple[pd.DataFrame, dict]:
    """``(spikes, summary)`` of a run written by :func:`save_run` (or ``python -m dsnn run --out``)."""
    import json
    from pathlib import Path

    src = Path(directory)
    return pd.read_parquet(src / "spikes.parquet"), json.loads((src / "summary.json").read_text())
