"""Model schemas: names, defaults, units and checks of model parameters.

Pure description: no arrays. Each model of dsnn is known by its NEST name and
takes NEST's parameter names and units (ms, mV, pA, pF, Hz).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

__all__ = ["Param", "ModelSpec", "check_finite", "check_positive", "check_nonnegative", "membrane_params",
           "RESET_BELOW_THRESHOLD", "RESET_ABOVE_V_MIN", "TAU_MINUS"]


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
    #: a switch (True or False, as NEST's boolean parameters), not a number
    is_switch: bool = False


#: NEST's default lower bound of V_m in several models: the most negative double
DBL_MAX = 1.7976931348623157e308


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
    #: a neuron that repeats the spikes it receives (parrot_neuron): connections onto it count spikes, their
    #: weights ignored (NEST's); it takes no current and has no membrane potential
    repeats_spikes: bool = False
    #: the state variables a multimeter may record (``record_from``), in the order the kernels know them
    recordables: tuple = ()

    @property
    def is_neuron(self) -> bool:
        return self.kind == "neuron"

    @property
    def has_membrane_potential(self) -> bool:
        """Whether its neurons have a V_m to record, read and set (not parrot_neuron)."""
        return "V_m" in self.params

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


def membrane_params(synapses: dict | None = None, v_min: bool = True, v_min_default: float = -math.inf) -> dict:
    """The parameters NEST's leaky integrate-and-fire models share (names, defaults, units), with a
    model's own ``synapses`` parameters after C_m and tau_m and, with ``v_min``, a lower bound on V_m
    (NEST's default differs between models: -inf or -DBL_MAX)."""
    params = {
        "E_L": Param("E_L", -70.0, "mV", "resting membrane potential"),
        "C_m": Param("C_m", 250.0, "pF", "membrane capacitance", check_positive),
        "tau_m": Param("tau_m", 10.0, "ms", "membrane time constant", check_positive),
        **(synapses or {}),
        "t_ref": Param("t_ref", 2.0, "ms", "absolute refractory period", check_nonnegative),
        "V_th": Param("V_th", -55.0, "mV", "spike threshold"),
        "V_reset": Param("V_reset", -70.0, "mV", "reset potential"),
    }
    if v_min:
        params["V_min"] = Param("V_min", v_min_default, "mV", "lower bound of the membrane potential",
                                check_lower_bound)
    params["I_e"] = Param("I_e", 0.0, "pA", "constant input current")
    params["tau_minus"] = TAU_MINUS
    params["V_m"] = Param("V_m", -70.0, "mV", "membrane potential (initial state)", check_finite, True)
    return params


#: the time constant of a neuron's spike trace that depresses its plastic input synapses (NEST's
#: ArchivingNode parameter, on every neuron model)
TAU_MINUS = Param("tau_minus", 20.0, "ms", "time constant of the spike trace that STDP depresses with",
                  check_positive)


def RESET_BELOW_THRESHOLD(p: dict) -> str | None:  # noqa: N802 - a constant relation of the models' SPECs
    """NEST's check that V_reset < V_th."""
    if p["V_reset"] < p["V_th"]:
        return None
    return f"V_reset must be < V_th, got V_reset={p['V_reset']} and V_th={p['V_th']}"


def RESET_ABOVE_V_MIN(p: dict) -> str | None:  # noqa: N802
    """NEST's check that V_min <= V_reset."""
    if p["V_min"] <= p["V_reset"]:
        return None
    return f"V_min must be <= V_reset, got V_min={p['V_min']} and V_reset={p['V_reset']}"
