"""The models dsnn knows, by their NEST names.

A neuron model is one module here that owns everything about it: its
parameters (``SPEC``, NEST's names, defaults and units), its initial state
and constants, its CPU update (a numba kernel stepping all of a partition's
blocks of the model in one call, :func:`step_group`) and its CUDA update
(``CUDA_SOURCE`` with ``CUDA_KERNEL``, None where it has none yet: such a
model is built on the CPU); ``KERNEL_STATE`` and
``KERNEL_CONSTANTS`` name the arguments of both. To add one, write its
module and list it in :data:`NEURON_MODELS`. Devices (generators and
recorders) are schemas only (:mod:`.devices`): the construction and the
backends implement them.
"""

from __future__ import annotations

from . import (
    aeif_cond_alpha,
    aeif_cond_exp,
    devices,
    iaf_cond_alpha,
    iaf_cond_exp,
    iaf_psc_alpha,
    iaf_psc_delta,
    iaf_psc_exp,
    izhikevich,
    parrot_neuron,
)
from .base import ModelSpec, Param

#: neuron model name -> its module (SPEC, STATE, constants(), initial_state(), step_group(), KERNEL_*, CUDA_*)
NEURON_MODELS = {module.SPEC.name: module
                 for module in (iaf_psc_exp, iaf_psc_alpha, iaf_psc_delta, izhikevich, parrot_neuron, iaf_cond_exp,
                                iaf_cond_alpha, aeif_cond_exp, aeif_cond_alpha)}

#: model name -> ModelSpec, neurons and devices
MODELS: dict[str, ModelSpec] = {
    **{name: module.SPEC for name, module in NEURON_MODELS.items()},
    **{spec.name: spec for spec in devices.DEVICES},
}

__all__ = ["MODELS", "NEURON_MODELS", "ModelSpec", "Param"]
