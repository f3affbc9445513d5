"""The description layer: what to build, validated, with no arrays.

``network`` (Network, Projection), ``populations`` (Population, Collection),
``rules`` (connection rules from NEST's conn_spec), ``distributions``
(random parameters), ``timing`` (ms, tics and steps), ``model_files``
(models written as Python files). Nothing here imports numba, NumPy, Dask
or pandas.
"""

from .distributions import Distribution
from .network import Network, Projection
from .populations import Collection, Population

__all__ = ["Network", "Population", "Collection", "Projection", "Distribution"]
