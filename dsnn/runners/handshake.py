"""The image handshake: which spikes each partition sends to which, from what each needs.

A partition needs the *images* of the remote neurons that are sources of
its synapses; it tells each owner (:meth:`Decomposition.owner`) which of
their neurons it needs, with its own slot numbers, and each owner makes a
send map per receiver. Only these id lists ever cross between partitions
during construction. With collective exchange no send maps are needed:
each receiver filters the all-gathered spikes through its own image table.
"""

from __future__ import annotations

from ..exchange import needs_by_owner, send_map
from .loop import ExchangePlan

__all__ = ["needs_of", "send_maps_of", "exchange_plans"]


def needs_of(part, decomposition) -> dict:
    """What ``part`` needs from each owner: ``{owner: (gids, part's slots)}``."""
    return needs_by_owner(part.image_gids, part.n_local, decomposition.owner(part.image_gids))


def send_maps_of(part, pieces: dict) -> list:
    """``part``'s send maps from the pieces of the receivers' needs it owns: ``{receiver: (gids, slots)}``."""
    return [send_map(part.local_gids, p, gids, slots) for p, (gids, slots) in sorted(pieces.items())]


def exchange_plans(parts: list, decomposition, mode: str) -> list:
    """The :class:`ExchangePlan` of every partition of one process (all their needs at hand)."""
    P = len(parts)
    needs = [needs_of(part, decomposition) for part in parts]
    plans = []
    for p, part in enumerate(parts):
        if mode == "p2p":
            maps = send_maps_of(part, {q: needs[q][p] for q in range(P) if p in needs[q]})
            plans.append(ExchangePlan(p, P, mode, maps, sorted(needs[p])))
        else:
            plans.append(ExchangePlan(p, P, mode))
    return plans
