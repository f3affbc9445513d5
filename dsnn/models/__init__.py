"""The models dsnn knows, by their NEST names."""

from __future__ import annotations

from . import devices, iaf_psc_alpha, iaf_psc_exp
from .base import ModelSpec, Param

#: model name -> ModelSpec
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        iaf_psc_exp.SPEC,
        iaf_psc_alpha.SPEC,
        devices.POISSON_GENERATOR,
        devices.DC_GENERATOR,
        devices.SPIKE_GENERATOR,
        devices.SPIKE_RECORDER,
        devices.VOLTMETER,
    )
}

#: neuron model name -> module with constants(), initial_state(), step_block()
NEURON_KERNELS = {"iaf_psc_exp": iaf_psc_exp, "iaf_psc_alpha": iaf_psc_alpha}

__all__ = ["MODELS", "NEURON_KERNELS", "ModelSpec", "Param"]
