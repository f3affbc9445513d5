"""``iaf_cond_alpha``: leaky integrate-and-fire neuron with alpha-shaped synaptic conductances.

C_m dV_m/dt = -g_L (V_m - E_L) - g_ex (V_m - E_ex) - g_in (V_m - E_in) + I_e + I,
each conductance an alpha function: dg/dt = dg - g / tau, d(dg)/dt = -dg / tau;
a spike of weight w (nS) raises dg_ex by w e / tau_syn_ex (w > 0) or dg_in by
-w e / tau_syn_in, so that g peaks at |w| after tau. As NEST 3.10 integrates
it (nest-simulator ``models/iaf_cond_alpha.cpp``): GSL's adaptive RKF45 over
each step (absolute error 1e-3, :mod:`.adaptive`), V_m held at V_reset in the
equations while refractory and bounded by V_th; then the threshold test
(V_m >= V_th: V_m := V_reset, refractory for t_ref), and then the step's
spikes are added.
"""

from __future__ import annotations

from ..support.jit import kernel
from .base import ModelSpec
from .conductance import (
    COMMON_CONSTANTS,
    absolute_state,
    adex_exact_dynamics,
    advance,
    common_constants,
    cuda_source,
    iaf_cond_params,
    no_time,
    reset_below_threshold,
    stepper,
)
from .stepping import absolute_membrane_potential

SPEC = ModelSpec(name="iaf_cond_alpha", kind="neuron", doc=__doc__, params=iaf_cond_params(alpha=True),
                 relations=(reset_below_threshold,), recordables=("V_m", "g_ex", "g_in"))

STATE = ("V_m", "dg_ex", "g_ex", "dg_in", "g_in")

#: the parameters the right-hand side reads, after the :data:`~.conductance.COMMON_CONSTANTS`
OWN_CONSTANTS = ("E_L", "g_L", "C_m", "E_ex", "E_in", "tau_syn_ex", "tau_syn_in", "I_e")


def constants(p: dict, dt: float) -> dict:
    """The common constants and the model's own (float64), for the update kernel."""
    return {**common_constants(p, dt, alpha=True, adex=False), **{name: float(p[name]) for name in OWN_CONSTANTS}}


def initial_state(values: dict, params: dict) -> dict:
    """Kernel state arrays from the initial values (V_m absolute, as NEST keeps it)."""
    return absolute_state(values, STATE)


#: the state arrays and constants the update takes, in this order
KERNEL_STATE = ("V", "dg_ex", "g_ex", "dg_in", "g_in", "h", "I0", "ref")
KERNEL_CONSTANTS = COMMON_CONSTANTS + OWN_CONSTANTS
#: the state arrays of ``SPEC.recordables``, in that order (what the kernels record from)
RECORDED_STATE = ("V", "g_ex", "g_in")


@kernel(inline=True)
def dynamics(w, ln, s, f, c, refractory, stim):
    """NEST's ``iaf_cond_alpha_dynamics``: the state (V_m, dg_ex, g_ex, dg_in, g_in)."""
    V_th, V_reset = c[1], c[2]
    E_L, g_L, C_m, E_ex, E_in, tau_ex, tau_in, I_e = c[10], c[11], c[12], c[13], c[14], c[15], c[16], c[17]
    V = V_reset if refractory else (V_th if V_th < w[ln, s, 0] else w[ln, s, 0])
    I_syn_exc = w[ln, s, 2] * (V - E_ex)
    I_syn_inh = w[ln, s, 4] * (V - E_in)
    I_leak = g_L * (V - E_L)
    w[ln, f, 0] = 0.0 if refractory else (-I_leak - I_syn_exc - I_syn_inh + stim + I_e) / C_m
    w[ln, f, 1] = -w[ln, s, 1] / tau_ex
    w[ln, f, 2] = w[ln, s, 1] - (w[ln, s, 2] / tau_ex)
    w[ln, f, 3] = -w[ln, s, 3] / tau_in
    w[ln, f, 4] = w[ln, s, 3] - (w[ln, s, 4] / tau_in)


@kernel
def update(first_step, n_steps, blocks, V, dg_ex, g_ex, dg_in, g_in, H, I0, ref, ring_syn, ring_cur, consts,
           rec_idx, rec_var, rec_ptr, rec_out, with_current, fired, spk_idx, spk_step, n_spk, work, lanes, counts):
    """Advance every block of this model on the partition by ``n_steps`` steps (the arguments as
    ``iaf_psc_exp.update``'s; ``H``: each neuron's integration step size, ms; ``work``, ``lanes``, ``counts``:
    scratch): :func:`.conductance.advance`."""
    return advance(dynamics, 5, (V, dg_ex, g_ex, dg_in, g_in), (V, g_ex, g_in), H, I0, ref, first_step, n_steps,
                   blocks, ring_syn, ring_cur, consts, rec_idx, rec_var, rec_ptr, rec_out, with_current, spk_idx,
                   spk_step, n_spk, work, lanes, counts, adex=False, input_first=False, layout=(1, 3, 0),
                   exact_at=no_time, exact=(-1, -1, -1, -1, -1), exact_dynamics=adex_exact_dynamics)


step_group = stepper(update, KERNEL_STATE, 5)
membrane_potential = absolute_membrane_potential


#: the CUDA update: :func:`update` for one neuron per thread, bit for bit
CUDA_KERNEL = "iaf_cond_alpha_update"
CUDA_SOURCE = cuda_source("iaf_cond_alpha", CUDA_KERNEL, KERNEL_STATE, KERNEL_CONSTANTS, 5, r"""
        const double V_th = c[1], V_reset = c[2];
        const double E_L = c[10], g_L = c[11], C_m = c[12], E_ex = c[13], E_in = c[14], tau_ex = c[15];
        const double tau_in = c[16], I_e = c[17];
        const double V = refractory ? V_reset : (V_th < y[0] ? V_th : y[0]);
        const double I_syn_exc = y[2] * (V - E_ex);
        const double I_syn_inh = y[4] * (V - E_in);
        const double I_leak = g_L * (V - E_L);
        f[0] = refractory ? 0.0 : (-I_leak - I_syn_exc - I_syn_inh + stim + I_e) / C_m;
        f[1] = -y[1] / tau_ex;
        f[2] = y[1] - (y[2] / tau_ex);
        f[3] = -y[3] / tau_in;
        f[4] = y[3] - (y[4] / tau_in);""",
                          adex=False, input_first=False, layout=(1, 3, 0), recorded=(0, 2, 4))
