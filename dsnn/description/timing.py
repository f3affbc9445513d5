"""Time on the simulation grid: NEST's tics, whole steps, stamps, and device windows.

Every conversion between milliseconds and steps in dsnn goes through here,
computed as NEST computes it: a time is a whole number of tics (1 tic =
1 µs, NEST's default time base), a step is ``dt`` in tics. An event of
update step ``n`` is *stamped* ``n + 1`` (its time is ``(n + 1) * dt``), as
in NEST. Pure Python: the description layer holds no arrays (``time_ms``
also takes int64 arrays and returns float64 ones).
"""

from __future__ import annotations

import math
import numbers

__all__ = ["TICS_PER_MS", "NEVER", "tics", "on_grid", "steps_of", "time_ms", "window", "run_steps"]

#: NEST's default time base: 1 tic = 1 µs
TICS_PER_MS = 1000

#: a step that never comes (an infinite stop time); far from overflowing int64 when added to
NEVER = (2**63 - 1) // 4


def tics(ms: float) -> int:
    """``ms`` as a whole number of tics (rounded)."""
    return int(round(ms * TICS_PER_MS))


def on_grid(ms: float, dt: float) -> bool:
    """True if ``ms`` is a whole number of steps ``dt`` (compared in tics)."""
    return abs(ms * TICS_PER_MS - tics(ms)) < 1e-6 and tics(ms) % tics(dt) == 0


def steps_of(ms: float, dt: float) -> int:
    """Whole steps in ``ms`` (rounded to the nearest step, as NEST's Time does); inf -> :data:`NEVER`."""
    if math.isinf(ms):
        return NEVER
    return int(round(tics(ms) / tics(dt)))


def time_ms(stamps, dt: float):
    """Times in ms of step stamps (an int or an int64 array), through tics as NEST computes them: exact
    for grid times."""
    return (stamps * tics(dt)) * (1.0 / TICS_PER_MS)


def window(params: dict, dt: float) -> tuple[int, int]:
    """The stamps ``(lo, hi]`` of a device with ``origin``, ``start`` and ``stop`` (ms): it records or
    emits events stamped ``lo < s <= hi`` (``hi`` is :data:`NEVER` for an infinite stop)."""
    origin = steps_of(params["origin"], dt)
    lo = origin + steps_of(params["start"], dt)
    hi = NEVER if math.isinf(params["stop"]) else origin + steps_of(params["stop"], dt)
    return lo, hi


def run_steps(t, dt: float) -> int:
    """Steps in a run of ``t`` ms, validated: finite, >= 0 and a multiple of ``dt``."""
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t) or t < 0:
        raise ValueError(f"run: t must be a finite time >= 0 ms, got {t!r}")
    if not on_grid(float(t), dt):
        raise ValueError(f"run: t must be a multiple of dt={dt} ms, got {t!r}")
    return steps_of(float(t), dt)
