"""``aeif_cond_alpha``: adaptive exponential integrate-and-fire neuron (AdEx) with alpha-shaped synaptic
conductances (Brette & Gerstner 2005).

C_m dV_m/dt = -g_L (V_m - E_L) + g_L Delta_T exp((V_m - V_th) / Delta_T)
- g_ex (V_m - E_ex) - g_in (V_m - E_in) - w + I_e + I,
tau_w dw/dt = a (V_m - E_L) - w, each conductance an alpha function (dg/dt =
dg - g / tau_syn, d(dg)/dt = -dg / tau_syn); at V_m >= V_peak: V_m :=
V_reset, w += b, refractory for t_ref. A spike of weight w (nS) raises dg_ex
by w e / tau_syn_ex (w > 0) or dg_in by -w e / tau_syn_in: g peaks at |w|. As NEST 3.10 integrates it (nest-simulator
``models/aeif_cond_alpha.cpp``): GSL's adaptive RKF45 (:mod:`.adaptive`,
error ``gsl_error_tol`` absolute and relative to h dy/dt), with the spike
test after every integration step inside the simulation step (without a
refractory period a neuron may spike more than once in a step), V_m held
at V_reset in the equations while refractory and bounded by V_peak; then
the step's spikes are added to the conductances' derivatives.
"""

from __future__ import annotations

from ..support.jit import kernel
from .base import ModelSpec
from .conductance import (
    COMMON_CONSTANTS,
    absolute_state,
    adex_exact_dynamics,
    adex_exact_dynamics_inline,
    adex_membrane,
    adex_params,
    adex_relations,
    advance,
    alpha_at,
    common_constants,
    cuda_source,
    stepper,
)
from .stepping import absolute_membrane_potential

SPEC = ModelSpec(name="aeif_cond_alpha", kind="neuron", doc=__doc__, params=adex_params(alpha=True),
                 relations=adex_relations(), recordables=("V_m", "g_ex", "g_in", "w"))

STATE = ("V_m", "dg_ex", "g_ex", "dg_in", "g_in", "w")

#: the parameters the right-hand side reads, after the :data:`~.conductance.COMMON_CONSTANTS`
OWN_CONSTANTS = ("E_L", "g_L", "C_m", "E_ex", "E_in", "tau_syn_ex", "tau_syn_in", "I_e", "V_peak", "Delta_T", "V_th",
                 "tau_w", "a", "exact_conductances")


def constants(p: dict, dt: float) -> dict:
    """The common constants and the model's own (float64), for the update kernel."""
    return {**common_constants(p, dt, alpha=True, adex=True), **{name: float(p[name]) for name in OWN_CONSTANTS}}


def initial_state(values: dict, params: dict) -> dict:
    """Kernel state arrays from the initial values (V_m absolute, as NEST keeps it)."""
    return absolute_state(values, STATE)


#: the state arrays and constants the update takes, in this order
KERNEL_STATE = ("V", "dg_ex", "g_ex", "dg_in", "g_in", "w", "h", "I0", "ref")
KERNEL_CONSTANTS = COMMON_CONSTANTS + OWN_CONSTANTS
#: the index of ``exact_conductances`` among the kernel constants
EXACT_FLAG = KERNEL_CONSTANTS.index("exact_conductances")
#: the state arrays of ``SPEC.recordables``, in that order (what the kernels record from)
RECORDED_STATE = ("V", "g_ex", "g_in", "w")


@kernel(inline=True)
def _dynamics(w, ln, s, f, c, refractory, stim, inline):
    tau_ex, tau_in = c[15], c[16]
    w[ln, f, 0], w[ln, f, 5] = adex_membrane(c, w[ln, s, 0], w[ln, s, 2], w[ln, s, 4], w[ln, s, 5], refractory, stim,
                                             inline)
    w[ln, f, 1] = -w[ln, s, 1] / tau_ex
    w[ln, f, 2] = w[ln, s, 1] - w[ln, s, 2] / tau_ex
    w[ln, f, 3] = -w[ln, s, 3] / tau_in
    w[ln, f, 4] = w[ln, s, 3] - w[ln, s, 4] / tau_in


@kernel(inline=True)
def dynamics(w, ln, s, f, c, refractory, stim):
    """NEST's ``aeif_cond_alpha_dynamics``: the state (V_m, dg_ex, g_ex, dg_in, g_in, w)."""
    _dynamics(w, ln, s, f, c, refractory, stim, False)


@kernel(inline=True)
def dynamics_inline(w, ln, s, f, c, refractory, stim):
    """:func:`dynamics` with libm's exp computed inline (the same values)."""
    _dynamics(w, ln, s, f, c, refractory, stim, True)


@kernel(inline=True)
def _advance(dyn, exact_dyn, first_step, n_steps, blocks, V, dg_ex, g_ex, dg_in, g_in, W, H, I0, ref, ring_syn,
             ring_cur, consts, rec_idx, rec_var, rec_ptr, rec_out, with_current, spk_idx, spk_step, n_spk, work, lanes,
             counts):
    return advance(dyn, 6, (V, dg_ex, g_ex, dg_in, g_in, W), (V, g_ex, g_in, W), H, I0, ref, first_step, n_steps,
                   blocks, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr, rec_out, with_current, spk_idx,
                   spk_step, n_spk, work, lanes, counts, adex=True, input_first=False, layout=(1, 3, 5),
                   exact_at=alpha_at, exact=(EXACT_FLAG, 1, 2, 3, 4), exact_dynamics=exact_dyn)


@kernel
def update(first_step, n_steps, blocks, V, dg_ex, g_ex, dg_in, g_in, W, H, I0, ref, ring_syn, ring_cur, consts,
           rec_idx, rec_var, rec_ptr, rec_out, with_current, fired, spk_idx, spk_step, n_spk, work, lanes, counts):
    """Advance every block of this model on the partition by ``n_steps`` steps (the arguments as
    ``iaf_psc_exp.update``'s; ``H``: each neuron's integration step size, ms; ``work``, ``lanes``, ``counts``:
    scratch): :func:`.conductance.advance`."""
    return _advance(dynamics, adex_exact_dynamics, first_step, n_steps, blocks, V, dg_ex, g_ex, dg_in, g_in, W, H,
                    I0, ref, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr, rec_out, with_current, spk_idx,
                    spk_step, n_spk, work, lanes, counts)


@kernel
def update_inline(first_step, n_steps, blocks, V, dg_ex, g_ex, dg_in, g_in, W, H, I0, ref, ring_syn, ring_cur, consts,
                  rec_idx, rec_var, rec_ptr, rec_out, with_current, fired, spk_idx, spk_step, n_spk, work, lanes,
                  counts):
    """:func:`update` with libm's exp computed inline (the same values; where ``glibc_math.exact_here``)."""
    return _advance(dynamics_inline, adex_exact_dynamics_inline, first_step, n_steps, blocks, V, dg_ex, g_ex, dg_in,
                    g_in, W, H, I0, ref, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr, rec_out, with_current,
                    spk_idx, spk_step, n_spk, work, lanes, counts)


step_group = stepper(update, KERNEL_STATE, 6, update_inline)
membrane_potential = absolute_membrane_potential


#: the CUDA update: :func:`update` for one neuron per thread, bit for bit (dsnn's exact-conductance option has
#: none: such neurons are built on the CPU)
CUDA_KERNEL = "aeif_cond_alpha_update"
CUDA_SOURCE = cuda_source("aeif_cond_alpha", CUDA_KERNEL, KERNEL_STATE, KERNEL_CONSTANTS, 6, r"""
        const double tau_ex = c[15], tau_in = c[16];
        adex_membrane(c, y[0], y[2], y[4], y[5], refractory, stim, &f[0], &f[5]);
        f[1] = -y[1] / tau_ex;
        f[2] = y[1] - y[2] / tau_ex;
        f[3] = -y[3] / tau_in;
        f[4] = y[3] - y[4] / tau_in;""",
                          adex=True, input_first=False, layout=(1, 3, 5), recorded=(0, 2, 4, 5))
