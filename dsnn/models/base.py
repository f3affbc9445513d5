"""Model schemas: names, defaults, units and checks of model parameters.

Pure description: no arrays. Each model of dsnn is known by its NEST name and
takes NEST's parameter names and units (ms, mV, pA, pF, Hz).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

__all__ = ["Param", "ModelSpec", "check_finite", "check_positive", "check_nonnegative"]


def check_finite(name: str, value: float) -> str | None:
    if not math.isfinite(value):
        return f"{name} must be a finite number, got {value!r}"
    return None


def check_positive(name: str, value: float) -> str | None:
    if not (math.isfinite(value) and value > 0):
        return f"{name} must be a finite number > 0, got {value!r}"
    return None


def check_nonnegative(name: str, value: float) -> str | None:
    if not (math.isfinite(value) and value >= 0):
        return f"{name} must be a finite number >= 0, got {value!r}"
    return None


def check_lower_bound(name: str, value: float) -> str | None:
    if math.isnan(value) or value == math.inf:
        return f"{name} must be a number below +inf (may be -inf), got {value!r}"
    return None


def check_time_or_inf(name: str, value: float) -> str | None:
    if math.isnan(value) or value < 0:
        return f"{name} must be a time >= 0 ms (may be inf), got {value!r}"
    return None


@dataclass(frozen=True)
class Param:
    """One scalar parameter or state variable of a model."""

    name: str
    default: float
    unit: str
    doc: str
    check: Callable[[str, float], str | None] = check_finite
    #: state variables may be given as a random distribution (initial state)
    is_state: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """What a model is: its kind and its parameters.

    ``kind`` is one of ``"neuron"``, ``"spike_source"`` (emits spikes through
    synapses: spike_generator), ``"poisson"``, ``"current"`` (dc_generator),
    ``"spike_recorder"``, ``"voltmeter"``.
    """

    name: str
    kind: str
    params: Mapping[str, Param]
    doc: str = ""
    #: cross-parameter checks: (absolute parameter dict) -> error text or None
    relations: tuple = field(default=())
    #: parameters that are arrays (spike_generator's spike_times)
    array_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_neuron(self) -> bool:
        return self.kind == "neuron"

    @property
    def is_recorder(self) -> bool:
        return self.kind in ("spike_recorder", "voltmeter")

    def defaults(self) -> dict:
        d = {name: p.default for name, p in self.params.items()}
        d.update({name: () for name in self.array_params})
        return d

    def allowed(self) -> str:
        names = sorted(list(self.params) + list(self.array_params))
        return ", ".join(names) if names else "(none)"
