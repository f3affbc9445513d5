"""What every neuron model's CPU update does with the partition's rings and spikes (numba helpers inlined
into the models' kernels): the CPU counterparts of the GPU prelude's ``take_synaptic``, ``take_current``
and ``fire`` (dsnn/backends/gpu.py), the same operations in the same order.

The rings hold int64 fixed-point input in units of 2**-32 pA (see dsnn/backends/cpu.py); a slot is read
and cleared by the update step it belongs to.
"""

from __future__ import annotations

from ..support.jit import kernel

__all__ = ["SCALE", "take_synaptic", "take_current", "fire", "append_fired", "append_spikes", "record",
           "membrane_potential", "absolute_membrane_potential", "group_stepper", "OVERFLOW"]

#: pA per fixed-point unit of the rings
SCALE = 2.0**-32


@kernel(inline=True)
def take_synaptic(ex_row, in_row, q):
    """(excitatory, inhibitory) input in pA of neuron ``q`` of a block whose ring rows (this step's slot,
    the block's neurons) are ``ex_row``/``in_row``; clears both."""
    ex = ex_row[q] * SCALE
    inh = in_row[q] * SCALE
    ex_row[q] = 0
    in_row[q] = 0
    return ex, inh


@kernel(inline=True)
def take_current(cur_row, q):
    """The current input (pA) of neuron ``q`` of a block whose current ring row is ``cur_row``; clears it. (A
    partition with no current input never writes its current ring: its models may skip this, see
    ``with_current``.)"""
    current = cur_row[q] * SCALE
    cur_row[q] = 0
    return current


@kernel(inline=True)
def fire(v, r, theta, V_reset, ref_counts):
    """The threshold test of a neuron whose new membrane potential is ``v`` and refractory count ``r``:
    ``(V, refractory count, fired)`` after it, reset and refractory where ``v`` reached ``theta``. Selects, not
    branches, so that the models' loops over neurons vectorise; :func:`append_fired` then lists the spikes."""
    fired = v >= theta
    return (V_reset if fired else v), (ref_counts if fired else r), fired


@kernel(inline=True)
def append_fired(fired, n, lo, step, spk_idx, spk_step, n_spk):
    """Append local neurons ``lo + q`` with ``fired[q]`` (q < n) and ``step`` at ``n_spk``, in neuron order;
    returns the new count. Every neuron is written at the current end and only a spike moves it on (no
    branch: the end stays within the buffers, which hold a spike per neuron and step)."""
    for q in range(n):
        spk_idx[n_spk] = lo + q
        spk_step[n_spk] = step
        n_spk += fired[q]
    return n_spk


#: what a run says when neurons spike more often in an interval than the buffers hold (here and on the GPU)
OVERFLOW = ("more spikes in one interval than neurons times steps (neurons spiking several times in a step): give "
            "them a refractory period (t_ref > 0)")


@kernel(inline=True)
def append_spikes(j, step, count, spk_idx, spk_step, n_spk):
    """Append ``count`` spikes of local neuron ``j`` at ``step`` (a model that may spike several times in a
    step); returns the new count. The buffers hold a spike per neuron and step: more spikes in an interval
    than that stop the run with an error."""
    if n_spk + count > spk_idx.shape[0]:
        raise OverflowError(OVERFLOW)
    for _ in range(count):
        spk_idx[n_spk] = j
        spk_step[n_spk] = step
        n_spk += 1
    return n_spk


@kernel(inline=True)
def record(recordables, rec_idx, rec_var, rec_out, k, first, last):
    """``rec_out[k, q] = recordables[rec_var[q]][rec_idx[q]]`` for the recorded columns ``first .. last-1`` of
    a block: ``recordables`` are the model's state arrays in the order of its ``SPEC.recordables``."""
    for q in range(first, last):
        rec_out[k, q] = recordables[rec_var[q]][rec_idx[q]]


def membrane_potential(block, values):
    """Absolute V_m from a block's kernel values ``V`` of a model that keeps V_m - E_L, as NEST's
    iaf_psc_* do."""
    return values + block.params["E_L"]


def absolute_membrane_potential(block, values):
    """V_m from a block's kernel values ``V`` of a model that keeps V_m absolute, as NEST's izhikevich and
    conductance-based models do."""
    return values


def group_stepper(update, kernel_state: tuple):
    """A model's ``step_group(group, first_step, n_steps, ring_syn, ring_cur, spk_idx, spk_step, n_spk)``:
    its ``update`` kernel called on a ``backends.partition.ModelGroup``, with the group's state arrays in
    the order of ``kernel_state`` (the model's ``KERNEL_STATE``)."""

    def step_group(group, first_step, n_steps, ring_syn, ring_cur, spk_idx, spk_step, n_spk):
        state = [group.state[name] for name in kernel_state]
        return update(first_step, n_steps, group.blocks, *state, ring_syn, ring_cur, group.consts, group.rec_idx,
                      group.rec_var, group.rec_ptr, group.rec_out, group.with_current, group.fired, spk_idx, spk_step,
                      n_spk)

    step_group.__doc__ = f":func:`update` for a partition's blocks of this model (state {', '.join(kernel_state)})."
    return step_group
