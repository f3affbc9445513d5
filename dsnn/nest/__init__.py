"""NEST 3 scripts on dsnn: ``import dsnn.nest as nest`` and the script runs unchanged.

What a script creates, sets and connects is kept as it says it and becomes
a :class:`dsnn.Network` at the first ``Simulate`` (or ``Prepare``), built in
this process on ``nest.local_num_threads`` partitions, or on a Dask
cluster: ``nest.set(dsnn_client=client)``, or the environment variable
``DSNN_NEST_SCHEDULER`` (a scheduler address) for scripts left unchanged.
``python -m dsnn.nest script.py`` runs a script that says ``import nest``
on dsnn. Kernel attributes read and write as module attributes
(``nest.resolution = 0.1``). What dsnn lacks fails with one line naming it;
the README has the table of what is supported.
"""

from __future__ import annotations

import sys
import types

from ..views.pynest import api as _api
from ..views.pynest.api import *  # noqa: F401,F403 - PyNEST's names
from ..views.pynest.api import KERNEL_ATTRIBUTES, _kernel_attribute, _set_kernel_attribute
from ..views.pynest.kernel import unsupported as _unsupported
from . import math, random  # noqa: F401 - nest.random.normal(...), nest.math.redraw(...)

__all__ = list(_api.__all__) + ["random", "math"]

_SUBMODULES = {"raster_plot", "voltage_trace"}


class _NestModule(types.ModuleType):
    """Kernel attributes as module attributes (``nest.resolution``), as PyNEST has them."""

    def __getattr__(self, name):
        if name in KERNEL_ATTRIBUTES:
            return _kernel_attribute(name)
        if name in _SUBMODULES:
            import importlib

            return importlib.import_module(f"{__name__}.{name}")
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unsupported(f"nest.{name}")

    def __setattr__(self, name, value):
        if name in KERNEL_ATTRIBUTES:
            _set_kernel_attribute(name, value)
        elif name.startswith("_") or name in self.__dict__ or name in _SUBMODULES:
            super().__setattr__(name, value)
        else:  # NEST's other kernel attributes: refused, not kept as a module attribute that does nothing
            raise _unsupported(f"kernel attribute {name!r}", f"dsnn.nest has {', '.join(sorted(KERNEL_ATTRIBUTES))}")


sys.modules[__name__].__class__ = _NestModule
