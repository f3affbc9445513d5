"""Random distributions for parameters, as ``nest.random`` writes them."""

from .description.distributions import exponential, lognormal, normal, uniform

__all__ = ["normal", "uniform", "lognormal", "exponential"]
