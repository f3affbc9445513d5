"""Results of a run for people: population rates, and runs saved to and loaded from a folder."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..description.timing import steps_of, window

__all__ = ["population_rates", "recorded_neurons", "recording_ms", "save_run", "load_run"]


def recorded_neurons(network) -> dict:
    """Population name -> number of its neurons recorded by any spike_recorder (recorded populations only)."""
    gids: dict = {}
    for proj in network.projections:
        if proj.kind == "record_spikes":
            for pre in proj.pre.pieces:
                gids.setdefault(pre.name, []).append(np.arange(pre.first, pre.first + pre.n))
    return {name: int(np.unique(np.concatenate(g)).shape[0]) for name, g in gids.items()}


def recording_ms(network, t_ms: float) -> dict:
    """Population name -> ms of the first ``t_ms`` of simulated time during which a spike_recorder
    recorded it (its recorders' ``origin + start`` to ``origin + stop`` windows, spanned)."""
    T = steps_of(t_ms, network.dt)
    span: dict = {}
    for proj in network.projections:
        if proj.kind == "record_spikes":
            lo, hi = window(proj.post.root.params, network.dt)
            lo, hi = max(lo, 0), min(hi, T)
            for pre in proj.pre.pieces:
                a, b = span.get(pre.name, (lo, hi))
                span[pre.name] = (min(a, lo), max(b, hi))
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
