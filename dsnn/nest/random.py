"""``nest.random``: NEST 3's random parameters (dsnn's distributions, with NEST's argument names)."""

from ..description.distributions import exponential, lognormal, normal, uniform

__all__ = ["normal", "uniform", "lognormal", "exponential"]
