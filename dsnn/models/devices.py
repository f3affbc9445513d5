"""Stimulation and recording devices, with NEST's names, parameters and timing.

Timing follows NEST 3.10, checked against it in the tests: a spike-emitting
generator is active for update steps ``n`` with ``origin+start < n <=
origin+stop`` (spikes stamped n+1), a dc_generator for ``origin+start < n+2 <=
origin+stop`` (its current reaches V_m from the step after it arrives), and a
recorder keeps events stamped in ``(origin+start, origin+stop]``.
"""

from __future__ import annotations

import math

from .base import ModelSpec, Param, check_finite, check_nonnegative, check_time_or_inf

_WINDOW = {
    "start": Param("start", 0.0, "ms", "activation time, relative to origin", check_nonnegative),
    "stop": Param("stop", math.inf, "ms", "deactivation time, relative to origin", check_time_or_inf),
    "origin": Param("origin", 0.0, "ms", "global time offset of start and stop", check_nonnegative),
}


def _window_relation(p):
    if p["stop"] < p["start"]:
        return f"stop must be >= start, got start={p['start']} and stop={p['stop']}"
    return None


POISSON_GENERATOR = ModelSpec(
    name="poisson_generator",
    kind="poisson",
    doc="Independent Poisson spike train for every target (rate in spikes/s).",
    params={"rate": Param("rate", 0.0, "Hz", "mean firing rate", check_nonnegative), **_WINDOW},
    relations=(_window_relation,),
)

DC_GENERATOR = ModelSpec(
    name="dc_generator",
    kind="current",
    doc="Constant current (pA) while active, times the connection weight.",
    params={"amplitude": Param("amplitude", 0.0, "pA", "current amplitude", check_finite), **_WINDOW},
    relations=(_window_relation,),
)

SPIKE_GENERATOR = ModelSpec(
    name="spike_generator",
    kind="spike_source",
    doc="Spikes at given times (ms, on the time grid), sent through synapses.",
    params=dict(_WINDOW),
    array_params={
        "spike_times": "sorted spike times in ms, each > 0 and a multiple of dt",
        "spike_multiplicities": "non-negative integers, one per spike time (default 1)",
    },
    relations=(_window_relation,),
)

SPIKE_RECORDER = ModelSpec(
    name="spike_recorder",
    kind="spike_recorder",
    doc="Records the spikes of the neurons connected to it.",
    params=dict(_WINDOW),
    relations=(_window_relation,),
)

VOLTMETER = ModelSpec(
    name="voltmeter",
    kind="voltmeter",
    doc="Records V_m of the neurons it is connected to, every `interval` ms.",
    params={"interval": Param("interval", 1.0, "ms", "sampling interval, a multiple of dt", check_finite), **_WINDOW},
    relations=(_window_relation,),
)

MULTIMETER = ModelSpec(
    name="multimeter",
    kind="voltmeter",
    doc="Records the state variables named in `record_from` (V_m, g_ex, w, ...: the model's recordables) of the "
        "neurons it is connected to, every `interval` ms.",
    params={"interval": Param("interval", 1.0, "ms", "sampling interval, a multiple of dt", check_finite), **_WINDOW},
    relations=(_window_relation,),
    array_params={"record_from": "names of the state variables to record"},
)

#: every device model
DEVICES = (POISSON_GENERATOR, DC_GENERATOR, SPIKE_GENERATOR, SPIKE_RECORDER, VOLTMETER, MULTIMETER)


def recorded_variables(device) -> tuple:
    """The variables a voltmeter or multimeter (a ``Population`` of one) records: ("V_m",) or its
    ``record_from``."""
    return tuple(device.params["record_from"]) if "record_from" in device.params else ("V_m",)
