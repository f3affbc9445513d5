"""Synapse models (description only): ``static_synapse``, NEST's pair-based ``stdp_synapse`` and its
power-law ``stdp_pl_synapse_hom`` (``tau_plus``, ``lambda``, ``alpha``, ``mu``), and the short-term
plasticity of ``tsodyks2_synapse`` (``U``, ``u``, ``x``, ``tau_rec``, ``tau_fac``).

A synapse model is named in ``syn_spec["synapse_model"]`` with its
parameters beside weight and delay, as NEST takes them. ``stdp_synapse``
has NEST 3.10's parameters and defaults (nest-simulator
``models/stdp_synapse.h``): ``tau_plus`` (ms), ``lambda``, ``alpha``,
``mu_plus``, ``mu_minus`` and ``Wmax`` (pA, the sign of the weights);
the depression trace's time constant ``tau_minus`` is a parameter of the
target neuron, as in NEST.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["SYNAPSE_MODELS", "STDP_DEFAULTS", "STDP_PL_DEFAULTS", "TSODYKS2_DEFAULTS", "parse_synapse"]

#: stdp_synapse's parameters and NEST's defaults
STDP_DEFAULTS = {"tau_plus": 20.0, "lambda": 0.01, "alpha": 1.0, "mu_plus": 1.0, "mu_minus": 1.0, "Wmax": 100.0}

#: stdp_pl_synapse_hom's parameters and NEST's defaults (the power-law rule of Morrison et al. 2007)
STDP_PL_DEFAULTS = {"tau_plus": 20.0, "lambda": 0.1, "alpha": 1.0, "mu": 0.4}

#: tsodyks2_synapse's parameters and NEST's defaults: short-term depression and facilitation (Tsodyks and
#: Markram; ``u`` and ``x`` are the initial state)
TSODYKS2_DEFAULTS = {"U": 0.5, "u": 0.5, "x": 1.0, "tau_rec": 800.0, "tau_fac": 0.0}

#: synapse model -> its parameters besides weight, delay and receptor_type, with their defaults
SYNAPSE_MODELS = {"static_synapse": {}, "stdp_synapse": STDP_DEFAULTS, "stdp_pl_synapse_hom": STDP_PL_DEFAULTS,
                  "tsodyks2_synapse": TSODYKS2_DEFAULTS}


def parse_synapse(model, given: dict, weight_bounds: tuple) -> tuple:
    """``(model, ((name, value), ...))`` of a syn_spec's synapse model and its parameters, checked.

    ``given`` holds the syn_spec's keys other than synapse_model, weight,
    delay and receptor_type; ``weight_bounds`` the smallest and largest
    weight the syn_spec may draw (pA). Raises ValueError/TypeError naming
    the key and what is allowed.
    """
    if not isinstance(model, str) or model not in SYNAPSE_MODELS:
        raise ValueError(f"syn_spec: synapse_model must be one of {sorted(SYNAPSE_MODELS)}, got {model!r}")
    allowed = SYNAPSE_MODELS[model]
    unknown = set(given) - set(allowed)
    if unknown:
        keys = sorted(["synapse_model", "weight", "delay", "receptor_type", *allowed])
        raise ValueError(f"syn_spec: unknown key(s) {sorted(unknown)} for {model}; allowed: {keys}")
    params = dict(allowed)
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise TypeError(f"syn_spec: {name} of {model} must be a finite number, got {value!r}")
        params[name] = float(value)
    if model == "stdp_synapse":
        if not params["tau_plus"] > 0:
            raise ValueError(f"syn_spec: tau_plus must be > 0 ms, got {params['tau_plus']}")
        if params["Wmax"] == 0:
            raise ValueError("syn_spec: Wmax must not be 0 (its sign is the weights' sign)")
        lo, hi = weight_bounds
        if (params["Wmax"] > 0 and lo < 0) or (params["Wmax"] < 0 and hi > 0):
            raise ValueError(f"syn_spec: the weights and Wmax must have the same sign (as NEST requires): "
                             f"Wmax={params['Wmax']}, weights from {lo} to {hi}")
    if model == "tsodyks2_synapse":
        for name in ("U", "u"):
            if not 0.0 <= params[name] <= 1.0:
                raise ValueError(f"syn_spec: {name} must be in [0, 1], got {params[name]}")
        if not params["tau_rec"] > 0:
            raise ValueError(f"syn_spec: tau_rec must be > 0 ms, got {params['tau_rec']}")
        if not params["tau_fac"] >= 0:
            raise ValueError(f"syn_spec: tau_fac must be >= 0 ms, got {params['tau_fac']}")
    if model == "stdp_pl_synapse_hom":
        if not params["tau_plus"] > 0:
            raise ValueError(f"syn_spec: tau_plus must be > 0 ms, got {params['tau_plus']}")
        if weight_bounds[0] < 0:
            raise ValueError(f"syn_spec: stdp_pl_synapse_hom's weights must be >= 0 (its facilitation takes "
                             f"weight**mu), got weights from {weight_bounds[0]}")
    return model, tuple(sorted(params.items()))
