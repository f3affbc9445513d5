"""``izhikevich``: Izhikevich's (2003) two-variable spiking neuron.

dV_m/dt = 0.04 V_m^2 + 5 V_m + 140 - U_m + I, dU_m/dt = a (b V_m - U_m); at
V_m >= V_th, V_m := c and U_m += d. Integrated as NEST 3.10 integrates it
(nest-simulator ``models/izhikevich.cpp``): forward Euler with both
variables updated from their old values (``consistent_integration``), or
with the published two half steps of V_m (the spikes' weights counted in
each, as a current) and U_m updated from the new V_m; otherwise a spike of
weight w (mV) raises V_m by w in the step it arrives; V_m is
bounded below by ``V_min``. No refractory period. V_m and U_m are kept as
they are (not relative to a rest potential).
"""

from __future__ import annotations

from ..support.jit import kernel
from .base import DBL_MAX, TAU_MINUS, ModelSpec, Param, check_finite, check_lower_bound
from .stepping import absolute_membrane_potential, append_fired, group_stepper, record, take_current, take_synaptic

SPEC = ModelSpec(
    name="izhikevich",
    kind="neuron",
    doc=__doc__,
    params={
        "a": Param("a", 0.02, "1/ms", "time scale of the recovery variable"),
        "b": Param("b", 0.2, "1/ms", "sensitivity of the recovery variable to V_m"),
        "c": Param("c", -65.0, "mV", "after-spike reset value of V_m"),
        "d": Param("d", 8.0, "mV/ms", "after-spike increment of U_m"),
        "V_th": Param("V_th", 30.0, "mV", "spike threshold"),
        "V_min": Param("V_min", -DBL_MAX, "mV", "lower bound of the membrane potential", check_lower_bound),
        "I_e": Param("I_e", 0.0, "pA", "constant input current"),
        "tau_minus": TAU_MINUS,
        "consistent_integration": Param("consistent_integration", True, "", "forward Euler from the old values "
                                        "of both variables (else the published scheme)", is_switch=True),
        "V_m": Param("V_m", -65.0, "mV", "membrane potential (initial state)", check_finite, True),
        "U_m": Param("U_m", -13.0, "mV/ms", "recovery variable (initial state)", check_finite, True),
    },
    recordables=("V_m", "U_m"),
)

STATE = ("V_m", "U_m")


def constants(p: dict, dt: float) -> dict:
    """The step and the parameters, for the update kernel (float64 scalars)."""
    return dict(h=float(dt), a=float(p["a"]), b=float(p["b"]), c=float(p["c"]), d=float(p["d"]),
                I_e=float(p["I_e"]), V_th=float(p["V_th"]), V_min=float(p["V_min"]),
                consistent=1.0 if p["consistent_integration"] else 0.0)


def initial_state(values: dict, params: dict) -> dict:
    """Kernel state arrays from the initial values (V_m absolute)."""
    return {"V": values["V_m"].copy(), "U": values["U_m"].copy()}


#: the state arrays and constants the CPU and CUDA updates take, in this order
KERNEL_STATE = ("V", "U", "I0", "ref")
KERNEL_CONSTANTS = ("h", "a", "b", "c", "d", "I_e", "V_th", "V_min", "consistent")
#: the state arrays of ``SPEC.recordables``, in that order (what the kernels record from)
RECORDED_STATE = ("V", "U")


@kernel
def update(first_step, n_steps, blocks, V, U, I0, ref, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr, rec_out,
           with_current, fired, spk_idx, spk_step, n_spk):
    """Advance every block of this model on the partition by ``n_steps`` steps (the arguments as
    ``iaf_psc_exp.update``'s; ``ref`` stays 0: the model is never refractory)."""
    R = ring_syn.shape[0]
    for b in range(blocks.shape[0]):
        lo, off, n = blocks[b, 0], blocks[b, 1], blocks[b, 2]
        Vb, Ub, I0b = V[off:off + n], U[off:off + n], I0[off:off + n]
        consistent = consts[b, 8] != 0.0
        for k in range(n_steps):
            step = first_step + k
            slot = step % R
            ex, inh, cur = ring_syn[slot, 0, lo:lo + n], ring_syn[slot, 1, lo:lo + n], ring_cur[slot, lo:lo + n]
            if consistent:  # copies of the loop without branches on the switches
                if with_current:
                    _step_block(Vb, Ub, I0b, ex, inh, cur, fired, consts[b], True, True)
                else:
                    _step_block(Vb, Ub, I0b, ex, inh, cur, fired, consts[b], True, False)
            elif with_current:
                _step_block(Vb, Ub, I0b, ex, inh, cur, fired, consts[b], False, True)
            else:
                _step_block(Vb, Ub, I0b, ex, inh, cur, fired, consts[b], False, False)
            n_spk = append_fired(fired, n, lo, step, spk_idx, spk_step, n_spk)
            record((V, U), rec_idx, rec_var, rec_out, k, rec_ptr[b], rec_ptr[b + 1])
    return n_spk


@kernel(inline=True)
def _step_block(V, U, I0, ex_row, in_row, cur_row, fired, c, consistent, with_current):
    """One step of a block's neurons in NEST's order and with NEST's float64 operations (``v += x`` is
    ``v + x`` with x evaluated first)."""
    h, a, b, c_reset, d, I_e, V_th, V_min = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    for q in range(V.shape[0]):
        ex, inh = take_synaptic(ex_row, in_row, q)
        spikes = ex + inh
        v, u = V[q], U[q]
        if consistent:
            v = V[q] + (h * (0.04 * V[q] * V[q] + 5.0 * V[q] + 140.0 - U[q] + I0[q] + I_e) + spikes)
            u = U[q] + h * a * (b * V[q] - U[q])
        else:
            v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + I0[q] + I_e + spikes)
            v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + I0[q] + I_e + spikes)
            u = u + h * a * (b * v - u)
        v = V_min if v < V_min else v
        spiked = v >= V_th
        V[q] = c_reset if spiked else v
        U[q] = u + d if spiked else u
        fired[q] = spiked
        if with_current:
            I0[q] = take_current(cur_row, q)


step_group = group_stepper(update, KERNEL_STATE)
membrane_potential = absolute_membrane_potential  # V_m kept absolute


# ------------------------------------------------------------------------------------------------ GPU
#: the CUDA update, the same float64 operations in the same order as :func:`update` (no fused multiply-add)
CUDA_KERNEL = "izhikevich_update"
CUDA_SOURCE = r"""
extern "C" __global__ void izhikevich_update(
    const i64 first_step, const i64 n_steps, const i64 lo, const i64 n, const i64 n_local, const i64 R,
    double* V, double* U, double* I0, i64* ref, i64* ring_syn, i64* ring_cur,
    const double h, const double a, const double b, const double c, const double d, const double I_e,
    const double V_th, const double V_min, const double consistent,
    const i64 ref_counts, const i64* rec_map, double* rec_out, const i64 n_rec, i64* spk_idx, i64* spk_step,
    u64* n_spk)
{
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const i64 j = lo + i;
    double v = V[i], u = U[i], i0 = I0[i], in_ex, in_in;
    for (i64 k = 0; k < n_steps; ++k) {
        const i64 step = first_step + k;
        const i64 slot = step % R;
        take_synaptic(ring_syn, slot, n_local, j, &in_ex, &in_in);
        const double spikes = in_ex + in_in;
        if (consistent != 0.0) {
            const double v_old = v, u_old = u;
            v = v_old + (h * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + i0 + I_e) + spikes);
            u = u_old + h * a * (b * v_old - u_old);
        } else {
            v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + i0 + I_e + spikes);
            v = v + h * 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + i0 + I_e + spikes);
            u = u + h * a * (b * v - u);
        }
        v = v < V_min ? V_min : v;
        if (v >= V_th) {
            v = c;
            u = u + d;
            const u64 at = atomicAdd(n_spk, (u64)1);
            spk_idx[at] = j;
            spk_step[at] = step;
        }
        i0 = take_current(ring_cur, slot, n_local, j);
        if (rec_map[i] < rec_map[i + 1]) {
            const double values[] = {v, u};
            record_columns(rec_map, n, i, rec_out, k * n_rec, values);
        }
    }
    V[i] = v; U[i] = u; I0[i] = i0; ref[i] = 0;
}
"""
