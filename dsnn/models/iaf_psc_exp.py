"""``iaf_psc_exp``: leaky integrate-and-fire neuron with exponential PSCs.

Exact integration of the linear subthreshold dynamics on the time grid, with
NEST's propagators and NEST's update order (nest-simulator
``models/iaf_psc_exp.cpp``; the singular case tau_m == tau_syn follows
``libnestutil/iaf_propagator.cpp``). Membrane potential is kept relative to
``E_L`` exactly as NEST keeps it, so traces agree to rounding.
"""

from __future__ import annotations

import math

from ..support.jit import kernel
from .base import RESET_BELOW_THRESHOLD, ModelSpec, Param, check_finite, check_positive, membrane_params
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
    name="iaf_psc_exp",
    kind="neuron",
    doc=__doc__,
    params={
        **membrane_params({
            "tau_syn_ex": Param("tau_syn_ex", 2.0, "ms", "excitatory synaptic time constant", check_positive),
            "tau_syn_in": Param("tau_syn_in", 2.0, "ms", "inhibitory synaptic time constant", check_positive),
        }, v_min=False),
        "I_syn_ex": Param("I_syn_ex", 0.0, "pA", "excitatory synaptic current (initial state)", check_finite, True),
        "I_syn_in": Param("I_syn_in", 0.0, "pA", "inhibitory synaptic current (initial state)", check_finite, True),
    },
    relations=(RESET_BELOW_THRESHOLD,),
    recordables=("V_m", "I_syn_ex", "I_syn_in"),
)

STATE = ("V_m", "I_syn_ex", "I_syn_in")


def propagator_32_case(tau_syn: float, tau_m: float, c_m: float, h: float) -> tuple[float, bool]:
    """P_VI (effect of a synaptic current on V_m over one step ``h``) and whether
    the singular limit tau_m == tau_syn was used (NEST's IAFPropagator)."""
    p32_singular = h / c_m * math.exp(-h / tau_m)
    if tau_m == tau_syn:
        return p32_singular, True
    beta = tau_syn * tau_m / (tau_m - tau_syn)
    gamma = beta / c_m
    inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)
    p32 = gamma * math.exp(-h / tau_syn) * math.expm1(h * inv_beta)
    if not (math.isfinite(p32) and p32 > 0) or abs(p32 - p32_singular) > p32_singular:
        return p32_singular, True
    return p32, False


def propagator_32(tau_syn: float, tau_m: float, c_m: float, h: float) -> float:
    """P_VI of NEST's IAFPropagatorExp (see :func:`propagator_32_case`)."""
    return propagator_32_case(tau_syn, tau_m, c_m, h)[0]


def constants(p: dict, dt: float) -> dict:
    """Propagators and thresholds for the update kernel (all float64 scalars)."""
    h = dt
    P22 = math.exp(-h / p["tau_m"])
    return dict(
        P11ex=math.exp(-h / p["tau_syn_ex"]),
        P11in=math.exp(-h / p["tau_syn_in"]),
        P22=P22,
        P21ex=propagator_32(p["tau_syn_ex"], p["tau_m"], p["C_m"], h),
        P21in=propagator_32(p["tau_syn_in"], p["tau_m"], p["C_m"], h),
        P20=p["tau_m"] / p["C_m"] * (1.0 - P22),
        I_e=float(p["I_e"]),
        theta=p["V_th"] - p["E_L"],
        V_reset=p["V_reset"] - p["E_L"],
    )


def initial_state(values: dict, params: dict) -> dict:
    """Kernel state arrays from absolute initial values (V_m is kept relative to E_L)."""
    return {
        "V": values["V_m"] - params["E_L"],
        "Iex": values["I_syn_ex"].copy(),
        "Iin": values["I_syn_in"].copy(),
    }


#: the state arrays and constants the CPU and CUDA updates take, in this order
KERNEL_STATE = ("V", "Iex", "Iin", "I0", "ref")
KERNEL_CONSTANTS = ("P11ex", "P11in", "P22", "P21ex", "P21in", "P20", "I_e", "theta", "V_reset")
#: the state arrays of ``SPEC.recordables``, in that order (what the kernels record from)
RECORDED_STATE = ("V", "Iex", "Iin")


@kernel
def update(first_step, n_steps, blocks, V, Iex, Iin, I0, ref, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr,
           rec_out, with_current, fired, spk_idx, spk_step, n_spk):
    """Advance every block of this model on the partition by ``n_steps`` steps.

    Block ``b`` is the row ``blocks[b] = (lo, off, n, ref_counts)``: local
    neurons ``lo .. lo+n-1``, whose state is at ``off .. off+n-1`` of the
    state arrays, with the constants ``consts[b]`` (in the order of
    :data:`KERNEL_CONSTANTS`). ``ring_syn`` (R, 2, n_local) and ``ring_cur``
    (R, n_local) are int64 fixed-point input buffers (units of 2**-32 pA),
    read and cleared at slot ``step % R``. Spikes are appended to
    ``spk_idx``/``spk_step`` from position ``n_spk``, in (block, step, neuron)
    order; returns the new count. ``rec_out[k, q]`` receives, after step
    ``k``, variable ``rec_var[q]`` of the model's ``SPEC.recordables`` (V_m
    as the kernel keeps it: V_m - E_L here) of state index ``rec_idx[q]``,
    for ``q`` in block ``b``'s ``rec_ptr[b] .. rec_ptr[b+1]-1``. ``with_current``: the partition has
    current input (dc generators); without, ``ring_cur`` is never written,
    so it is neither read nor cleared. ``fired``: uint8 scratch of a flag
    per neuron of the largest block.
    """
    R = ring_syn.shape[0]
    for b in range(blocks.shape[0]):
        lo, off, n, ref_counts = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
        Vb, Iexb, Iinb = V[off:off + n], Iex[off:off + n], Iin[off:off + n]
        I0b, refb = I0[off:off + n], ref[off:off + n]
        for k in range(n_steps):
            step = first_step + k
            slot = step % R
            ex, inh, cur = ring_syn[slot, 0, lo:lo + n], ring_syn[slot, 1, lo:lo + n], ring_cur[slot, lo:lo + n]
            if with_current:  # two copies of the loop, each without the branch (with it, it does not vectorise)
                _step_block(Vb, Iexb, Iinb, I0b, refb, ex, inh, cur, fired, consts[b], ref_counts, True)
            else:
                _step_block(Vb, Iexb, Iinb, I0b, refb, ex, inh, cur, fired, consts[b], ref_counts, False)
            n_spk = append_fired(fired, n, lo, step, spk_idx, spk_step, n_spk)
            record((V, Iex, Iin), rec_idx, rec_var, rec_out, k, rec_ptr[b], rec_ptr[b + 1])
    return n_spk


@kernel(inline=True)
def _step_block(V, Iex, Iin, I0, ref, ex_row, in_row, cur_row, fired, c, ref_counts, with_current):
    """One step of a block's neurons (views of its state and of its ring rows): ``fired[q]`` tells whether
    neuron ``q`` spiked. Without a branch, so that the compiler vectorises it; ``with_current`` is a
    constant where it is inlined."""
    P11ex, P11in, P22, P21ex, P21in, P20, I_e, theta, V_reset = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    for q in range(V.shape[0]):
        r = ref[q]
        v = V[q] * P22 + Iex[q] * P21ex + Iin[q] * P21in + (I_e + I0[q]) * P20
        v = v if r == 0 else V[q]  # refractory: held
        ex, inh = take_synaptic(ex_row, in_row, q)
        Iex[q] = Iex[q] * P11ex + ex
        Iin[q] = Iin[q] * P11in + inh
        V[q], ref[q], fired[q] = fire(v, r - 1 if r > 0 else r, theta, V_reset, ref_counts)
        if with_current:  # else the current ring stays empty and I0 at 0: nothing to read or clear
            I0[q] = take_current(cur_row, q)


step_group = group_stepper(update, KERNEL_STATE)


# ------------------------------------------------------------------------------------------------ GPU
#: the CUDA update: one thread per neuron looping over the interval's steps, the same float64 operations
#: in the same order as :func:`update` (compiled without fused multiply-add: bit for bit the CPU's). It
#: uses the helpers of the GPU backend's prelude (``take_synaptic``, ``take_current``, ``fire``).
CUDA_KERNEL = "iaf_psc_exp_update"
#: its arguments between the backend's common head and tail: the :data:`KERNEL_STATE` arrays, the two rings,
#: the :data:`KERNEL_CONSTANTS` (float64), in this order
CUDA_SOURCE = r"""
extern "C" __global__ void iaf_psc_exp_update(
    const i64 first_step, const i64 n_steps, const i64 lo, const i64 n, const i64 n_local, const i64 R,
    double* V, double* Iex, double* Iin, double* I0, i64* ref, i64* ring_syn, i64* ring_cur,
    const double P11ex, const double P11in, const double P22, const double P21ex, const double P21in,
    const double P20, const double I_e, const double theta, const double V_reset,
    const i64 ref_counts, const i64* rec_map, double* rec_out, const i64 n_rec, i64* spk_idx, i64* spk_step,
    u64* n_spk)
{
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const i64 j = lo + i;
    double v = V[i], iex = Iex[i], iin = Iin[i], i0 = I0[i], in_ex, in_in;
    i64 r = ref[i];
    for (i64 k = 0; k < n_steps; ++k) {
        const i64 step = first_step + k;
        const i64 slot = step % R;
        if (r == 0) {
            v = v * P22 + iex * P21ex + iin * P21in + (I_e + i0) * P20;
        } else {
            r -= 1;
        }
        iex *= P11ex;
        iin *= P11in;
        take_synaptic(ring_syn, slot, n_local, j, &in_ex, &in_in);
        iex += in_ex;
        iin += in_in;
        fire(&v, &r, theta, V_reset, ref_counts, j, step, spk_idx, spk_step, n_spk);
        i0 = take_current(ring_cur, slot, n_local, j);
        if (rec_map[i] < rec_map[i + 1]) {
            const double values[] = {v, iex, iin};
            record_columns(rec_map, n, i, rec_out, k * n_rec, values);
        }
    }
    V[i] = v; Iex[i] = iex; Iin[i] = iin; I0[i] = i0; ref[i] = r;
}
"""
