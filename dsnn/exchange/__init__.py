"""Spike exchange between partitions: maps built once, messages every interval.

The exchange layer moves arrays of (slot, step) between peers; it knows
nothing of neuron models.
"""

from .maps import SendMap, owner_of, route, send_maps

__all__ = ["SendMap", "send_maps", "owner_of", "route"]
