"""dsnn: a distributed spiking neural network simulator on Dask.

>>> import dsnn
>>> net = dsnn.Network(seed=1, dt=0.1)
>>> E = net.create("iaf_psc_exp", 100)

``import dsnn`` is light: the description loads at once, the models'
schemas when a population is created, and numba, pandas and Dask only when
a network is built, its results read, or a cluster started. The layers, from the bottom: ``support``, ``models``,
``description``, ``randomness``, ``partitioning``, ``backends``,
``construction``, ``exchange``, ``runners``, ``views``, ``launch`` (see
docs/architecture.md).
"""

from __future__ import annotations

import importlib

from . import math, random, runners  # noqa: F401 - runners attaches the engine that builds networks
from .description import Collection, Distribution, Network, Population, Projection

__version__ = "0.1.0"

#: public names that load their module on first use: name -> (module, attribute or None for the module)
_LAZY = {
    "MODELS": ("dsnn.models", "MODELS"),
    "Simulation": ("dsnn.runners.simulation", "Simulation"),
    "restore": ("dsnn.runners.checkpoint", "restore"),
    "Decomposition": ("dsnn.partitioning.decomposition", "Decomposition"),
    "balanced_sizes": ("dsnn.partitioning.decomposition", "balanced_sizes"),
    "local_cluster": ("dsnn.launch.cluster", "local_cluster"),
    "save_run": ("dsnn.views.results", "save_run"),
    "load_run": ("dsnn.views.results", "load_run"),
    "results": ("dsnn.views.results", None),
    "plot": ("dsnn.views.plot", None),
    "dashboard": ("dsnn.views.dashboard", None),
}

__all__ = ["Network", "Population", "Collection", "Projection", "Distribution", "random", "math", "__version__", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'dsnn' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
