"""``parrot_neuron``: repeats every spike it receives, at the time it arrives, with its multiplicity.

As NEST's ``parrot_neuron`` (nest-simulator ``models/parrot_neuron.cpp``):
the spikes arriving in a step are counted, whatever the weights of the
connections they came through (dsnn connects onto a parrot with weight 1,
so the ring holds the count: see ``Network.connect``), and the neuron emits
that many spikes in that step, stamped like any neuron's spike. Its
outgoing connections are ordinary: each repeated spike is delivered with
their weights and delays, so a spike of multiplicity m counts m times. It
has no membrane potential and takes no current. A typical use: a
poisson_generator connected to a parrot, and the parrot to many neurons,
gives all of them the same Poisson train.
"""

from __future__ import annotations

from ..support.jit import kernel
from .base import TAU_MINUS, ModelSpec

SPEC = ModelSpec(name="parrot_neuron", kind="neuron", doc=__doc__, params={"tau_minus": TAU_MINUS},
                 repeats_spikes=True)

#: no state variable that a user sets or records (no V_m)
STATE = ()

#: the ring's units of one arriving spike (weight 1 in the rings' 2**-32 fixed point)
ONE_SPIKE = 1 << 32


def constants(p: dict, dt: float) -> dict:
    return {}


def initial_state(values: dict, params: dict) -> dict:
    return {}


#: the CUDA update, :func:`update` per neuron: one thread per parrot, its spikes appended together (the
#: buffers must hold them: ``gpu.update_blocks`` counts them first, as :func:`spikes_due` does)
CUDA_KERNEL = "parrot_neuron_update"
CUDA_SOURCE = r"""
extern "C" __global__ void parrot_neuron_update(
    const i64 first_step, const i64 n_steps, const i64 lo, const i64 n, const i64 n_local, const i64 R,
    i64* ref, i64* ring_syn, i64* ring_cur,
    const i64 ref_counts, const i64* rec_map, double* rec_out, const i64 n_rec, i64* spk_idx, i64* spk_step,
    u64* n_spk)
{
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const i64 j = lo + i;
    for (i64 k = 0; k < n_steps; ++k) {
        const i64 step = first_step + k;
        i64* ex = ring_syn + ((step % R) * 2 + 0) * n_local + j;
        i64* in = ex + n_local;
        const i64 count = (*ex + *in) >> 32;  /* arrivals of weight 1 in 2**-32 fixed point */
        *ex = 0;
        *in = 0;
        if (count > 0) {
            const u64 at = atomicAdd(n_spk, (u64)count);
            for (i64 c = 0; c < count; ++c) {
                spk_idx[at + c] = j;
                spk_step[at + c] = step;
            }
        }
    }
}
"""

#: the state arrays and constants the CPU update takes (none of its own: the refractory count every
#: neuron block has, always 0)
KERNEL_STATE = ("ref",)
KERNEL_CONSTANTS = ()
#: the state arrays of ``SPEC.recordables``, in that order (what the kernels record from)
RECORDED_STATE = ()


@kernel
def update(first_step, n_steps, blocks, ref, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr, rec_out,
           with_current,
           fired, spk_idx, spk_step, n_spk):
    """Advance every parrot block of the partition by ``n_steps`` steps (the arguments as
    ``iaf_psc_exp.update``'s): each neuron emits as many spikes in a step as arrived in it, appended one
    after the other (the buffers must hold them: :func:`spikes_due`)."""
    R = ring_syn.shape[0]
    for b in range(blocks.shape[0]):
        lo, n = blocks[b, 0], blocks[b, 2]
        for k in range(n_steps):
            step = first_step + k
            slot = step % R
            for q in range(lo, lo + n):
                count = (ring_syn[slot, 0, q] + ring_syn[slot, 1, q]) // ONE_SPIKE
                ring_syn[slot, 0, q] = 0
                ring_syn[slot, 1, q] = 0
                for _ in range(count):
                    spk_idx[n_spk] = q
                    spk_step[n_spk] = step
                    n_spk += 1
    return n_spk


@kernel
def _arrivals(first_step, n_steps, blocks, ring_syn):
    R = ring_syn.shape[0]
    total = 0
    for b in range(blocks.shape[0]):
        lo, n = blocks[b, 0], blocks[b, 2]
        for k in range(n_steps):
            slot = (first_step + k) % R
            for q in range(lo, lo + n):
                total += (ring_syn[slot, 0, q] + ring_syn[slot, 1, q]) // ONE_SPIKE
    return total


def spikes_due(group, first_step: int, n_steps: int, ring_syn) -> int:
    """How many spikes the group's parrots will emit in steps ``first_step .. first_step+n_steps-1``: what
    arrived for those steps, all of it in the ring before the interval starts (delays are at least the
    interval)."""
    return int(_arrivals(first_step, n_steps, group.blocks, ring_syn))


def step_group(group, first_step, n_steps, ring_syn, ring_cur, spk_idx, spk_step, n_spk):
    """:func:`update` for a partition's parrot blocks."""
    return update(first_step, n_steps, group.blocks, group.state["ref"], ring_syn, ring_cur, group.consts,
                  group.rec_idx, group.rec_var, group.rec_ptr, group.rec_out, group.with_current, group.fired, spk_idx,
                  spk_step, n_spk)
