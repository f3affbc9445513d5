"""``nest.math``: bounds on random parameters (``redraw``); NEST's other functions of parameters are not
supported."""

from ..description.distributions import redraw
from ..views.pynest.kernel import unsupported

__all__ = ["redraw"]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"nest.math.{name}", "dsnn.nest has nest.math.redraw")
