"""What every neuron model's CPU update does with the partition's rings and spikes (numba helpers inlined
into the models' kernels): the CPU counterparts of the GPU prelude's ``take_synaptic``, ``take_current``
and ``fire`` (dsnn/backends/gpu.py), the same operations in the same order.

The rings hold int64 fixed-point input in units of 2**-32 pA (see dsnn/backends/cpu.py); a slot is read
and cleared by the update step it belongs to.
"""

from __future__ import annotations

from ..support.jit import kernel

__all__ = ["SCALE", "take_synaptic", "take_current", "fire", "record"]

#: pA per fixed-point unit of the rings
SCALE = 2.0**-32


@kernel(inline=True)
def take_synaptic(ring_syn, slot, j):
    """(excitatory, inhibitory) input of local neuron ``j`` at ring slot ``slot`` in pA; clears both."""
    ex = ring_syn[slot, 0, j] * SCALE
    inh = ring_syn[slot, 1, j] * SCALE
    ring_syn[slot, 0, j] = 0
    ring_syn[slot, 1, j] = 0
    return ex, inh


@kernel(inline=True)
def take_current(ring_cur, slot, j):
    """The current input (pA) of local neuron ``j`` at ring slot ``slot``; clears it. (A partition with no
    current input never writes its current ring: its models may skip this, see ``with_current``.)"""
    current = ring_cur[slot, j] * SCALE
    ring_cur[slot, j] = 0
    return current


@kernel(inline=True)
def fire(V, ref, i, j, step, theta, V_reset, ref_counts, spk_idx, spk_step, n_spk):
    """If ``V[i]`` reached ``theta``: reset it, start the refractory count and append the spike (local
    index ``j``, ``step``) at ``n_spk``; returns the new spike count."""
    if V[i] >= theta:
        ref[i] = ref_counts
        V[i] = V_reset
        spk_idx[n_spk] = j
        spk_step[n_spk] = step
        return n_spk + 1
    return n_spk


@kernel(inline=True)
def record(V, rec_idx, rec_out, k, first, last):
    """``rec_out[k, q] = V[rec_idx[q]]`` for the recorded columns ``first .. last-1`` of a block."""
    for q in range(first, last):
        rec_out[k, q] = V[rec_idx[q]]
