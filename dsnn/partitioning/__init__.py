"""Partitioning: which partition owns which neurons (:class:`Decomposition`), from a number of
partitions, their sizes, or a placement of populations."""

from .decomposition import Decomposition, balanced_sizes

__all__ = ["Decomposition", "balanced_sizes"]
