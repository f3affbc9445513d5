"""``nest.math``: bounds on random parameters: ``redraw``, and ``min``/``max`` of a parameter and a number
(a clipped distribution); NEST's other functions of parameters (exp, sin, cos) are not supported."""

import builtins
import numbers

from ..description.distributions import Distribution, clip, redraw
from ..views.pynest.kernel import unsupported

__all__ = ["redraw", "min", "max"]


def _clipped(x, low=None, high=None):
    if isinstance(x, numbers.Real):
        return builtins.max(x, low) if low is not None else builtins.min(x, high)
    if not isinstance(x, Distribution) or x.bound == "redraw":
        raise unsupported(f"nest.math.min/max of {x!r}", "give a nest.random distribution or a number")
    if x.bound == "clip":  # min(max(x, a), b): one clip with both bounds
        low = x.low if low is None else builtins.max(low, x.low)
        high = x.high if high is None else builtins.min(high, x.high)
        x = Distribution(x.kind, x.params)
    return clip(x, min=low, max=high)


def max(x, value):  # noqa: A001 - NEST's name
    """The larger of the parameter ``x`` and ``value``: ``x`` clipped below at ``value``."""
    return _clipped(x, low=value)


def min(x, value):  # noqa: A001 - NEST's name
    """The smaller of the parameter ``x`` and ``value``: ``x`` clipped above at ``value``."""
    return _clipped(x, high=value)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"nest.math.{name}", "dsnn.nest has nest.math.redraw, min and max")
