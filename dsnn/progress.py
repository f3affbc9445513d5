"""A progress bar for ``sim.run``: simulated time, real-time factor and spikes per second.

tqdm's ``auto`` form: a widget in Jupyter, text on a terminal. Shown by
default where someone watches (a notebook kernel, or stderr a terminal).
"""

from __future__ import annotations

import sys
import time

__all__ = ["RunProgress", "watched"]

#: seconds between two refreshes of the bar
REFRESH_S = 0.25


def watched() -> bool:
    """Whether a person is likely watching: inside a Jupyter kernel, or stderr is a terminal."""
    return "ipykernel" in sys.modules or bool(getattr(sys.stderr, "isatty", lambda: False)())


class RunProgress:
    """The bar of one run of ``t_ms`` ms; :meth:`update` with the simulated ms done and spikes so far.

    ``spikes0``: the spike count when the run starts; ``enabled``: None for :func:`watched`.
    """

    def __init__(self, t_ms: float, spikes0: int = 0, enabled: bool | None = None):
        from tqdm.auto import tqdm

        self.enabled = watched() if enabled is None else bool(enabled)
        self.t_ms = float(t_ms)
        self.start = time.perf_counter()
        self._last = 0.0
        self._spikes0 = int(spikes0)
        self.postfix: dict = {}
        self.bar = tqdm(total=self.t_ms, unit="ms", desc="dsnn", disable=not self.enabled, leave=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} ms "
                                   "[{elapsed}<{remaining}{postfix}]")

    def due(self) -> bool:
        """Whether a refresh is due (so callers fetch counters only that often)."""
        return self.enabled and time.perf_counter() - self._last >= REFRESH_S

    def update(self, done_ms: float, spikes: int) -> None:
        """Show ``done_ms`` ms of this run simulated and ``spikes`` spikes emitted in total."""
        if not self.enabled:
            return
        self._last = now = time.perf_counter()
        wall = max(now - self.start, 1e-9)
        self.postfix = {"rtf": wall / max(done_ms / 1000.0, 1e-12), "spikes/s": (spikes - self._spikes0) / wall}
        self.bar.set_postfix({"rtf": f"{self.postfix['rtf']:.2f}",
                              "spikes/s": f"{self.postfix['spikes/s']:.3g}"}, refresh=False)
        self.bar.update(done_ms - self.bar.n)

    def close(self, done_ms: float | None = None, spikes: int | None = None) -> None:
        """Show the final state (where given) and close the bar."""
        if self.enabled and done_ms is not None:
            self.update(done_ms, spikes)
        self.bar.close()
