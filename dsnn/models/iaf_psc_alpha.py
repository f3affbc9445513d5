"""``iaf_psc_alpha``: leaky integrate-and-fire neuron with alpha-shaped PSCs.

Exact integration with NEST's propagators and update order
(nest-simulator ``models/iaf_psc_alpha.cpp``, ``IAFPropagatorAlpha``). A
spike of weight w (pA) starts an alpha current that peaks at w after
tau_syn. Membrane potential is kept relative to ``E_L`` as NEST keeps it.
"""

from __future__ import annotations

import math

from ..support.jit import kernel
from .base import RESET_ABOVE_V_MIN, RESET_BELOW_THRESHOLD, ModelSpec, Param, check_positive, membrane_params
from .iaf_psc_exp import propagator_32_case
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
    name="iaf_psc_alpha",
    kind="neuron",
    doc=__doc__,
    params=membrane_params({
        "tau_syn_ex": Param("tau_syn_ex", 2.0, "ms", "rise time of the excitatory alpha current", check_positive),
        "tau_syn_in": Param("tau_syn_in", 2.0, "ms", "rise time of the inhibitory alpha current", check_positive),
    }),
    relations=(RESET_BELOW_THRESHOLD, RESET_ABOVE_V_MIN),
    recordables=("V_m", "I_syn_ex", "I_syn_in"),
)

STATE = ("V_m",)


def propagators_alpha(tau_syn: float, tau_m: float, c_m: float, h: float) -> tuple[float, float]:
    """(P31, P32): effect of dI_syn and I_syn on V_m over one step (NEST's IAFPropagatorAlpha)."""
    p32, singular = propagator_32_case(tau_syn, tau_m, c_m, h)
    if not singular:
        beta = tau_syn * tau_m / (tau_m - tau_syn)
        gamma = beta / c_m
        inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
        p31 = gamma * math.exp(-h / tau_syn) * (beta * math.expm1(h * inv_beta) - h)
    else:
        p31 = 0.5 * h * h / c_m * math.exp(-h / tau_m)
    return p31, p32


def constants(p: dict, dt: float) -> dict:
    h = dt
    P11ex = math.exp(-h / p["tau_syn_ex"])
    P11in = math.exp(-h / p["tau_syn_in"])
    P31ex, P32ex = propagators_alpha(p["tau_syn_ex"], p["tau_m"], p["C_m"], h)
    P31in, P32in = propagators_alpha(p["tau_syn_in"], p["tau_m"], p["C_m"], h)
    return dict(
        P11ex=P11ex,
        P11in=P11in,
        P21ex=h * P11ex,
        P21in=h * P11in,
        P30=-p["tau_m"] / p["C_m"] * math.expm1(-h / p["tau_m"]),
        P31ex=P31ex,
        P32ex=P32ex,
        P31in=P31in,
        P32in=P32in,
        expm1_tau_m=math.expm1(-h / p["tau_m"]),
        EPSC=1.0 * math.e / p["tau_syn_ex"],
        IPSC=1.0 * math.e / p["tau_syn_in"],
        I_e=float(p["I_e"]),
        theta=p["V_th"] - p["E_L"],
        V_reset=p["V_reset"] - p["E_L"],
        V_min=p["V_min"] - p["E_L"],
    )


def initial_state(values: dict, params: dict) -> dict:
    """Kernel state arrays from absolute initial values (V_m is kept relative to E_L)."""
    V = values["V_m"] - params["E_L"]
    zeros = V * 0.0
    return {"V": V, "Iex": zeros.copy(), "dIex": zeros.copy(), "Iin": zeros.copy(), "dIin": zeros.copy()}


#: the state arrays and constants the CPU and CUDA updates take, in this order
KERNEL_STATE = ("V", "Iex", "dIex", "Iin", "dIin", "I0", "ref")
KERNEL_CONSTANTS = ("P11ex", "P11in", "P21ex", "P21in", "P30", "P31ex", "P32ex", "P31in", "P32in", "expm1_tau_m",
                    "EPSC", "IPSC", "I_e", "theta", "V_reset", "V_min")
#: the state arrays of ``SPEC.recordables``, in that order (what the kernels record from)
RECORDED_STATE = ("V", "Iex", "Iin")


@kernel
def update(first_step, n_steps, blocks, V, Iex, dIex, Iin, dIin, y0, ref, ring_syn, ring_cur, consts,
           rec_idx, rec_var, rec_ptr, rec_out, with_current, fired, spk_idx, spk_step, n_spk):
    """Advance every block of this model by ``n_steps`` steps; see iaf_psc_exp.update (``consts[b]`` in the
    order of :data:`KERNEL_CONSTANTS`)."""
    R = ring_syn.shape[0]
    for b in range(blocks.shape[0]):
        lo, off, n, ref_counts = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
        Vb, Iexb, dIexb, Iinb = V[off:off + n], Iex[off:off + n], dIex[off:off + n], Iin[off:off + n]
        dIinb, y0b, refb = dIin[off:off + n], y0[off:off + n], ref[off:off + n]
        for k in range(n_steps):
            step = first_step + k
            slot = step % R
            ex, inh, cur = ring_syn[slot, 0, lo:lo + n], ring_syn[slot, 1, lo:lo + n], ring_cur[slot, lo:lo + n]
            if with_current:  # two copies of the loop, each without the branch (see iaf_psc_exp.update)
                _step_block(Vb, Iexb, dIexb, Iinb, dIinb, y0b, refb, ex, inh, cur, fired, consts[b], ref_counts,
                            True)
            else:
                _step_block(Vb, Iexb, dIexb, Iinb, dIinb, y0b, refb, ex, inh, cur, fired, consts[b], ref_counts,
                            False)
            n_spk = append_fired(fired, n, lo, step, spk_idx, spk_step, n_spk)
            record((V, Iex, Iin), rec_idx, rec_var, rec_out, k, rec_ptr[b], rec_ptr[b + 1])
    return n_spk


@kernel(inline=True)
def _step_block(V, Iex, dIex, Iin, dIin, y0, ref, ex_row, in_row, cur_row, fired, c, ref_counts, with_current):
    """One step of a block's neurons, without a branch (see iaf_psc_exp._step_block)."""
    P11ex, P11in, P21ex, P21in, P30 = c[0], c[1], c[2], c[3], c[4]
    P31ex, P32ex, P31in, P32in, expm1_tau_m = c[5], c[6], c[7], c[8], c[9]
    EPSC, IPSC, I_e, theta, V_reset, V_min = c[10], c[11], c[12], c[13], c[14], c[15]
    for q in range(V.shape[0]):
        r = ref[q]
        v = (P30 * (y0[q] + I_e) + P31ex * dIex[q] + P32ex * Iex[q] + P31in * dIin[q]
             + P32in * Iin[q] + expm1_tau_m * V[q] + V[q])
        v = V_min if v < V_min else v
        v = v if r == 0 else V[q]  # refractory: held
        ex, inh = take_synaptic(ex_row, in_row, q)
        Iex[q] = P21ex * dIex[q] + P11ex * Iex[q]
        dIex[q] = dIex[q] * P11ex + EPSC * ex
        Iin[q] = P21in * dIin[q] + P11in * Iin[q]
        dIin[q] = dIin[q] * P11in + IPSC * inh
        V[q], ref[q], fired[q] = fire(v, r - 1 if r > 0 else r, theta, V_reset, ref_counts)
        if with_current:  # else the current ring stays empty and y0 at 0: nothing to read or clear
            y0[q] = take_current(cur_row, q)


step_group = group_stepper(update, KERNEL_STATE)


# ------------------------------------------------------------------------------------------------ GPU
#: the CUDA update, bit for bit :func:`update` (see ``iaf_psc_exp.CUDA_KERNEL``)
CUDA_KERNEL = "iaf_psc_alpha_update"
CUDA_SOURCE = r"""
extern "C" __global__ void iaf_psc_alpha_update(
    const i64 first_step, const i64 n_steps, const i64 lo, const i64 n, const i64 n_local, const i64 R,
    double* V, double* Iex, double* dIex, double* Iin, double* dIin, double* I0, i64* ref,
    i64* ring_syn, i64* ring_cur,
    const double P11ex, const double P11in, const double P21ex, const double P21in, const double P30,
    const double P31ex, const double P32ex, const double P31in, const double P32in,
    const double expm1_tau_m, const double EPSC, const double IPSC, const double I_e,
    const double theta, const double V_reset, const double V_min,
    const i64 ref_counts, const i64* rec_map, double* rec_out, const i64 n_rec, i64* spk_idx, i64* spk_step,
    u64* n_spk)
{
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const i64 j = lo + i;
    double v = V[i], iex = Iex[i], diex = dIex[i], iin = Iin[i], diin = dIin[i], y0 = I0[i], in_ex, in_in;
    i64 r = ref[i];
    for (i64 k = 0; k < n_steps; ++k) {
        const i64 step = first_step + k;
        const i64 slot = step % R;
        if (r == 0) {
            v = P30 * (y0 + I_e) + P31ex * diex + P32ex * iex + P31in * diin + P32in * iin
                + expm1_tau_m * v + v;
            if (v < V_min) v = V_min;
        } else {
            r -= 1;
        }
        take_synaptic(ring_syn, slot, n_local, j, &in_ex, &in_in);
        iex = P21ex * diex + P11ex * iex;
        diex *= P11ex;
        diex += EPSC * in_ex;
        iin = P21in * diin + P11in * iin;
        diin *= P11in;
        diin += IPSC * in_in;
        fire(&v, &r, theta, V_reset, ref_counts, j, step, spk_idx, spk_step, n_spk);
        y0 = take_current(ring_cur, slot, n_local, j);
        if (rec_map[i] < rec_map[i + 1]) {
            const double values[] = {v, iex, iin};
            record_columns(rec_map, n, i, rec_out, k * n_rec, values);
        }
    }
    V[i] = v; Iex[i] = iex; dIex[i] = diex; Iin[i] = iin; dIin[i] = diin; I0[i] = y0; ref[i] = r;
}
"""
