"""Random distributions for parameters, as ``nest.random`` writes them."""

from .distributions import exponential, lognormal, normal, uniform

__all__ = ["normal", "uniform", "lognormal", "exponential"]
