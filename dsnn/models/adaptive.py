"""The adaptive Runge-Kutta-Fehlberg 4(5) integration NEST gives its conductance-based and AdEx models.

NEST 3.10 integrates iaf_cond_exp, iaf_cond_alpha, aeif_cond_exp and
aeif_cond_alpha with GSL's ``gsl_odeiv_evolve_apply`` (the ``ode-initval``
interface of GSL 1.15, the version NEST's wheels carry), stepper
``gsl_odeiv_step_rkf45`` and the standard step control, called again and
again until a simulation step is covered; the integration step ``h`` each
call suggests is kept per neuron from one simulation step to the next.
:func:`evolve_lanes` is that loop, written again for numba: the same
coefficients, the same float64 operations in the same order (no fused
multiply-add), the same step control (decrease by at most 5 and retry; grow
by at most 5; the last step cut to end on the step's end, and the step size
it suggests kept), so each neuron's trajectory is NEST's, bit for bit.

It integrates several neurons (*lanes*) at once, stage by stage: one
neuron's step is a chain of six dependent evaluations of the right-hand
side (each an exp and several divisions), which leaves a core mostly
waiting; the same stage of other neurons fills that time. A lane does
exactly the arithmetic GSL does for its neuron, whatever the others do.

A model supplies its right-hand side as a numba function
``dynamics(w, ln, s, f, c, refractory, stim)``: it reads lane ``ln``'s state
from row ``s`` of the work array ``w`` (``w[ln, s, :]``) and writes the
derivatives to row ``f``, with the model's constants ``c``, whether the
neuron is refractory and its input current ``stim`` (pA). Before each
evaluation, ``at_time(w, ln, row, stage, t0, h, c, data)`` may fill in what
depends on the time in row ``row``: ``t0 + STAGE_FRACTIONS[stage] h`` ms since
the simulation step began (``t0`` the integration step's start, ``h`` its
size; ``data``: the hook's own): :func:`no_time` in :func:`evolve_lanes`
(NEST's autonomous systems); dsnn's exact-conductance option
(:mod:`.conductance`) sets the conductances there.

The control accepts a step while ``|yerr[i]| <= 1.1 (eps_rel (a_y |y[i]| +
a_dydt |h f[i]|) + eps_abs)`` for every i, with the error ``yerr`` of the
embedded 4th-order solution (``gsl_odeiv_control_y_new(eps_abs, eps_rel)``:
a_y = 1, a_dydt = 0; ``..._yp_new``: a_y = 0, a_dydt = 1).
"""

from __future__ import annotations

from ..support.jit import kernel

__all__ = ["evolve_lanes", "adex_spike_test", "no_time", "LANES", "LANE_ROWS", "WORK_ROWS", "Y", "STAGE_FRACTIONS",
           "UNSTABLE", "CUDA_EVOLVE"]

# Fehlberg's coefficients as GSL writes them (ode-initval/rkf45.c): the same quotients, rounded alike
AH0, AH1, AH2, AH3, AH4 = 1.0 / 4.0, 3.0 / 8.0, 12.0 / 13.0, 1.0, 1.0 / 2.0
B30, B31 = 3.0 / 32.0, 9.0 / 32.0
B40, B41, B42 = 1932.0 / 2197.0, -7200.0 / 2197.0, 7296.0 / 2197.0
B50, B51, B52, B53 = 8341.0 / 4104.0, -32832.0 / 4104.0, 29440.0 / 4104.0, -845.0 / 4104.0
B60, B61, B62, B63, B64 = (-6080.0 / 20520.0, 41040.0 / 20520.0, -28352.0 / 20520.0, 9295.0 / 20520.0,
                           -5643.0 / 20520.0)
C1, C3, C4, C5, C6 = (902880.0 / 7618050.0, 3953664.0 / 7618050.0, 3855735.0 / 7618050.0,
                      -1371249.0 / 7618050.0, 277020.0 / 7618050.0)
# differences of the 5th- and 4th-order weights: the error estimate
EC1, EC3, EC4, EC5, EC6 = 1.0 / 360.0, -128.0 / 4275.0, -2197.0 / 75240.0, 1.0 / 50.0, 2.0 / 55.0

#: where in an integration step the right-hand side is evaluated: its start, the five stages (AH0 .. AH4) and
#: the candidate at its end (the ``stage`` index of ``at_time``)
STAGE_FRACTIONS = (0.0, AH0, AH1, AH2, AH3, AH4, 1.0)

#: rkf45's order as GSL reports it to the control
ORDER = 5
#: the smallest normal double (GSL's DBL_MIN, the start of the largest error ratio)
DBL_MIN = 2.2250738585072014e-308

#: neurons integrated together
LANES = 8

#: rows of a lane's part of the work array (the models' kernels make it: (LANES, WORK_ROWS, dim) float64): its
#: state ``y`` (row :data:`Y`, which the model fills and reads back), the derivatives there (GSL's dydt_in, k1),
#: the candidate state of a step and the derivatives there, the error estimate, a stage's argument, and the
#: stages k2 .. k6
WORK_ROWS = 11
Y, K1, YNEW, DYDT_OUT, YERR, YTMP, K2, K3, K4, K5, K6 = range(WORK_ROWS)

#: rows of the lanes' scratch array (float64, (at least LANE_ROWS, LANES)): each lane's time, the step size it
#: tries, whether that step ends the simulation step, whether it is refractory, and the active lanes in order
LANE_ROWS = 5


@kernel(inline=True)
def no_time(w, ln, row, stage, t0, h, c, data):
    """The ``at_time`` of an autonomous right-hand side (NEST's models): nothing to set."""
    return


@kernel(inline=True)
def _stage(dynamics, at_time, data, c, w, dim, act, n_act, refr, stim, t0, h0, stage, a, K, coef0, coef1, coef2,
           coef3, coef4, out):
    """Fehlberg stage: for each active lane, ``YTMP = Y + h (coef0 K1 + coef1 K2 + ...)`` over the first ``K``
    stages (GSL's grouping, term by term), then the derivatives there (stage ``stage``) into row ``out``."""
    for j in range(n_act):
        ln = int(act[j])
        h = h0[ln]
        for i in range(dim):
            if K == 1:
                w[ln, YTMP, i] = w[ln, Y, i] + a * h * w[ln, K1, i]
            elif K == 2:
                w[ln, YTMP, i] = w[ln, Y, i] + h * (coef0 * w[ln, K1, i] + coef1 * w[ln, K2, i])
            elif K == 3:
                w[ln, YTMP, i] = w[ln, Y, i] + h * (coef0 * w[ln, K1, i] + coef1 * w[ln, K2, i] + coef2 * w[ln, K3, i])
            elif K == 4:
                w[ln, YTMP, i] = w[ln, Y, i] + h * (coef0 * w[ln, K1, i] + coef1 * w[ln, K2, i] + coef2 * w[ln, K3, i]
                                                  + coef3 * w[ln, K4, i])
            else:
                w[ln, YTMP, i] = w[ln, Y, i] + h * (coef0 * w[ln, K1, i] + coef1 * w[ln, K2, i] + coef2 * w[ln, K3, i]
                                                  + coef3 * w[ln, K4, i] + coef4 * w[ln, K5, i])
        at_time(w, ln, YTMP, stage, t0[ln], h, c, data)
        dynamics(w, ln, YTMP, out, c, refr[ln] != 0.0, stim[ln])


@kernel(inline=True)
def _attempt(dynamics, at_time, data, c, w, dim, act, n_act, refr, stim, t0, h0):
    """One Fehlberg step of size ``h0[ln]`` from ``w[ln, Y]`` for each active lane (GSL's ``rkf45_apply``): the
    candidate state in row YNEW, the derivatives there in DYDT_OUT and the error estimate in YERR; ``at_time``
    and its ``data`` as the module's docstring says."""
    _stage(dynamics, at_time, data, c, w, dim, act, n_act, refr, stim, t0, h0, 1, AH0, 1, 0.0, 0.0, 0.0, 0.0, 0.0,
           K2)
    _stage(dynamics, at_time, data, c, w, dim, act, n_act, refr, stim, t0, h0, 2, 0.0, 2, B30, B31, 0.0, 0.0, 0.0,
           K3)
    _stage(dynamics, at_time, data, c, w, dim, act, n_act, refr, stim, t0, h0, 3, 0.0, 3, B40, B41, B42, 0.0, 0.0,
           K4)
    _stage(dynamics, at_time, data, c, w, dim, act, n_act, refr, stim, t0, h0, 4, 0.0, 4, B50, B51, B52, B53, 0.0,
           K5)
    _stage(dynamics, at_time, data, c, w, dim, act, n_act, refr, stim, t0, h0, 5, 0.0, 5, B60, B61, B62, B63, B64,
           K6)
    for j in range(n_act):
        ln = int(act[j])
        h = h0[ln]
        for i in range(dim):
            d_i = C1 * w[ln, K1, i] + C3 * w[ln, K3, i] + C4 * w[ln, K4, i] + C5 * w[ln, K5, i] + C6 * w[ln, K6, i]
            w[ln, YNEW, i] = w[ln, Y, i] + h * d_i
        at_time(w, ln, YNEW, 6, t0[ln], h, c, data)
        dynamics(w, ln, YNEW, DYDT_OUT, c, refr[ln] != 0.0, stim[ln])
        for i in range(dim):
            w[ln, YERR, i] = h * (EC1 * w[ln, K1, i] + EC3 * w[ln, K3, i] + EC4 * w[ln, K4, i] + EC5 * w[ln, K5, i]
                                 + EC6 * w[ln, K6, i])


@kernel(inline=True)
def _error_ratio(w, dim, ln, h, eps_abs, eps_rel, a_y, a_dydt):
    """The largest error of lane ``ln``'s candidate relative to its tolerance (GSL's std_control_hadjust)."""
    rmax = DBL_MIN
    for i in range(dim):
        d0 = eps_rel * (a_y * abs(w[ln, YNEW, i]) + a_dydt * abs(h * w[ln, DYDT_OUT, i])) + eps_abs
        r = abs(w[ln, YERR, i]) / abs(d0)
        rmax = r if r > rmax else rmax
    return rmax


#: what a run says when an AdEx neuron became unstable (here and in the GPU kernels)
UNSTABLE = ("an AdEx neuron became numerically unstable (V_m < -1000 mV or |w| > 1e6 pA), as NEST reports it: "
            "check its parameters and input")


@kernel(inline=True)
def adex_spike_test(w, ln, r, refr, spikes, V_peak, V_reset, w_index, b, ref_counts):
    """NEST's AdEx test after an integration step of lane ``ln`` (V_m in row Y, variable 0): V_m held at
    ``V_reset`` while refractory (``r[ln] > 0``), or where it reached ``V_peak`` reset, variable ``w_index``
    grown by ``b``, ``r[ln]`` set to ``ref_counts + 1`` (0 without a refractory period) and ``spikes[ln]``
    counting the spike; FloatingPointError where the lane became unstable as NEST says (V_m < -1000 mV or
    |w| > 1e6). Returns whether the state or the refractoriness changed."""
    if w[ln, Y, 0] < -1e3 or abs(w[ln, Y, w_index]) > 1e6:
        raise FloatingPointError(UNSTABLE)
    if r[ln] > 0:
        w[ln, Y, 0] = V_reset
        return True
    if w[ln, Y, 0] >= V_peak:
        w[ln, Y, 0] = V_reset
        w[ln, Y, w_index] = w[ln, Y, w_index] + b
        r[ln] = ref_counts + 1 if ref_counts > 0 else 0
        refr[ln] = 1.0 if r[ln] > 0 else 0.0
        spikes[ln] += 1
        return True
    return False


@kernel(inline=True)
def evolve_lanes(dynamics, c, w, dim, lanes, n, r, stim, h, t1, eps_abs, eps_rel, a_y, a_dydt, spike_test, V_peak,
                 V_reset, w_index, b, ref_counts, spikes):
    """Integrate lanes ``0 .. n-1`` over one simulation step of ``t1`` ms, as NEST's models call
    ``gsl_odeiv_evolve_apply`` until ``t`` reaches ``t1``: each lane's state ``w[ln, Y]`` is advanced in
    place and ``h[ln]``, its integration step (ms), left at the size to start the next step with.
    ``dim``: the number of state variables (a constant where the model calls it, so that the loops over
    them unroll). ``r[ln]``: the lane's refractory count (refractory where > 0), ``stim[ln]`` its input current (pA).

    With ``spike_test`` (NEST's AdEx models), after each accepted integration step: V_m (row Y, variable 0)
    is held at ``V_reset`` while refractory, or where it reached ``V_peak`` it is reset, variable
    ``w_index`` grows by ``b``, ``r[ln]`` becomes ``ref_counts + 1`` (0 without a refractory period) and
    ``spikes[ln]`` counts the spike; a lane becomes unstable as NEST says (V_m < -1000 mV or |w| > 1e6):
    FloatingPointError. ``lanes``: scratch (:data:`LANE_ROWS`)."""
    t0, h0, final, refr, act = lanes[0], lanes[1], lanes[2], lanes[3], lanes[4]
    n_act = n
    for ln in range(n):
        t0[ln] = 0.0
        act[ln] = ln
        refr[ln] = 1.0 if r[ln] > 0 else 0.0
        dynamics(w, ln, Y, K1, c, refr[ln] != 0.0, stim[ln])  # GSL's dydt_in, at the start of each evolve_apply
    while n_act > 0:
        for j in range(n_act):
            ln = int(act[j])
            final[ln] = 1.0 if h[ln] > t1 - t0[ln] else 0.0
            h0[ln] = t1 - t0[ln] if final[ln] != 0.0 else h[ln]
        _attempt(dynamics, no_time, h0, c, w, dim, act, n_act, refr, stim, t0, h0)
        n_next = 0
        for j in range(n_act):
            ln = int(act[j])
            t = t1 if final[ln] != 0.0 else t0[ln] + h0[ln]
            h_old = h0[ln]
            rmax = _error_ratio(w, dim, ln, h_old, eps_abs, eps_rel, a_y, a_dydt)
            h_next = h_old
            if rmax > 1.1:
                q = 0.9 / rmax ** (1.0 / ORDER)
                if q < 0.2:
                    q = 0.2
                h_new = q * h_old
                if abs(h_new) < abs(h_old) and t + h_new != t:  # rejected: try again from the same start
                    h[ln] = h_new
                    act[n_next] = ln
                    n_next += 1
                    continue
            elif rmax < 0.5:
                q = 0.9 / rmax ** (1.0 / (ORDER + 1.0))
                if q > 5.0:
                    q = 5.0
                if q < 1.0:
                    q = 1.0
                h_next = q * h_old
            for i in range(dim):  # accepted
                w[ln, Y, i] = w[ln, YNEW, i]
            t0[ln] = t
            h[ln] = h_next
            # the state or the refractoriness changed since DYDT_OUT was computed
            changed = spike_test and adex_spike_test(w, ln, r, refr, spikes, V_peak, V_reset, w_index, b, ref_counts)
            if t < t1:  # the next evolve_apply: its dydt_in is the derivatives at the state reached
                act[n_next] = ln
                n_next += 1
                if changed:
                    dynamics(w, ln, Y, K1, c, refr[ln] != 0.0, stim[ln])
                else:  # the same function of the same values: bit for bit what GSL computes again
                    for i in range(dim):
                        w[ln, K1, i] = w[ln, DYDT_OUT, i]
        n_act = n_next


#: :func:`evolve_lanes` for one neuron in CUDA C (``rkf45_evolve<DIM, Model>``: one thread per neuron, the
#: same float64 operations in the same order, the step control's powers by ``glibc_pow`` as the CPU's libm
#: computes them); ``Model::dynamics(y, f, c, refractory, stim)`` is the right-hand side. Returns false where
#: the neuron became unstable (the kernel reports it; the CPU raises FloatingPointError).
_CUDA_COEFFICIENTS = {"AH0": AH0, "B30": B30, "B31": B31, "B40": B40, "B41": B41, "B42": B42, "B50": B50, "B51": B51,
                      "B52": B52, "B53": B53, "B60": B60, "B61": B61, "B62": B62, "B63": B63, "B64": B64, "C1": C1,
                      "C3": C3, "C4": C4, "C5": C5, "C6": C6, "EC1": EC1, "EC3": EC3, "EC4": EC4, "EC5": EC5,
                      "EC6": EC6, "ORDER": float(ORDER), "DBL_MIN": DBL_MIN}
CUDA_EVOLVE = "\n".join(f"#define RKF45_{name} ({value!r})" for name, value in _CUDA_COEFFICIENTS.items()) + r"""

template <int DIM, class Model>
__device__ bool rkf45_evolve(double* y, const double* c, i64* r, const double stim, double* h, const double t1,
                             const double eps_abs, const double eps_rel, const double a_y, const double a_dydt,
                             const bool spike_test, const double V_peak, const double V_reset, const int w_index,
                             const double b, const i64 ref_counts, i64* spikes)
{
    double k1[DIM], k2[DIM], k3[DIM], k4[DIM], k5[DIM], k6[DIM], yt[DIM], ynew[DIM], dydt_out[DIM], yerr[DIM];
    double t0 = 0.0;
    bool refr = *r > 0;
    Model::dynamics(y, k1, c, refr, stim);
    while (true) {
        const bool final = *h > t1 - t0;
        const double hs = final ? t1 - t0 : *h;
        for (int i = 0; i < DIM; ++i) yt[i] = y[i] + RKF45_AH0 * hs * k1[i];
        Model::dynamics(yt, k2, c, refr, stim);
        for (int i = 0; i < DIM; ++i) yt[i] = y[i] + hs * (RKF45_B30 * k1[i] + RKF45_B31 * k2[i]);
        Model::dynamics(yt, k3, c, refr, stim);
        for (int i = 0; i < DIM; ++i)
            yt[i] = y[i] + hs * (RKF45_B40 * k1[i] + RKF45_B41 * k2[i] + RKF45_B42 * k3[i]);
        Model::dynamics(yt, k4, c, refr, stim);
        for (int i = 0; i < DIM; ++i)
            yt[i] = y[i] + hs * (RKF45_B50 * k1[i] + RKF45_B51 * k2[i] + RKF45_B52 * k3[i] + RKF45_B53 * k4[i]);
        Model::dynamics(yt, k5, c, refr, stim);
        for (int i = 0; i < DIM; ++i)
            yt[i] = y[i] + hs * (RKF45_B60 * k1[i] + RKF45_B61 * k2[i] + RKF45_B62 * k3[i] + RKF45_B63 * k4[i]
                                 + RKF45_B64 * k5[i]);
        Model::dynamics(yt, k6, c, refr, stim);
        for (int i = 0; i < DIM; ++i) {
            const double d = RKF45_C1 * k1[i] + RKF45_C3 * k3[i] + RKF45_C4 * k4[i] + RKF45_C5 * k5[i]
                             + RKF45_C6 * k6[i];
            ynew[i] = y[i] + hs * d;
        }
        Model::dynamics(ynew, dydt_out, c, refr, stim);
        for (int i = 0; i < DIM; ++i)
            yerr[i] = hs * (RKF45_EC1 * k1[i] + RKF45_EC3 * k3[i] + RKF45_EC4 * k4[i] + RKF45_EC5 * k5[i]
                            + RKF45_EC6 * k6[i]);
        const double t = final ? t1 : t0 + hs;
        double rmax = RKF45_DBL_MIN;
        for (int i = 0; i < DIM; ++i) {
            const double d0 = eps_rel * (a_y * fabs(ynew[i]) + a_dydt * fabs(hs * dydt_out[i])) + eps_abs;
            const double ratio = fabs(yerr[i]) / fabs(d0);
            rmax = ratio > rmax ? ratio : rmax;
        }
        double h_next = hs;
        if (rmax > 1.1) {
            double q = 0.9 / glibc_pow(rmax, 1.0 / RKF45_ORDER);
            if (q < 0.2) q = 0.2;
            const double h_new = q * hs;
            if (fabs(h_new) < fabs(hs) && t + h_new != t) {  /* rejected: again from the same start */
                *h = h_new;
                continue;
            }
        } else if (rmax < 0.5) {
            double q = 0.9 / glibc_pow(rmax, 1.0 / (RKF45_ORDER + 1.0));
            if (q > 5.0) q = 5.0;
            if (q < 1.0) q = 1.0;
            h_next = q * hs;
        }
        for (int i = 0; i < DIM; ++i) y[i] = ynew[i];
        t0 = t;
        *h = h_next;
        bool changed = false;
        if (spike_test) {  /* adex_spike_test */
            if (y[0] < -1e3 || fabs(y[w_index]) > 1e6) return false;
            if (*r > 0) {
                y[0] = V_reset;
                changed = true;
            } else if (y[0] >= V_peak) {
                y[0] = V_reset;
                y[w_index] = y[w_index] + b;
                *r = ref_counts > 0 ? ref_counts + 1 : 0;
                refr = *r > 0;
                *spikes += 1;
                changed = true;
            }
        }
        if (!(t < t1)) return true;
        if (changed) {
            Model::dynamics(y, k1, c, refr, stim);
        } else {
            for (int i = 0; i < DIM; ++i) k1[i] = dydt_out[i];
        }
    }
}
"""
