"""Each neuron model's CUDA update takes exactly the arguments the GPU backend passes it (the model's
declarations, between the head and tail every neuron kernel shares), and the names it reads exist.
Checked on the source, so it holds on machines without a GPU too."""

from __future__ import annotations

import re

import pytest

from dsnn.models import NEURON_MODELS

HEAD = ["first_step", "n_steps", "lo", "n", "n_local", "R"]
RINGS = ["ring_syn", "ring_cur"]
TAIL = ["ref_counts", "rec_map", "rec_out", "n_rec", "spk_idx", "spk_step", "n_spk"]


def _parameters(source: str, kernel: str) -> list:
    match = re.search(r'extern "C" __global__ void ' + re.escape(kernel) + r"\((.*?)\)\s*\{", source, re.S)
    assert match, f"no kernel {kernel} in the model's CUDA_SOURCE"
    return [re.split(r"[\s*]+", p.strip())[-1] for p in match.group(1).split(",")]


@pytest.mark.parametrize("name", sorted(n for n, m in NEURON_MODELS.items() if m.CUDA_KERNEL))
def test_cuda_kernel_arguments_match_the_declarations(name):
    model = NEURON_MODELS[name]
    got = _parameters(model.CUDA_SOURCE, model.CUDA_KERNEL)
    assert got == HEAD + list(model.KERNEL_STATE) + RINGS + list(model.KERNEL_CONSTANTS) + TAIL


@pytest.mark.parametrize("name", sorted(NEURON_MODELS))
def test_the_declared_state_and_constants_exist(name):
    import numpy as np

    model = NEURON_MODELS[name]
    params = model.SPEC.defaults()
    scalars = {k: v for k, v in params.items() if not model.SPEC.params[k].is_state}
    state = model.initial_state({k: np.full(3, params[k]) for k in model.STATE}, scalars)
    assert set(model.KERNEL_STATE) <= set(state) | {"I0", "ref"}  # the construction adds I0 and ref
    assert set(state) <= set(model.KERNEL_STATE)  # every state array is stepped
    assert set(model.KERNEL_CONSTANTS) <= set(model.constants(scalars, 0.1))


@pytest.mark.parametrize("name", sorted(NEURON_MODELS))
def test_the_recordables_name_state_arrays_v_m_first(name):
    """A model's ``SPEC.recordables`` (what multimeters record and ``sim.state_variable`` reads) map one to one
    onto state arrays it steps (``RECORDED_STATE``), V_m first where it has one (the recordings' V_m
    conversion relies on it)."""
    model = NEURON_MODELS[name]
    assert len(model.RECORDED_STATE) == len(model.SPEC.recordables)
    assert set(model.RECORDED_STATE) <= set(model.KERNEL_STATE)
    assert model.SPEC.has_membrane_potential == (model.SPEC.recordables[:1] == ("V_m",))
