"""Spike exchange between partitions: maps built once, messages every interval.

``maps`` (who needs which spikes, in whose slot numbers), ``algorithms``
(point-to-point and Bruck's all-gather, as generators of exchange steps),
``framing`` (the messages), ``channels`` (what a partition talks to) over
``tcp``, ``ucx`` or ``memory``. The exchange layer moves int64 arrays
between peers; it knows nothing of neuron models.
"""

from .maps import SendMap, filter_images, needs_by_owner, route, send_map

__all__ = ["SendMap", "needs_by_owner", "send_map", "route", "filter_images"]
