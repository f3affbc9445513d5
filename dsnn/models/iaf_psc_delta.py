"""``iaf_psc_delta``: leaky integrate-and-fire neuron whose potential jumps at each spike arrival.

Exact integration of the subthreshold dynamics on the time grid, in NEST's
update order (nest-simulator ``models/iaf_psc_delta.cpp``): a spike of
weight w (mV, either sign) raises V_m by w in the step it arrives; the
potential is bounded below by ``V_min``; during the refractory period it is
held at ``V_reset`` and arriving spikes are dropped, or, with
``refractory_input``, kept and added when the period ends, each damped by
exp(-t/tau_m) over the time t it still had to wait. V_m is kept relative
to ``E_L``, as NEST keeps it. The rings hold the weights in mV here (the
same fixed point as the currents of the other models).
"""

from __future__ import annotations

import math

from ..support.jit import kernel
from .base import DBL_MAX, RESET_ABOVE_V_MIN, RESET_BELOW_THRESHOLD, ModelSpec, Param, membrane_params
from .stepping import (
    append_fired,
    fire,
    group_stepper,
    membrane_potential,  # noqa: F401 - the model's, re-exported
    record,
    take_current,
    take_synaptic,
)

SPEC = ModelSpec(
    name="iaf_psc_delta",
    kind="neuron",
    doc=__doc__,
    params={
        **membrane_params(v_min_default=-DBL_MAX),
        "refractory_input": Param("refractory_input", False, "", "keep the spikes arriving while refractory "
                                  "and add them, damped, when the period ends", is_switch=True),
    },
    relations=(RESET_BELOW_THRESHOLD, RESET_ABOVE_V_MIN),
    recordables=("V_m",),
)

STATE = ("V_m",)


def constants(p: dict, dt: float) -> dict:
    """Propagators and bounds (relative to E_L) for the update kernel (float64 scalars)."""
    P33 = math.exp(-dt / p["tau_m"])
    return dict(
        P33=P33,
        P30=1.0 / p["C_m"] * (1.0 - P33) * p["tau_m"],
        I_e=float(p["I_e"]),
        theta=p["V_th"] - p["E_L"],
        V_reset=p["V_reset"] - p["E_L"],
        V_min=p["V_min"] - p["E_L"],
        h=float(dt),
        tau_m=float(p["tau_m"]),
        refractory_input=1.0 if p["refractory_input"] else 0.0,
    )


def initial_state(values: dict, params: dict) -> dict:
    """Kernel state from absolute initial values: V (V_m - E_L) and the input kept while refractory."""
    V = values["V_m"] - params["E_L"]
    return {"V": V, "refr": V * 0.0}


#: the state arrays and constants the CPU and CUDA updates take, in this order
KERNEL_STATE = ("V", "refr", "I0", "ref")
KERNEL_CONSTANTS = ("P33", "P30", "I_e", "theta", "V_reset", "V_min", "h", "tau_m", "refractory_input")
#: the state arrays of ``SPEC.recordables``, in that order (what the kernels record from)
RECORDED_STATE = ("V",)


@kernel
def update(first_step, n_steps, blocks, V, refr, I0, ref, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr,
           rec_out, with_current, fired, spk_idx, spk_step, n_spk):
    """Advance every block of this model on the partition by ``n_steps`` steps (the arguments as
    ``iaf_psc_exp.update``'s; ``refr`` is the input kept while refractory, mV)."""
    R = ring_syn.shape[0]
    for b in range(blocks.shape[0]):
        lo, off, n, ref_counts = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
        Vb, refrb, I0b, refb = V[off:off + n], refr[off:off + n], I0[off:off + n], ref[off:off + n]
        keep = consts[b, 8] != 0.0
        for k in range(n_steps):
            step = first_step + k
            slot = step % R
            ex, inh, cur = ring_syn[slot, 0, lo:lo + n], ring_syn[slot, 1, lo:lo + n], ring_cur[slot, lo:lo + n]
            if keep:  # copies of the loop without branches on the switches (with them, it does not vectorise)
                if with_current:
                    _step_block(Vb, refrb, I0b, refb, ex, inh, cur, fired, consts[b], ref_counts, True, True)
                else:
                    _step_block(Vb, refrb, I0b, refb, ex, inh, cur, fired, consts[b], ref_counts, True, False)
            elif with_current:
                _step_block(Vb, refrb, I0b, refb, ex, inh, cur, fired, consts[b], ref_counts, False, True)
            else:
                _step_block(Vb, refrb, I0b, refb, ex, inh, cur, fired, consts[b], ref_counts, False, False)
            n_spk = append_fired(fired, n, lo, step, spk_idx, spk_step, n_spk)
            record((V,), rec_idx, rec_var, rec_out, k, rec_ptr[b], rec_ptr[b + 1])
    return n_spk


@kernel(inline=True)
def _step_block(V, refr, I0, ref, ex_row, in_row, cur_row, fired, c, ref_counts, keep, with_current):
    """One step of a block's neurons in NEST's order; ``keep`` (refractory_input) and ``with_current`` are
    constants where it is inlined."""
    P33, P30, I_e, theta, V_reset, V_min, h, tau_m = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    for q in range(V.shape[0]):
        r = ref[q]
        ex, inh = take_synaptic(ex_row, in_row, q)
        spikes = ex + inh
        v = P30 * (I0[q] + I_e) + P33 * V[q] + spikes
        if keep:
            kept = refr[q]
            v = v + kept if kept != 0.0 else v
            refr[q] = 0.0 if r == 0 else kept + spikes * math.exp(-float(r) * h / tau_m)
        v = V_min if v < V_min else v
        v = v if r == 0 else V[q]  # refractory: held, the spikes dropped (or kept above)
        V[q], ref[q], fired[q] = fire(v, r - 1 if r > 0 else r, theta, V_reset, ref_counts)
        if with_current:
            I0[q] = take_current(cur_row, q)


step_group = group_stepper(update, KERNEL_STATE)


# ------------------------------------------------------------------------------------------------ GPU
#: the CUDA update, the same float64 operations in the same order as :func:`update`
CUDA_KERNEL = "iaf_psc_delta_update"
CUDA_SOURCE = r"""
extern "C" __global__ void iaf_psc_delta_update(
    const i64 first_step, const i64 n_steps, const i64 lo, const i64 n, const i64 n_local, const i64 R,
    double* V, double* refr, double* I0, i64* ref, i64* ring_syn, i64* ring_cur,
    const double P33, const double P30, const double I_e, const double theta, const double V_reset,
    const double V_min, const double h, const double tau_m, const double refractory_input,
    const i64 ref_counts, const i64* rec_map, double* rec_out, const i64 n_rec, i64* spk_idx, i64* spk_step,
    u64* n_spk)
{
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const i64 j = lo + i;
    double v = V[i], kept = refr[i], i0 = I0[i], in_ex, in_in;
    i64 r = ref[i];
    for (i64 k = 0; k < n_steps; ++k) {
        const i64 step = first_step + k;
        const i64 slot = step % R;
        take_synaptic(ring_syn, slot, n_local, j, &in_ex, &in_in);
        const double spikes = in_ex + in_in;
        if (r == 0) {
            v = P30 * (i0 + I_e) + P33 * v + spikes;
            if (refractory_input != 0.0 && kept != 0.0) {
                v += kept;
                kept = 0.0;
            }
            v = v < V_min ? V_min : v;
        } else {
            if (refractory_input != 0.0) kept += spikes * glibc_exp(-(double)r * h / tau_m);
            r -= 1;
        }
        fire(&v, &r, theta, V_reset, ref_counts, j, step, spk_idx, spk_step, n_spk);
        i0 = take_current(ring_cur, slot, n_local, j);
        if (rec_map[i] < rec_map[i + 1]) {
            const double values[] = {v};
            record_columns(rec_map, n, i, rec_out, k * n_rec, values);
        }
    }
    V[i] = v; refr[i] = kept; I0[i] = i0; ref[i] = r;
}
"""
