"""What NEST's conductance-based neurons share (iaf_cond_exp, iaf_cond_alpha, aeif_cond_exp,
aeif_cond_alpha): their common parameters and checks. Their kernels integrate with
:func:`~dsnn.models.adaptive.evolve_lanes`.

In all four, V_m is kept absolute (as NEST keeps it), a synaptic weight is a
conductance step in nS (positive excitatory, negative inhibitory: the
inhibitory conductance grows by -w), and input current (pA) of a step acts
in the next one. The rings hold the weights in nS here (the same fixed
point as the currents of the other models).
"""

from __future__ import annotations

import math

from ..support.jit import KernelOf, kernel
from .adaptive import (
    CUDA_EVOLVE,
    DYDT_OUT,
    K1,
    LANE_ROWS,
    LANES,
    STAGE_FRACTIONS,
    WORK_ROWS,
    YNEW,
    Y,
    _attempt,
    _error_ratio,
    adex_spike_test,
    evolve_lanes,
    no_time,
)
from .base import TAU_MINUS, Param, check_finite, check_nonnegative, check_positive
from .stepping import append_spikes, record, take_current, take_synaptic

#: libm's exp computed inline (support.glibc_math.exp), imported when first compiled: describing a network
#: loads no NumPy
libm_exp = KernelOf("dsnn.support.glibc_math", "exp")

__all__ = ["iaf_cond_params", "adex_params", "adex_relations", "common_constants", "COMMON_CONSTANTS",
           "advance", "absolute_state", "stepper", "adex_membrane", "adex_exact_dynamics", "adex_exact_dynamics_inline",
           "alpha_at", "exp_at", "no_time", "cuda_source", "CUDA_ADEX_MEMBRANE"]


def synaptic_params(tau_ex: float = 0.2, tau_in: float = 2.0) -> dict:
    """The reversal potentials and conductance time constants every model here has."""
    return {
        "E_ex": Param("E_ex", 0.0, "mV", "excitatory reversal potential"),
        "E_in": Param("E_in", -85.0, "mV", "inhibitory reversal potential"),
        "tau_syn_ex": Param("tau_syn_ex", tau_ex, "ms", "time constant of the excitatory conductance",
                            check_positive),
        "tau_syn_in": Param("tau_syn_in", tau_in, "ms", "time constant of the inhibitory conductance",
                            check_positive),
    }


def conductance_state(alpha: bool) -> dict:
    """The conductances (nS) as initial state; the alpha models add their derivatives (nS/ms)."""
    state = {
        "g_ex": Param("g_ex", 0.0, "nS", "excitatory conductance (initial state)", check_nonnegative, True),
        "g_in": Param("g_in", 0.0, "nS", "inhibitory conductance (initial state)", check_nonnegative, True),
    }
    if alpha:
        state["dg_ex"] = Param("dg_ex", 0.0, "nS/ms", "derivative of g_ex (initial state)", check_finite, True)
        state["dg_in"] = Param("dg_in", 0.0, "nS/ms", "derivative of g_in (initial state)", check_finite, True)
    return state


def iaf_cond_params(alpha: bool) -> dict:
    """The parameters and initial state of NEST's iaf_cond_exp (``alpha`` False) and iaf_cond_alpha."""
    return {
        "E_L": Param("E_L", -70.0, "mV", "leak reversal potential"),
        "C_m": Param("C_m", 250.0, "pF", "membrane capacitance", check_positive),
        "g_L": Param("g_L", 16.6667, "nS", "leak conductance"),
        **synaptic_params(),
        "t_ref": Param("t_ref", 2.0, "ms", "absolute refractory period", check_nonnegative),
        "V_th": Param("V_th", -55.0, "mV", "spike threshold"),
        "V_reset": Param("V_reset", -60.0, "mV", "reset potential"),
        "I_e": Param("I_e", 0.0, "pA", "constant input current"),
        "tau_minus": TAU_MINUS,
        "V_m": Param("V_m", -70.0, "mV", "membrane potential (initial state)", check_finite, True),
        **conductance_state(alpha),
    }


def reset_below_threshold(p: dict) -> str | None:
    """NEST's check of iaf_cond_*: V_reset < V_th."""
    if p["V_reset"] < p["V_th"]:
        return None
    return f"V_reset must be < V_th, got V_reset={p['V_reset']} and V_th={p['V_th']}"


def adex_params(alpha: bool) -> dict:
    """The parameters and initial state of NEST's aeif_cond_exp (``alpha`` False) and aeif_cond_alpha."""
    return {
        "V_peak": Param("V_peak", 0.0, "mV", "spike detection threshold (V_th is used where Delta_T = 0)"),
        "V_reset": Param("V_reset", -60.0, "mV", "reset potential"),
        "t_ref": Param("t_ref", 0.0, "ms", "absolute refractory period", check_nonnegative),
        "g_L": Param("g_L", 30.0, "nS", "leak conductance"),
        "C_m": Param("C_m", 281.0, "pF", "membrane capacitance", check_positive),
        "E_L": Param("E_L", -70.6, "mV", "leak reversal potential"),
        **synaptic_params(),
        "Delta_T": Param("Delta_T", 2.0, "mV", "slope factor of the exponential term (0: none)",
                         check_nonnegative),
        "tau_w": Param("tau_w", 144.0, "ms", "time constant of the adaptation current", check_positive),
        "a": Param("a", 4.0, "nS", "subthreshold adaptation"),
        "b": Param("b", 80.5, "pA", "spike-triggered adaptation"),
        "V_th": Param("V_th", -50.4, "mV", "spike initiation threshold"),
        "I_e": Param("I_e", 0.0, "pA", "constant input current"),
        "gsl_error_tol": Param("gsl_error_tol", 1e-6, "", "error bound of the adaptive integration (absolute, "
                               "and relative to h dy/dt)", check_positive),
        "exact_conductances": Param("exact_conductances", 0.0, "", "dsnn's option, not NEST's: 1 integrates the "
                                    "conductances exactly and only V_m and w adaptively (NEST: all of them), 0 as "
                                    "NEST", check_flag),
        "tau_minus": TAU_MINUS,
        "V_m": Param("V_m", -70.6, "mV", "membrane potential (initial state)", check_finite, True),
        **conductance_state(alpha),
        "w": Param("w", 0.0, "pA", "adaptation current (initial state)", check_finite, True),
    }


def check_flag(name: str, value: float) -> str | None:
    if value not in (0.0, 1.0):
        return f"{name} must be 0 or 1, got {value!r}"
    return None


#: NEST's bound on (V_peak - V_th) / Delta_T: exp of it must stay 1e20 below the largest double
_MAX_EXP_ARG = math.log(1.7976931348623157e308 / 1e20)


def _adex_relation(p: dict) -> str | None:
    if not p["V_reset"] < p["V_peak"]:
        return f"V_reset must be < V_peak, got V_reset={p['V_reset']} and V_peak={p['V_peak']}"
    if p["V_peak"] < p["V_th"]:
        return f"V_peak must be >= V_th, got V_peak={p['V_peak']} and V_th={p['V_th']}"
    if p["Delta_T"] > 0 and (p["V_peak"] - p["V_th"]) / p["Delta_T"] >= _MAX_EXP_ARG:
        return (f"(V_peak - V_th) / Delta_T must be < {_MAX_EXP_ARG:.1f} (exp of it would overflow at a spike), "
                f"got V_peak={p['V_peak']}, V_th={p['V_th']}, Delta_T={p['Delta_T']}: raise Delta_T or lower V_peak")
    return None


def adex_relations() -> tuple:
    """NEST's checks across the aeif_cond_* parameters."""
    return (_adex_relation,)


def _step_ms(dt: float) -> float:
    """The simulation step (ms) as NEST's models read it: whole tics of 1 us times 0.001 ms (NEST's
    ``Time::get_ms``; ``dsnn.description.timing.time_ms`` of one step)."""
    return round(dt * 1000) * (1.0 / 1000)


def alpha_norm(tau: float) -> float:
    """NEST's factor that makes a weight of 1 nS the peak of an alpha conductance: e / tau."""
    return 1.0 * math.e / tau


#: the constants every model here passes its kernel first, in this order (its own follow): the step (ms), the
#: threshold of the spike test and the reset, the error control's eps_abs, eps_rel, a_y and a_dydt, the factors
#: of a spike's weight for the excitatory and inhibitory input (1, or e / tau for alpha conductances), the
#: spike-triggered adaptation (pA; 0 without)
COMMON_CONSTANTS = ("step_ms", "threshold", "V_reset", "eps_abs", "eps_rel", "a_y", "a_dydt", "g0_ex", "g0_in",
                    "b_spike")


def common_constants(p: dict, dt: float, alpha: bool, adex: bool) -> dict:
    """:data:`COMMON_CONSTANTS` of a model with parameters ``p``: NEST's tolerances (iaf_cond_*: absolute
    1e-3; aeif_cond_*: ``gsl_error_tol``, absolute and relative to h dy/dt) and threshold (aeif_cond_*:
    V_peak, or V_th where Delta_T is 0)."""
    if adex:
        eps = float(p["gsl_error_tol"])
        control = dict(eps_abs=eps, eps_rel=eps, a_y=0.0, a_dydt=1.0)
        threshold = p["V_peak"] if p["Delta_T"] > 0 else p["V_th"]
    else:
        control = dict(eps_abs=1e-3, eps_rel=0.0, a_y=1.0, a_dydt=0.0)
        threshold = p["V_th"]
    norm = (alpha_norm(p["tau_syn_ex"]), alpha_norm(p["tau_syn_in"])) if alpha else (1.0, 1.0)
    return dict(step_ms=_step_ms(dt), threshold=float(threshold), V_reset=float(p["V_reset"]), **control,
                g0_ex=norm[0], g0_in=norm[1], b_spike=float(p["b"]) if adex else 0.0)


def absolute_state(values: dict, names: tuple) -> dict:
    """Kernel state arrays from the initial values ``names`` (V_m first, kept absolute, as ``V``), and ``h``,
    each neuron's integration step: 0 until its first step starts it at the simulation step (as NEST)."""
    state = {("V" if name == "V_m" else name): values[name].copy() for name in names}
    state["h"] = values["V_m"].copy()
    state["h"][:] = 0.0
    return state


#: rows of the scratch array of :func:`advance` after those of the integration: each lane's integration step
#: and input current, then (the exact-conductance option) its dg_ex, g_ex, dg_in, g_in at the start of the
#: step, exp(-t / tau_syn_ex) and exp(-t / tau_syn_in) at the start of its integration step, and its level
#: then the table of _decay, (MAX_LEVEL + 1, len(STAGE_FRACTIONS), 2) values in order, LANES to a row
H_ROW, STIM_ROW, G0_ROW = LANE_ROWS, LANE_ROWS + 1, LANE_ROWS + 2
TABLE_ROW = G0_ROW + 7

#: the exact-conductance option halves a neuron's integration step at most this many times (dt / 2^MAX_LEVEL)
MAX_LEVEL = 24
SCRATCH_ROWS = TABLE_ROW + -(-(MAX_LEVEL + 1) * len(STAGE_FRACTIONS) * 2 // LANES)


def stepper(update, kernel_state: tuple, dim: int, update_inline=None):
    """A model's ``step_group`` (see ``stepping.group_stepper``) that also hands its ``update`` the scratch
    arrays of :func:`advance` for ``dim`` state variables; ``update_inline`` instead, where given and libm's
    exp may be computed inline here (``support.glibc_math.exact_here``: the same values)."""

    def step_group(group, first_step, n_steps, ring_syn, ring_cur, spk_idx, spk_step, n_spk):
        import numpy as np  # here, not at import: describing a network loads no numpy

        from ..support import glibc_math

        state = [group.state[name] for name in kernel_state]
        kernel = update_inline if update_inline is not None and glibc_math.exact_here() else update
        return kernel(first_step, n_steps, group.blocks, *state, ring_syn, ring_cur, group.consts, group.rec_idx,
                      group.rec_var, group.rec_ptr, group.rec_out, group.with_current, group.fired, spk_idx, spk_step,
                      n_spk, np.zeros((LANES, WORK_ROWS, dim)), np.zeros((SCRATCH_ROWS, LANES)),
                      np.zeros((2, LANES), dtype=np.int64))

    step_group.__doc__ = f":func:`update` for a partition's blocks of this model (state {', '.join(kernel_state)})."
    return step_group


@kernel(inline=True)
def adex_membrane(c, v, g_ex, g_in, adaptation, refractory, stim, inline):
    """``(dV_m/dt, dw/dt)`` of NEST's aeif_cond_* dynamics at V_m ``v`` (mV), conductances ``g_ex``, ``g_in``
    (nS), adaptation current ``adaptation`` (pA) and input ``stim`` (pA): V_m held at V_reset while
    refractory and bounded by V_peak, the exponential term dropped where Delta_T is 0. ``c``: the model's
    constants (its own from index 10: E_L, g_L, C_m, E_ex, E_in, tau_syn_ex, tau_syn_in, I_e, V_peak, Delta_T,
    V_th, tau_w, a). ``inline``: a constant where it is called, True to compute libm's exp inline (the same
    values: ``support.glibc_math``)."""
    E_L, g_L, C_m, E_ex, E_in, I_e = c[10], c[11], c[12], c[13], c[14], c[17]
    V_peak, Delta_T, V_th, tau_w, a, V_reset = c[18], c[19], c[20], c[21], c[22], c[2]
    V = V_reset if refractory else (V_peak if V_peak < v else v)
    I_syn_exc = g_ex * (V - E_ex)
    I_syn_inh = g_in * (V - E_in)
    I_spike = 0.0 if Delta_T == 0.0 else (g_L * Delta_T * libm_exp((V - V_th) / Delta_T, inline))
    dV = 0.0 if refractory else (-g_L * (V - E_L) + I_spike - I_syn_exc - I_syn_inh - adaptation + I_e + stim) / C_m
    return dV, (a * (V - E_L) - adaptation) / tau_w


@kernel(inline=True)
def adex_exact_dynamics(w, ln, s, f, c, refractory, stim):
    """The AdEx right-hand side of the exact-conductance option: the state (V_m, w) with the conductances
    g_ex, g_in at that time in columns 2 and 3 (:func:`alpha_at`, :func:`exp_at`)."""
    w[ln, f, 0], w[ln, f, 1] = adex_membrane(c, w[ln, s, 0], w[ln, s, 2], w[ln, s, 3], w[ln, s, 1], refractory, stim,
                                             False)


@kernel(inline=True)
def adex_exact_dynamics_inline(w, ln, s, f, c, refractory, stim):
    """:func:`adex_exact_dynamics` with libm's exp computed inline (where ``glibc_math.exact_here``)."""
    w[ln, f, 0], w[ln, f, 1] = adex_membrane(c, w[ln, s, 0], w[ln, s, 2], w[ln, s, 3], w[ln, s, 1], refractory, stim,
                                             True)


@kernel(inline=True)
def _table_cell(k, stage, kind):
    """(row, column) in the scratch array of the decay table's entry (level ``k``, ``stage``, ``kind``)."""
    at = (k * len(STAGE_FRACTIONS) + stage) * 2 + kind
    return TABLE_ROW + at // LANES, at % LANES


@kernel(inline=True)
def _decay(data, ln, stage, k):
    """exp(-t / tau_syn) (``k`` 0: excitatory, 1: inhibitory) at stage ``stage`` of lane ``ln``'s step: its
    value at the step's start times the decay over the stage's part of a step of the lane's level."""
    _, e0, level, lanes = data
    row, col = _table_cell(int(level[ln]), stage, k)
    return e0[k, ln] * lanes[row, col]


@kernel(inline=True)
def alpha_at(w, ln, row, stage, t0, h, c, data):
    """Alpha conductances at a stage, exactly, from their values at the simulation step's start (``data[0]``:
    dg_ex, g_ex, dg_in, g_in per lane): ``g(t) = (g + dg t) exp(-t / tau)``."""
    g0 = data[0]
    t = t0 + STAGE_FRACTIONS[stage] * h
    w[ln, row, 2] = (g0[1, ln] + g0[0, ln] * t) * _decay(data, ln, stage, 0)
    w[ln, row, 3] = (g0[3, ln] + g0[2, ln] * t) * _decay(data, ln, stage, 1)


@kernel(inline=True)
def exp_at(w, ln, row, stage, t0, h, c, data):
    """Exponential conductances at a stage, exactly: ``g(t) = g exp(-t / tau)``."""
    g0 = data[0]
    w[ln, row, 2] = g0[1, ln] * _decay(data, ln, stage, 0)
    w[ln, row, 3] = g0[3, ln] * _decay(data, ln, stage, 1)


@kernel(inline=True)
def _evolve_dyadic(dynamics, at_time, data, c, w, lanes, n, r, stim, t1, V_peak, V_reset, b, ref_counts, spikes):
    """The exact-conductance option's integration of (V_m, w) over one simulation step of ``t1`` ms, for
    lanes ``0 .. n-1`` (``w[ln, Y]``: V_m, w): RKF45 stages and error as :func:`~.adaptive.evolve_lanes`, with
    NEST's tolerance, but integration steps of ``t1 / 2^level`` only (``data[2]``: each lane's level, kept
    for the next step): halved and tried again where the error is too large, doubled after a step with
    half the error allowed where the step's end lies on the coarser grid. So the conductances' decay over
    any stage comes from a table per level (``data[3]``) and the decay since the simulation step began is
    carried as a product (``data[1]``): no exp besides the membrane's. The AdEx spike test after each step
    as NEST's."""
    # evolve_lanes' scratch rows; its row 2 (whether a step is the last) holds the lane's place on its grid
    t0, h0, pos, refr, act = lanes[0], lanes[1], lanes[2], lanes[3], lanes[4]
    _, e0, level, _ = data
    eps_abs, eps_rel, a_y, a_dydt = c[3], c[4], c[5], c[6]
    n_act = n
    for ln in range(n):
        t0[ln], pos[ln], act[ln] = 0.0, 0.0, ln
        h0[ln] = t1 * 0.5 ** level[ln]
        e0[0, ln], e0[1, ln] = 1.0, 1.0
        refr[ln] = 1.0 if r[ln] > 0 else 0.0
        at_time(w, ln, Y, 0, 0.0, h0[ln], c, data)
        dynamics(w, ln, Y, K1, c, refr[ln] != 0.0, stim[ln])
    while n_act > 0:
        _attempt(dynamics, at_time, data, c, w, 2, act, n_act, refr, stim, t0, h0)
        n_next = 0
        for j in range(n_act):
            ln = int(act[j])
            rmax = _error_ratio(w, 2, ln, h0[ln], eps_abs, eps_rel, a_y, a_dydt)
            if rmax > 1.1 and level[ln] < MAX_LEVEL:  # rejected: half the step, from the same start
                level[ln] += 1
                pos[ln] *= 2.0
                h0[ln] = t1 * 0.5 ** level[ln]
                act[n_next] = ln
                n_next += 1
                continue
            for i in range(2):
                w[ln, Y, i] = w[ln, YNEW, i]
            e0[0, ln], e0[1, ln] = _decay(data, ln, 6, 0), _decay(data, ln, 6, 1)  # at the step's end
            pos[ln] += 1.0
            t0[ln] = pos[ln] * h0[ln]
            if rmax < 0.5 and level[ln] > 0 and pos[ln] % 2.0 == 0.0:  # double it: the end is on both grids
                level[ln] -= 1
                pos[ln] *= 0.5
                h0[ln] = t1 * 0.5 ** level[ln]
            changed = adex_spike_test(w, ln, r, refr, spikes, V_peak, V_reset, 1, b, ref_counts)
            if pos[ln] * h0[ln] < t1:
                act[n_next] = ln
                n_next += 1
                at_time(w, ln, Y, 0, t0[ln], h0[ln], c, data)
                if changed:
                    dynamics(w, ln, Y, K1, c, refr[ln] != 0.0, stim[ln])
                else:
                    for i in range(2):
                        w[ln, K1, i] = w[ln, DYDT_OUT, i]
        n_act = n_next


@kernel(inline=True)
def _advance_exact(state, H, I0, ref, first_step, n_steps, blocks, b, c, ring_syn, ring_cur, with_current,
                   spk_idx, spk_step, n_spk, w, lanes, counts, exact_at, w_var, exact, recordables, rec_idx, rec_var,
                   rec_out, rec_ptr, exact_dynamics):
    """Block ``b`` of an AdEx model in :func:`advance` with the exact-conductance option: per step, (V_m, w)
    integrated by :func:`_evolve_dyadic` with the conductances given in time by ``exact_at``, then the
    conductances carried exactly to the step's end and the step's input added (NEST's order). ``H`` keeps
    each neuron's integration step, ``dt / 2^level``."""
    R = ring_syn.shape[0]
    lo, off, n, ref_counts = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
    dg_ex_var, g_ex_var, dg_in_var, g_in_var = exact[1], exact[2], exact[3], exact[4]
    stim, r, spikes = lanes[STIM_ROW], counts[0], counts[1]
    step_ms, threshold, V_reset = c[0], c[1], c[2]
    g0_ex, g0_in, b_spike = c[7], c[8], c[9]
    g0, e0, level = lanes[G0_ROW:G0_ROW + 4], lanes[G0_ROW + 4:G0_ROW + 6], lanes[G0_ROW + 6]
    for k in range(MAX_LEVEL + 1):
        hk = step_ms * 0.5 ** k
        for s in range(len(STAGE_FRACTIONS)):
            for kind in range(2):
                row, col = _table_cell(k, s, kind)
                lanes[row, col] = math.exp(-(STAGE_FRACTIONS[s] * hk) / c[15 + kind])
    data = (g0, e0, level, lanes)
    decay_ex, decay_in = math.exp(-step_ms / c[15]), math.exp(-step_ms / c[16])
    for k in range(n_steps):
        step = first_step + k
        slot = step % R
        ex_row, in_row, cur_row = ring_syn[slot, 0, lo:lo + n], ring_syn[slot, 1, lo:lo + n], ring_cur[slot]
        for start in range(0, n, LANES):
            m = min(LANES, n - start)
            for ln in range(m):
                i = off + start + ln
                w[ln, Y, 0], w[ln, Y, 1] = state[0][i], state[w_var][i]
                g0[0, ln] = state[dg_ex_var][i] if dg_ex_var >= 0 else 0.0
                g0[1, ln] = state[g_ex_var][i]
                g0[2, ln] = state[dg_in_var][i] if dg_in_var >= 0 else 0.0
                g0[3, ln] = state[g_in_var][i]
                # the level of the step size kept (0 before the first step: the whole step)
                level[ln] = 0.0 if H[i] <= 0.0 else min(float(MAX_LEVEL), max(0.0, round(math.log2(step_ms / H[i]))))
                r[ln], stim[ln], spikes[ln] = ref[i], I0[i], 0
            _evolve_dyadic(exact_dynamics, exact_at, data, c, w, lanes, m, r, stim, step_ms, threshold, V_reset,
                           b_spike, ref_counts, spikes)
            for ln in range(m):
                q = start + ln
                i = off + q
                H[i] = step_ms * 0.5 ** level[ln]
                ex, inh = take_synaptic(ex_row, in_row, q)
                ref[i] = r[ln] - 1 if r[ln] > 0 else r[ln]
                n_spk = append_spikes(lo + q, step, spikes[ln], spk_idx, spk_step, n_spk)
                state[0][i], state[w_var][i] = w[ln, Y, 0], w[ln, Y, 1]
                if dg_ex_var >= 0:  # alpha: g(dt) = (g + dg dt) e^(-dt/tau), dg(dt) = dg e^(-dt/tau); input into dg
                    state[g_ex_var][i] = (g0[1, ln] + g0[0, ln] * step_ms) * decay_ex
                    state[g_in_var][i] = (g0[3, ln] + g0[2, ln] * step_ms) * decay_in
                    state[dg_ex_var][i] = g0[0, ln] * decay_ex + ex * g0_ex
                    state[dg_in_var][i] = g0[2, ln] * decay_in + -inh * g0_in
                else:
                    state[g_ex_var][i] = g0[1, ln] * decay_ex + ex * g0_ex
                    state[g_in_var][i] = g0[3, ln] * decay_in + -inh * g0_in
                if with_current:
                    I0[i] = take_current(cur_row, lo + q)
        record(recordables, rec_idx, rec_var, rec_out, k, rec_ptr[b], rec_ptr[b + 1])
    return n_spk


@kernel(inline=True)
def advance(dynamics, dim, state, recordables, H, I0, ref, first_step, n_steps, blocks, ring_syn, ring_cur, consts,
            rec_idx, rec_var, rec_ptr, rec_out, with_current, spk_idx, spk_step, n_spk, work, lanes, counts, adex,
            input_first, layout, exact_at, exact, exact_dynamics):
    """Advance every block of a model here by ``n_steps`` steps (the arguments as ``iaf_psc_exp.update``'s),
    :data:`~dsnn.models.adaptive.LANES` neurons at a time, in NEST's order: the adaptive integration of the
    step (with the spike test inside it where ``adex``), then

    - iaf_cond_*: the spike test (V_m >= V_th: V_m := V_reset, refractory for t_ref; held at V_reset while
      refractory), with the step's input added before it (``input_first``, iaf_cond_exp) or after;
    - aeif_cond_*: the refractory count decremented, the step's spikes sent, the input added.

    ``state``: the model's state arrays (V_m first; ``dim`` of them), ``H`` each neuron's integration step
    (ms); ``recordables``: the arrays of its ``SPEC.recordables``. The input of a step, weight times
    ``g0_ex``/``g0_in``, goes to state variables ``layout[0]`` and ``layout[1]``; ``layout[2]`` is the AdEx
    adaptation current. Scratch: ``work`` (LANES, WORK_ROWS, dim), ``lanes`` (SCRATCH_ROWS, LANES),
    ``counts`` (2, LANES) int64 (:func:`stepper` makes them).

    ``exact`` = (flag, dg_ex, g_ex, dg_in, g_in): where constant ``flag`` of a block is 1 (AdEx models:
    dsnn's exact-conductance option; -1: none), the conductances (those state variables; -1: none, as the
    exponential ones have no derivative) follow their exact solution through the step (``exact_at`` gives
    them at any time in it) and the adaptive integration, with the same control and spike test, covers
    (V_m, w) alone (:func:`_advance_exact`), whose right-hand side is ``exact_dynamics``
    (:func:`adex_exact_dynamics` or its ``_inline`` twin). Returns the new spike count. Calls here keep to 30
    arguments:
    Python passes more as a tuple (``*args``), which numba cannot inline."""
    ex_var, in_var, w_var = layout
    exact_flag = exact[0]
    R = ring_syn.shape[0]
    w = work
    h, stim, r, spikes = lanes[H_ROW], lanes[STIM_ROW], counts[0], counts[1]
    for b in range(blocks.shape[0]):
        lo, off, n, ref_counts = blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3]
        c = consts[b]
        step_ms, threshold, V_reset, eps_abs, eps_rel, a_y, a_dydt = c[0], c[1], c[2], c[3], c[4], c[5], c[6]
        g0_ex, g0_in, b_spike = c[7], c[8], c[9]
        if exact_flag >= 0 and c[exact_flag] != 0.0:
            n_spk = _advance_exact(state, H, I0, ref, first_step, n_steps, blocks, b, c, ring_syn, ring_cur,
                                   with_current, spk_idx, spk_step, n_spk, w, lanes, counts, exact_at, w_var, exact,
                                   recordables, rec_idx, rec_var, rec_out, rec_ptr, exact_dynamics)
            continue
        for k in range(n_steps):
            step = first_step + k
            slot = step % R
            ex_row, in_row, cur_row = ring_syn[slot, 0, lo:lo + n], ring_syn[slot, 1, lo:lo + n], ring_cur[slot]
            for start in range(0, n, LANES):
                m = min(LANES, n - start)
                for ln in range(m):
                    i = off + start + ln
                    for v in range(dim):
                        w[ln, Y, v] = state[v][i]
                    r[ln], stim[ln], h[ln], spikes[ln] = ref[i], I0[i], H[i] if H[i] > 0.0 else step_ms, 0
                evolve_lanes(dynamics, c, w, dim, lanes, m, r, stim, h, step_ms, eps_abs, eps_rel, a_y, a_dydt,
                             adex, threshold, V_reset, w_var, b_spike, ref_counts, spikes)
                for ln in range(m):
                    q = start + ln
                    i = off + q
                    H[i] = h[ln]
                    ex, inh = take_synaptic(ex_row, in_row, q)
                    if adex:
                        ref[i] = r[ln] - 1 if r[ln] > 0 else r[ln]
                        n_spk = append_spikes(lo + q, step, spikes[ln], spk_idx, spk_step, n_spk)
                    else:
                        if input_first:
                            w[ln, Y, ex_var] = w[ln, Y, ex_var] + ex * g0_ex
                            w[ln, Y, in_var] = w[ln, Y, in_var] + -inh * g0_in
                        if ref[i] > 0:
                            ref[i] -= 1
                            w[ln, Y, 0] = V_reset
                        elif w[ln, Y, 0] >= threshold:
                            ref[i] = ref_counts
                            w[ln, Y, 0] = V_reset
                            n_spk = append_spikes(lo + q, step, 1, spk_idx, spk_step, n_spk)
                    if adex or not input_first:
                        w[ln, Y, ex_var] = w[ln, Y, ex_var] + ex * g0_ex
                        w[ln, Y, in_var] = w[ln, Y, in_var] + -inh * g0_in
                    for v in range(dim):
                        state[v][i] = w[ln, Y, v]
                    if with_current:
                        I0[i] = take_current(cur_row, lo + q)
            record(recordables, rec_idx, rec_var, rec_out, k, rec_ptr[b], rec_ptr[b + 1])
    return n_spk



# ------------------------------------------------------------------------------------------------ GPU

#: :func:`adex_membrane` in CUDA C (the exponential by ``glibc_exp``, the CPU's libm's): sets ``*dV``, ``*dw``
CUDA_ADEX_MEMBRANE = r"""
__device__ __forceinline__ void adex_membrane(const double* c, const double v, const double g_ex, const double g_in,
                                              const double adaptation, const bool refractory, const double stim,
                                              double* dV, double* dw)
{
    const double E_L = c[10], g_L = c[11], C_m = c[12], E_ex = c[13], E_in = c[14], I_e = c[17];
    const double V_peak = c[18], Delta_T = c[19], V_th = c[20], tau_w = c[21], a = c[22], V_reset = c[2];
    const double V = refractory ? V_reset : (V_peak < v ? V_peak : v);
    const double I_syn_exc = g_ex * (V - E_ex);
    const double I_syn_inh = g_in * (V - E_in);
    const double I_spike = Delta_T == 0.0 ? 0.0 : (g_L * Delta_T * glibc_exp((V - V_th) / Delta_T));
    *dV = refractory ? 0.0 : (-g_L * (V - E_L) + I_spike - I_syn_exc - I_syn_inh - adaptation + I_e + stim) / C_m;
    *dw = (a * (V - E_L) - adaptation) / tau_w;
}
"""

#: the update of a step that every model here shares, for one neuron (one thread), as :func:`advance` does it
#: without the exact-conductance option: ``conductance_update<DIM, Model, ADEX, INPUT_FIRST, EX, IN, W>``;
#: the instability of an AdEx neuron (bit 0) and more spikes than the buffers hold (bit 1) are or-ed into
#: ``n_spk[1]``, whose ``n_spk[2]`` is the buffers' size
_CUDA_UPDATE = r"""
template <int DIM, class Model, bool ADEX, bool INPUT_FIRST, int EX, int IN, int W>
__device__ void conductance_update(
    const i64 first_step, const i64 n_steps, const i64 j, const i64 i, const i64 n_local, const i64 R,
    double** state, double* H, double* I0, i64* ref, i64* ring_syn, i64* ring_cur, const double* c,
    const i64 ref_counts, const i64* rec_map, const i64 n, double* rec_out, const i64 n_rec, i64* spk_idx,
    i64* spk_step,
    u64* n_spk)
{
    const double step_ms = c[0], threshold = c[1], V_reset = c[2], eps_abs = c[3], eps_rel = c[4], a_y = c[5];
    const double a_dydt = c[6], g0_ex = c[7], g0_in = c[8], b_spike = c[9];
    double y[DIM];
    for (int d = 0; d < DIM; ++d) y[d] = state[d][i];
    double h = H[i], i0 = I0[i];
    i64 r = ref[i];
    for (i64 k = 0; k < n_steps; ++k) {
        const i64 step = first_step + k;
        const i64 slot = step % R;
        i64 lane_r = r, spikes = 0;
        double lane_h = h > 0.0 ? h : step_ms;
        if (!rkf45_evolve<DIM, Model>(y, c, &lane_r, i0, &lane_h, step_ms, eps_abs, eps_rel, a_y, a_dydt, ADEX,
                                      threshold, V_reset, W, b_spike, ref_counts, &spikes)) {
            atomicOr(n_spk + 1, 1ULL);
            break;
        }
        h = lane_h;
        double ex, inh;
        take_synaptic(ring_syn, slot, n_local, j, &ex, &inh);
        if (ADEX) {
            r = lane_r > 0 ? lane_r - 1 : lane_r;
        } else {
            if (INPUT_FIRST) {
                y[EX] = y[EX] + ex * g0_ex;
                y[IN] = y[IN] + -inh * g0_in;
            }
            if (r > 0) {
                r -= 1;
                y[0] = V_reset;
            } else if (y[0] >= threshold) {
                r = ref_counts;
                y[0] = V_reset;
                spikes = 1;
            }
        }
        if (spikes > 0) {
            const u64 at = atomicAdd(n_spk, (u64)spikes);
            if (at + (u64)spikes > n_spk[2]) {
                atomicOr(n_spk + 1, 2ULL);
            } else {
                for (i64 s = 0; s < spikes; ++s) {
                    spk_idx[at + s] = j;
                    spk_step[at + s] = step;
                }
            }
        }
        if (ADEX || !INPUT_FIRST) {
            y[EX] = y[EX] + ex * g0_ex;
            y[IN] = y[IN] + -inh * g0_in;
        }
        i0 = take_current(ring_cur, slot, n_local, j);
        if (rec_map[i] < rec_map[i + 1]) {
            double values[DIM];
            Model::recorded(y, values);
            record_columns(rec_map, n, i, rec_out, k * n_rec, values);
        }
    }
    for (int d = 0; d < DIM; ++d) state[d][i] = y[d];
    H[i] = h; I0[i] = i0; ref[i] = r;
}
"""


def cuda_source(name: str, kernel: str, kernel_state: tuple, kernel_constants: tuple, dim: int, dynamics: str,
                adex: bool, input_first: bool, layout: tuple, recorded: tuple) -> str:
    """A model's CUDA update ``kernel``: the shared integration and step (once in the module, whichever
    model comes first), the model's right-hand side ``dynamics`` (the body of ``Model::dynamics(const double*
    y, double* f, const double* c, bool refractory, double stim)``) and the kernel, whose arguments are the
    common head, ``kernel_state`` (its first ``dim`` the integrated state, then h, I0, ref), the rings,
    ``kernel_constants`` (the array ``c`` of the right-hand side, in this order) and the common tail
    (``gpu.update_block``); ``recorded``: the state variables of ``RECORDED_STATE``, as indices of the
    integrated state. ``adex``, ``input_first`` and
    ``layout`` (excitatory, inhibitory, adaptation variable) as :func:`advance` takes them."""
    arrays = [f"i64* {s}" if s == "ref" else f"double* {s}" for s in kernel_state]
    constants = ", ".join(f"const double {c}" for c in kernel_constants)
    n_constants = len(kernel_constants)
    ex, inh, w = layout
    return f"""
#ifndef DSNN_CONDUCTANCE_UPDATE
#define DSNN_CONDUCTANCE_UPDATE
{CUDA_EVOLVE}
{CUDA_ADEX_MEMBRANE}
{_CUDA_UPDATE}
#endif

struct {name}_model {{
    static __device__ __forceinline__ void dynamics(const double* y, double* f, const double* c,
                                                    const bool refractory, const double stim)
    {{{dynamics}
    }}

    static __device__ __forceinline__ void recorded(const double* y, double* values)
    {{
        {" ".join(f"values[{k}] = y[{v}];" for k, v in enumerate(recorded))}
    }}
}};

extern "C" __global__ void {kernel}(
    const i64 first_step, const i64 n_steps, const i64 lo, const i64 n, const i64 n_local, const i64 R,
    {", ".join(arrays)}, i64* ring_syn, i64* ring_cur, {constants},
    const i64 ref_counts, const i64* rec_map, double* rec_out, const i64 n_rec, i64* spk_idx, i64* spk_step,
    u64* n_spk)
{{
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double* state[{dim}] = {{{", ".join(kernel_state[:dim])}}};
    const double c[{n_constants}] = {{{", ".join(kernel_constants)}}};
    conductance_update<{dim}, {name}_model, {str(adex).lower()}, {str(input_first).lower()}, {ex}, {inh},
                       {w}>(first_step, n_steps, lo + i, i, n_local, R, state, h, I0, ref, ring_syn, ring_cur, c,
                            ref_counts, rec_map, n, rec_out, n_rec, spk_idx, spk_step, n_spk);
}}
"""
