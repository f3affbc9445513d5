"""A live view of a run in the notebook: population rates over time and each partition's time split.

Bokeh, because the Dask dashboard already depends on it (nothing new to
install beside Dask's own), its ``ColumnDataSource.stream`` sends only the
new points to the browser, and ``push_notebook`` updates a figure in place
while the cell that runs the simulation is still busy (ipywidgets would need
the kernel to be idle to sync). The data behind every glyph is plain Python,
so tests read back what is plotted without a browser.

The view is fed by the run loop a few times a second (the same polling as
the progress bar: one small actor call per partition, never per interval),
so it costs the run nothing measurable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..support.extras import require

__all__ = ["LiveView", "SPLIT"]

#: the parts of a partition's time, in the order they stack
SPLIT = ("update", "deliver", "exchange", "wait")


class LiveView:
    """Rates of every neuron population (spikes/s over the last refresh window) and, per partition,
    the wall seconds spent per simulated second in update, deliver, exchange and wait.

    >>> view = LiveView(net); view.show()     # in a notebook cell
    >>> sim.run(1000.0, view=view)            # the figures update while it runs
    >>> view.rates()                          # what is plotted, as a DataFrame
    """

    def __init__(self, network, window: int = 2000):
        require("bokeh", "notebook", "the live view")
        from bokeh.layouts import row
        from bokeh.models import ColumnDataSource
        from bokeh.palettes import Category10_10
        from bokeh.plotting import figure

        pops = network.neuron_populations
        self.sizes = {p.index: p.n for p in pops}
        self.names = {p.index: p.name for p in pops}
        self.window = int(window)
        self.rate_source = ColumnDataSource({"t": [], **{self._column(i): [] for i in self.sizes}})
        self.split_source = ColumnDataSource({"partition": [], **{k: [] for k in SPLIT}})
        self.rate_figure = figure(height=300, width=520, title="population rates", x_axis_label="time (ms)",
                                  y_axis_label="spikes/s")
        for n, i in enumerate(self.sizes):
            self.rate_figure.line("t", self._column(i), source=self.rate_source, legend_label=self.names[i],
                                  color=Category10_10[n % 10])
        self.split_figure = figure(height=300, width=360, title="time per partition",
                                   x_axis_label="partition", y_axis_label="wall s per simulated s")
        self.split_figure.vbar_stack(list(SPLIT), x="partition", width=0.8, source=self.split_source,
                                     color=["#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f"],
                                     legend_label=list(SPLIT))
        self.layout = row(self.rate_figure, self.split_figure)
        self.updates = 0
        self._handle = None
        self._last = None  # (t_ms, population counts, time split) of the last update

    @staticmethod
    def _column(index: int) -> str:
        return f"pop{index}"

    def show(self):
        """Display the figures in the notebook (they then update in place during runs)."""
        from bokeh.io import output_notebook, show

        output_notebook(hide_banner=True)
        self._handle = show(self.layout, notebook_handle=True)
        return self._handle

    def begin(self, t_ms: float, population_spikes: dict, time_split: list) -> None:
        """Where the next run starts: simulated ms, spikes per population index, per-partition time split."""
        self._last = (float(t_ms), dict(population_spikes), [dict(t) for t in time_split])

    def update(self, t_ms: float, population_spikes: dict, time_split: list) -> None:
        """Add the rates since the last update and show the time split since then."""
        if self._last is None:
            self.begin(0.0, {}, [{k: 0.0 for k in SPLIT} for _ in time_split])
        t0, counts0, split0 = self._last
        dt_s = (float(t_ms) - t0) / 1000.0
        if dt_s <= 0:
            return
        point = {"t": [float(t_ms)]}
        for i, n in self.sizes.items():
            point[self._column(i)] = [(population_spikes.get(i, 0) - counts0.get(i, 0)) / n / dt_s]
        self.rate_source.stream(point, rollover=self.window)
        split = {"partition": list(range(len(time_split)))}
        for k in SPLIT:
            split[k] = [(t.get(k, 0.0) - (split0[p].get(k, 0.0) if p < len(split0) else 0.0)) / dt_s
                        for p, t in enumerate(time_split)]
        self.split_source.data = split
        self._last = (float(t_ms), dict(population_spikes), [dict(t) for t in time_split])
        self.updates += 1
        if self._handle is not None:
            from bokeh.io import push_notebook

            push_notebook(handle=self._handle)

    def rates(self) -> pd.DataFrame:
        """The plotted rates: column t (ms, end of each window), then one column per population (spikes/s)."""
        data = self.rate_source.data
        frame = pd.DataFrame({"t": np.asarray(data["t"], dtype=float)})
        for i in self.sizes:
            frame[self.names[i]] = np.asarray(data[self._column(i)], dtype=float)
        return frame

    def time_split(self) -> pd.DataFrame:
        """The plotted time split: one row per partition, wall seconds per simulated second."""
        return pd.DataFrame({k: list(v) for k, v in self.split_source.data.items()})
