"""Runners: a built network stepped by one partition loop, in this process or on a Dask cluster.

``engine`` (what ``Network.build`` hands over to), ``simulation`` (the one
:class:`Simulation` interface), ``loop`` (a partition's interval loop),
``handshake`` (who sends which spikes to whom), ``in_process`` (threads
and in-memory channels), ``cluster`` (construction tasks and actors),
``records`` (DataFrames of what was recorded), ``progress`` (the progress
bar). Dask is imported only here and in :mod:`dsnn.launch`.
"""

from ..description.network import attach_engine
from .engine import Engine

attach_engine(Engine())

__all__ = ["Engine"]
