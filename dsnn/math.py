"""Bounds on random parameters, as ``nest.math`` writes them."""

from .description.distributions import clip, redraw

__all__ = ["redraw", "clip"]
