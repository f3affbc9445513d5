"""Plots of a run (matplotlib): spike raster, population rates over time, per-partition time split.

Each function draws into ``ax`` (a new figure where None) and returns the
axes, so notebooks and the CLI use the same pictures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["raster", "rate_histogram", "time_split", "save_figures"]

#: colours of the time split, in the order the bars stack
SPLIT_COLOURS = {"update": "tab:blue", "deliver": "tab:orange", "exchange": "tab:green", "wait": "tab:grey"}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4))
    return ax


def raster(spikes: pd.DataFrame, ax=None, max_points: int | None = None):
    """Spike raster: one point per spike (time in ms, sender gid), coloured by population.

    ``max_points`` thins the plot to at most that many spikes (every k-th),
    for runs too large to draw whole.
    """
    ax = _axes(ax)
    step = 1 if not max_points or len(spikes) <= max_points else int(np.ceil(len(spikes) / max_points))
    shown = spikes.iloc[::step]
    groups = shown.groupby("population", observed=True) if "population" in shown else [("spikes", shown)]
    for name, group in groups:
        ax.plot(group["time"].to_numpy(), group["sender"].to_numpy(), ".", markersize=1.5, label=str(name))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (gid)")
    ax.set_title("spikes" if step == 1 else f"spikes (every {step}th)")
    if "population" in shown and shown["population"].nunique() > 1:
        ax.legend(markerscale=6, fontsize="small", loc="upper right")
    return ax


def rate_histogram(spikes: pd.DataFrame, n_neurons: dict, t_ms: float, bin_ms: float = 5.0, ax=None):
    """Population rates (spikes/s per neuron) in bins of ``bin_ms`` over ``[0, t_ms]``.

    ``n_neurons`` maps a population name to its number of recorded neurons
    (see :func:`dsnn.results.recorded_neurons`).
    """
    if bin_ms <= 0:
        raise ValueError(f"bin_ms must be positive, got {bin_ms!r}")
    ax = _axes(ax)
    edges = np.arange(0.0, t_ms + bin_ms, bin_ms)
    for name, n in n_neurons.items():
        times = spikes.loc[spikes["population"] == name, "time"].to_numpy()
        counts, _ = np.histogram(times, bins=edges)
        ax.step(edges[:-1], counts / n / (bin_ms / 1000.0), where="post", label=str(name))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (spikes/s)")
    ax.set_title(f"population rates ({bin_ms:g} ms bins)")
    if len(n_neurons) > 1:
        ax.legend(fontsize="small", loc="upper right")
    return ax


def time_split(timers: list, ax=None):
    """Stacked bars of seconds per partition spent in update, deliver, exchange and wait."""
    ax = _axes(ax)
    x = np.arange(len(timers))
    bottom = np.zeros(len(timers))
    for key, colour in SPLIT_COLOURS.items():
        values = np.array([t.get(key, 0.0) for t in timers])
        ax.bar(x, values, bottom=bottom, color=colour, label=key)
        bottom += values
    ax.set_xticks(x, [str(p) for p in x])
    ax.set_xlabel("partition")
    ax.set_ylabel("seconds")
    ax.set_title("time per partition")
    ax.legend(fontsize="small")
    return ax


def save_figures(directory, spikes: pd.DataFrame, n_neurons: dict, t_ms: float, timers: list,
                 max_points: int = 200_000) -> list:
    """Write raster.png, rates.png and time_split.png into ``directory``; returns their paths."""
    from pathlib import Path

    import matplotlib.pyplot as plt

    out = []
    for name, draw in (("raster", lambda ax: raster(spikes, ax, max_points)),
                       ("rates", lambda ax: rate_histogram(spikes, n_neurons, t_ms, ax=ax)),
                       ("time_split", lambda ax: time_split(timers, ax))):
        fig, ax = plt.subplots(figsize=(8, 4))
        draw(ax)
        fig.tight_layout()
        path = Path(directory) / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        out.append(path)
    return out
