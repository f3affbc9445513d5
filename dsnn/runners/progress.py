"""What a person sees while ``sim.run`` goes on: a progress bar, and optionally a live view.

The bar (tqdm's ``auto`` form: a widget in Jupyter, text on a terminal)
shows simulated time, the real-time factor and spikes per second. It is
shown by default where someone watches (a notebook kernel, or stderr a
terminal). A :class:`dsnn.views.dashboard.LiveView` passed as ``view`` gets the
same snapshots. Runners call :meth:`RunWatch.update` only when
:meth:`RunWatch.due`, a few times a second, never per interval.
"""

from __future__ import annotations

import sys
import time

__all__ = ["RunWatch", "watched", "REFRESH_S"]

#: seconds between two refreshes
REFRESH_S = 0.25


def watched() -> bool:
    """Whether a person is likely watching: inside a Jupyter kernel, or stderr is a terminal."""
    return "ipykernel" in sys.modules or bool(getattr(sys.stderr, "isatty", lambda: False)())


class RunWatch:
    """The progress bar and live view of one run of ``t_ms`` ms.

    A snapshot is ``(spikes, population_spikes, time_split)``: spikes so far
    in all, spikes so far per population index, and per partition the
    cumulative seconds in update / deliver / exchange / wait. ``start_ms``
    and ``snapshot0`` describe the network when the run starts; ``progress``
    None means :func:`watched`; ``clock`` gives the wall time in seconds.
    """

    def __init__(self, t_ms: float, start_ms: float, snapshot0, progress: bool | None = None, view=None,
                 clock=time.perf_counter):
        from tqdm.auto import tqdm

        self.enabled = watched() if progress is None else bool(progress)
        self.view = view
        self.t_ms = float(t_ms)
        self.start_ms = float(start_ms)
        self.clock = clock
        self.start = clock()
        self._last = -float("inf")
        self._spikes0 = int(snapshot0[0])
        self.spikes_shown = self._spikes0  # the spike count of the last snapshot shown
        self.postfix: dict = {}
        if view is not None:
            view.begin(self.start_ms, snapshot0[1], snapshot0[2])
        self.bar = tqdm(total=self.t_ms, unit="ms", desc="dsnn", disable=not self.enabled, leave=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} ms "
                                   "[{elapsed}<{remaining}{postfix}]")

    @property
    def active(self) -> bool:
        return self.enabled or self.view is not None

    def due(self) -> bool:
        """Whether a refresh is due (so runners fetch snapshots only that often)."""
        return self.active and self.clock() - self._last >= REFRESH_S

    def update(self, done_ms: float, snapshot) -> None:
        """Show ``done_ms`` ms of this run simulated, with the network's ``snapshot`` then."""
        if not self.active:
            return
        self._last = now = self.clock()
        spikes, populations, split = snapshot
        self.spikes_shown = int(spikes)
        if self.view is not None:
            self.view.update(self.start_ms + done_ms, populations, split)
        if self.enabled:
            wall = max(now - self.start, 1e-9)
            self.postfix = {"rtf": wall / max(done_ms / 1000.0, 1e-12), "spikes/s": (spikes - self._spikes0) / wall}
            self.bar.set_postfix({"rtf": f"{self.postfix['rtf']:.2f}",
                                  "spikes/s": f"{self.postfix['spikes/s']:.3g}"}, refresh=False)
            self.bar.update(done_ms - self.bar.n)

    def close(self, snapshot=None) -> None:
        """Show the end of the run (where ``snapshot`` is given: it ran to completion) and close the bar."""
        if snapshot is not None:
            self.update(self.t_ms, snapshot)
        self.bar.close()
