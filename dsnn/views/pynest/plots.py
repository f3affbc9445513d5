"""NEST's ``raster_plot.from_device`` and ``voltage_trace.from_device`` (matplotlib), from a recorder's
events."""

from __future__ import annotations

import numpy as np

from .kernel import NestError

__all__ = ["raster_from_device", "voltage_trace_from_device"]


def _events(detec, kind: str) -> dict:
    """The events of ``detec``, which must be one ``kind`` (a multimeter counts as a voltmeter)."""
    events = detec.recorded()
    if ("V_m" in events) != (kind == "voltmeter"):
        raise NestError(f"from_device: expected a {kind}, got a {detec.get('model')}")
    return events


def raster_from_device(detec, hist: bool = False, hist_binwidth: float = 5.0, grayscale: bool = False,
                       title: str | None = None, xlabel: str | None = None):
    """Spikes of a spike_recorder as dots (sender against time, ms) and, with ``hist``, their rate in bins
    of ``hist_binwidth`` ms below. Returns the axes drawn on."""
    import matplotlib.pyplot as plt

    ev = _events(detec, "spike_recorder")
    times, senders = ev["times"], ev["senders"]
    if times.size == 0:
        raise NestError("from_device: no events recorded")
    color = "black" if grayscale else None
    fig = plt.figure()
    if hist:
        ax1 = fig.add_axes([0.1, 0.3, 0.85, 0.6])
        ax2 = fig.add_axes([0.1, 0.08, 0.85, 0.17], sharex=ax1)
    else:
        ax1, ax2 = fig.add_subplot(111), None
    ax1.plot(times, senders, ".", color=color)
    ax1.set_ylabel("Neuron ID")
    if hist:
        edges = np.arange(np.floor(times.min()), np.ceil(times.max()) + hist_binwidth, hist_binwidth)
        counts, _ = np.histogram(times, bins=edges)
        n_neurons = max(np.unique(senders).size, 1)
        ax2.bar(edges[:-1], counts * 1000.0 / hist_binwidth / n_neurons, width=hist_binwidth, align="edge",
                color=color or "blue", edgecolor="none")
        ax2.set_ylabel("Rate (Hz)")
        ax2.set_xlabel(xlabel or "Time (ms)")
    else:
        ax1.set_xlabel(xlabel or "Time (ms)")
    ax1.set_title(title or "Raster plot from device")
    return [ax1] + ([ax2] if ax2 is not None else [])


def voltage_trace_from_device(detec, nodes=None, timeunit: str = "ms", hist: bool = False,
                              title: str | None = None, grayscale: bool = False, xlabel: str | None = None,
                              ylabel: str | None = None):
    """V_m of each neuron a voltmeter recorded (or of ``nodes``), one line each. Returns the lines."""
    import matplotlib.pyplot as plt

    if hist:
        raise NestError("voltage_trace.from_device: hist is for spike recorders")
    ev = _events(detec, "voltmeter")
    scale = {"ms": 1.0, "s": 1e-3}.get(timeunit)
    if scale is None:
        raise NestError(f"voltage_trace.from_device: timeunit must be 'ms' or 's', got {timeunit!r}")
    senders = np.unique(ev["senders"]) if nodes is None else np.asarray(nodes.tolist())
    lines = []
    plt.figure()
    for gid in senders:
        keep = ev["senders"] == gid
        lines += plt.plot(ev["times"][keep] * scale, ev["V_m"][keep], color="black" if grayscale else None,
                          label=f"Neuron {gid}")
    plt.xlabel(xlabel or f"Time ({timeunit})")
    plt.ylabel(ylabel or "Membrane potential (mV)")
    plt.title(title or f"Membrane potential(s) from device {detec.global_id}")
    return lines
