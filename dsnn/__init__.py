"""dsnn: a distributed spiking neural network simulator on Dask.

>>> import dsnn
>>> net = dsnn.Network(seed=1, dt=0.1)
>>> E = net.create("iaf_psc_exp", 100)
"""

from . import math, random
from .cluster import local_cluster
from .decomposition import Decomposition
from .distributions import Distribution
from .models import MODELS
from .network import Network, Population, Projection
from .results import load_run, save_run

__version__ = "0.1.0"

__all__ = ["Network", "Population", "Projection", "Decomposition", "Distribution", "MODELS",
           "local_cluster", "save_run", "load_run", "random", "math", "__version__"]
