"""Spike exchange between partitions: maps built once, messages every interval.

The exchange layer moves arrays of (slot, step) between peers; it knows
nothing of neuron models.
"""

from .maps import SendMap, filter_images, needs_by_owner, owner_of, route, send_map

__all__ = ["SendMap", "needs_by_owner", "send_map", "owner_of", "route", "filter_images"]
