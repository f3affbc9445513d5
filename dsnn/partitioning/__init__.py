"""Partitioning: which partition owns which neurons (:class:`Decomposition`), from a number of
partitions, their sizes, or a placement of populations."""

from .decomposition import Decomposition

__all__ = ["Decomposition"]
