"""Spike-timing-dependent plasticity on the CPU: NEST's pair-based ``stdp_synapse``.

As NEST computes it (nest-simulator ``models/stdp_synapse.h``,
``nestkernel/archiving_node.cpp``), in the same float64 operations:

- each neuron with plastic input keeps the history of its spikes: the time
  t (ms, as NEST computes times from tics) and its depression trace after
  the spike, ``K- := K- exp((t_last - t)/tau_minus) + 1``;
- when a presynaptic spike emitted at t reaches a synapse of delay d (all of
  it dendritic), the weight is first facilitated by each postsynaptic spike
  t_post with t_last - d < t_post <= t - d (t_last: the synapse's previous
  presynaptic spike), in order, by ``K+ exp((t_last - t_post - d)/tau_plus)``,
  then depressed by the target's trace just before t - d; the spike is
  delivered with the new weight; then ``K+ := K+ exp((t_last - t)/tau_plus)
  + 1`` and t_last := t. Facilitation ``w/Wmax + lambda (1 - w/Wmax)^mu_plus
  k``, capped at 1; depression ``w/Wmax - alpha lambda (w/Wmax)^mu_minus k``,
  floored at 0 (both times Wmax).

K+ and t_last are the same for every synapse of one source in one
projection (the same presynaptic spikes), so they are kept per presynaptic
slot. Spikes must reach :func:`deliver_stdp` in time order.
"""

from __future__ import annotations

import math

import numpy as np

from ..support.glibc_math import exp as libm_exp
from ..support.glibc_math import pow as libm_pow
from ..support.jit import kernel
from .cpu import word

__all__ = ["record_post_spikes", "newest_spikes", "deliver_stdp", "prune_history", "STDP_EPS", "STDP_COLUMNS",
           "RULES", "NEWEST"]

#: NEST's tolerance when comparing spike times in STDP (ConnectionManager's stdp_eps, ms)
STDP_EPS = 1.0e-6

#: the order of a plastic group's parameters in the array :func:`deliver_stdp` takes; ``rule`` is one of
#: :data:`RULES` (stdp_pl_synapse_hom's ``mu`` is ``mu_plus``; it has no mu_minus or Wmax)
STDP_COLUMNS = ("rule", "tau_plus", "lambda", "alpha", "mu_plus", "mu_minus", "Wmax")

#: the plasticity rules :func:`deliver_stdp` computes, by synapse model
RULES = {"stdp_synapse": 0, "stdp_pl_synapse_hom": 1, "tsodyks2_synapse": 2}

_S32 = 4294967296.0


#: how many of each neuron's newest spike times are kept apart, in one compact row per neuron (see
#: :func:`newest_spikes`)
NEWEST = 4


@kernel
def record_post_spikes(idx, steps, tics_per_step, tau_minus_inv, kminus, last_spike, hist_t, hist_k, hist_n,
                       newest):
    """Append the spikes of local neurons ``idx`` in update steps ``steps`` (time order) to their histories:
    time ``0.001 * tics`` of stamp ``step + 1`` and the trace after it; and to ``newest`` (see
    :func:`newest_spikes`). The histories must have room."""
    for i in range(idx.shape[0]):
        q = idx[i]
        t = 0.001 * np.float64((steps[i] + 1) * tics_per_step)
        kminus[q] = kminus[q] * math.exp((last_spike[q] - t) * tau_minus_inv[q]) + 1.0
        last_spike[q] = t
        n = hist_n[q]
        hist_t[q, n] = t
        hist_k[q, n] = kminus[q]
        hist_n[q] = n + 1
        for r in range(NEWEST - 1, 0, -1):
            newest[q, r] = newest[q, r - 1]
        newest[q, 0] = t


@kernel
def newest_spikes(hist_t, hist_n, newest):
    """Fill ``newest`` (neurons, NEWEST) float64 with each neuron's newest spike times, newest first, -inf
    where it has fewer. One cache line per neuron: a delivery's windows are nearly always among them, and
    the histories' rows are too long (and too many) to stay in the caches. :func:`record_post_spikes` keeps
    it up to date; this builds it again after the histories are pruned or restored."""
    for q in range(hist_n.shape[0]):
        for r in range(NEWEST):
            newest[q, r] = hist_t[q, hist_n[q] - 1 - r] if r < hist_n[q] else -np.inf


@kernel(inline=True)
def _first_at_or_after(hist_t, q, n, t):
    """The first of neuron ``q``'s ``n`` spikes (times ascending) at or after ``t``: a binary search."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if hist_t[q, mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel
def prune_history(before, hist_t, hist_k, hist_n):
    """Forget each neuron's spikes that no synapse will pair with any more: those before the last one
    earlier than ``before`` (ms; that one still gives the trace after it). Returns the spikes forgotten."""
    dropped = 0
    for q in range(hist_n.shape[0]):
        n = hist_n[q]
        keep_from = _first_at_or_after(hist_t, q, n, before) - 1
        if keep_from > 0:
            for k in range(keep_from, n):
                hist_t[q, k - keep_from] = hist_t[q, k]
                hist_k[q, k - keep_from] = hist_k[q, k]
            hist_n[q] = n - keep_from
            dropped += keep_from
    return dropped


@kernel(inline=True)
def _trace_before(hist_t, hist_k, n, q, t, tau_minus_inv, inline):
    """The depression trace of neuron ``q`` at time ``t`` from its last spike strictly before t (0 if none)."""
    for k in range(n - 1, -1, -1):
        if t - hist_t[q, k] > STDP_EPS:
            return hist_k[q, k] * libm_exp((hist_t[q, k] - t) * tau_minus_inv, inline)
    return 0.0


@kernel(inline=True)
def _deliver_tsodyks2(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, weights, x_state, t_last, u_state,
                      U, tau_rec, tau_fac, tics_per_step, ring):
    """tsodyks2_synapse's delivery (see :func:`deliver_stdp`): NEST's update, in its float64 operations."""
    R = ring.shape[0]
    events = 0
    for i in range(slots.shape[0]):
        s = slots[i]
        if row_ptr[s] == row_ptr[s + 1]:  # no synapse of this group from that source here: no state kept
            continue
        t_spike = 0.001 * np.float64((steps[i] + 1) * tics_per_step)
        x, u = x_state[s], u_state[s]
        if t_last[s] >= 0.0:
            h = t_spike - t_last[s]
            x_decay = math.exp(-h / tau_rec)
            u_decay = 0.0 if tau_fac == 0 else math.exp(-h / tau_fac)
            x = 1.0 + (x - x * u - 1.0) * x_decay
            u = U + u * (1.0 - U) * u_decay
            x_state[s], u_state[s] = x, u
        base = steps[i] % R
        events += row_ptr[s + 1] - row_ptr[s]
        for j in range(row_ptr[s], row_ptr[s + 1]):
            p = word(packed, packed_hi, j)
            q = np.int64(p >> shift)
            slot = base + d0 + np.int64(p & dmask)
            slot = slot - R if slot >= R else slot
            w = x * u * weights[j]
            ring[slot, 0 if w > 0 else 1, q] += np.int64(w * _S32)
        t_last[s] = t_spike
    return events


@kernel(inline=True)
def _facilitate(w, minus_dt, kp, power_law, tau_plus, tau_plus_inv, lam, mu_plus, Wmax, inline):
    """The weight after one postsynaptic spike ``minus_dt`` ms after the synapse's last presynaptic spike
    (minus_dt < 0), as NEST's stdp_synapse (or stdp_pl_synapse_hom where ``power_law``) facilitates it."""
    if power_law:
        return w + (lam * libm_pow(w, mu_plus, inline) * (kp * libm_exp(minus_dt * tau_plus_inv, inline)))
    k_plus = kp * libm_exp(minus_dt / tau_plus, inline)
    norm_w = (w / Wmax) + (lam * libm_pow(1.0 - (w / Wmax), mu_plus, inline) * k_plus)
    return norm_w * Wmax if norm_w < 1.0 else Wmax


@kernel(inline=True)
def _pairs_of_row(a, b, packed, packed_hi, shift, dmask, d0, ms_per_step, tl, t_spike, hist_t, hist_n, newest,
                  pair_j, pair_q, pair_k, pair_end, pair_dend):
    """For the synapses ``a .. b-1`` of one presynaptic spike (emitted at ``t_spike``, the previous one at
    ``tl``): the postsynaptic spikes each is facilitated by, those with tl - d < t_post <= t_spike - d
    (NEST's ``get_history`` window, both ends moved by STDP_EPS as NEST does). Writes, for each synapse
    with at least one, its index j, target q, the history indices of the window's oldest spike and of its
    end (exclusive), and its dendritic delay (ms); returns how many.

    Unless the target spiked within the last delay, a window ends at the newest spike: its spikes among
    the newest four (``newest``: :func:`newest_spikes`) are counted without branches."""
    m = 0
    for j in range(a, b):
        p = word(packed, packed_hi, j)
        q = np.int64(p >> shift)
        dendritic = np.float64(d0 + np.int64(p & dmask)) * ms_per_step
        t1 = tl - dendritic + STDP_EPS
        t2 = t_spike - dendritic + STDP_EPS
        n = hist_n[q]
        stop = n
        if newest[q, 0] >= t2:  # spikes after the window: look for its end
            while stop > 0 and hist_t[q, stop - 1] >= t2:
                stop -= 1
            first = stop
            while first > 0 and hist_t[q, first - 1] >= t1:
                first -= 1
        else:
            c = np.int64(newest[q, 0] >= t1) + np.int64(newest[q, 1] >= t1) + np.int64(newest[q, 2] >= t1) \
                + np.int64(newest[q, 3] >= t1)
            first = stop - c
            if c == NEWEST:
                while first > 0 and hist_t[q, first - 1] >= t1:
                    first -= 1
        pair_j[m], pair_q[m], pair_k[m], pair_end[m], pair_dend[m] = j, q, first, stop, dendritic
        m += np.int64(first < stop) & np.int64(tl - dendritic != t_spike - dendritic)
    return m


@kernel(inline=True)
def _depress(w, kminus, power_law, lam, alpha, mu_minus, Wmax, inline):
    """The weight after a presynaptic spike meets the target's depression trace ``kminus``, as NEST's
    stdp_synapse (or stdp_pl_synapse_hom where ``power_law``) depresses it."""
    if power_law:
        w = w - (lam * alpha * w * kminus)
        return w if w > 0.0 else 0.0
    norm_w = (w / Wmax) - (alpha * lam * libm_pow(w / Wmax, mu_minus, inline) * kminus)
    return norm_w * Wmax if norm_w > 0.0 else 0.0


@kernel
def deliver_stdp(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, weights, kplus, t_last, u_state,
                 params, ms_per_step, tics_per_step, tau_minus_inv, hist_t, hist_k, hist_n, newest, ring,
                 inline_libm):
    """Deliver spikes (presynaptic ``slots``, emission ``steps``, in time order) through a plastic group,
    changing its float64 ``weights`` (pA) and its per-slot ``kplus``/``t_last`` as NEST's stdp_synapse
    does (see the module docstring), or stdp_pl_synapse_hom (``rule`` 1: facilitation ``w + lambda w^mu
    k``, depression ``w - lambda alpha w k`` floored at 0, and 1/tau_plus multiplied, as NEST has it);
    ``params`` in the order of :data:`STDP_COLUMNS`. The weight each spike is delivered with goes into the
    ring in fixed point. Returns the synaptic events.

    ``rule`` 2 is tsodyks2_synapse, short-term plasticity: per presynaptic slot the resources ``kplus``
    (x) and the utilisation ``u_state`` (u), updated at each spike from the time since the last (t_last,
    -1 before the first) as NEST does; ``params[1..3]`` are U, tau_rec, tau_fac; the weights do not change
    and each spike is delivered with ``x u w``.

    Per presynaptic spike the work is done in three passes over its synapses, each synapse's operations in
    NEST's order: the postsynaptic spikes of each synapse's window; facilitation by them, in rounds (the
    first spike of every window, then the second ...), so that the power and exponential of different
    synapses are independent and overlap in the CPU; depression and delivery.

    ``newest`` holds each target's newest spike times (:func:`newest_spikes`). Where ``inline_libm``
    (:func:`dsnn.support.glibc_math.exact_here` must have said so), ``exp`` and ``pow`` are computed
    inline, with the same results as libm's (:mod:`dsnn.support.glibc_math`)."""
    if params[0] == 2.0:
        return _deliver_tsodyks2(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, weights, kplus,
                                 t_last, u_state, params[1], params[2], params[3], tics_per_step, ring)
    power_law = params[0] == 1.0
    tau_plus, lam, alpha, mu_plus, mu_minus, Wmax = params[1], params[2], params[3], params[4], params[5], params[6]
    tau_plus_inv = 1.0 / tau_plus
    R = ring.shape[0]
    events = 0
    longest = 0
    for i in range(slots.shape[0]):
        longest = max(longest, row_ptr[slots[i] + 1] - row_ptr[slots[i]])
    pair_j, pair_q, pair_k = np.empty(longest, np.int64), np.empty(longest, np.int64), np.empty(longest, np.int64)
    pair_end, pair_dend = np.empty(longest, np.int64), np.empty(longest)
    # one delay for the whole group: every spike of one step meets target q's trace at the same time, so
    # it is computed once per (step, target) (the same value: the same operations on the same numbers)
    one_delay = dmask == 0
    n_cached = ring.shape[2] if one_delay else 0
    trace, trace_of = np.empty(n_cached), np.full(n_cached, -1, dtype=np.int64)  # value, and for which step
    dense_step = -1  # the last step whose spikes were looked at for that
    dense_now = False  # whether every target's trace is at hand for it
    for i in range(slots.shape[0]):
        s = slots[i]
        a, b = row_ptr[s], row_ptr[s + 1]
        if a == b:  # no synapse of this group from that source here: no state kept
            continue
        t_spike = 0.001 * np.float64((steps[i] + 1) * tics_per_step)
        tl = t_last[s]
        kp = kplus[s]
        base = steps[i] % R
        events += b - a
        if one_delay and steps[i] != dense_step:
            dense_now = False
            # where the synapses of this step's spikes outnumber the targets, every target's trace at once
            dense_step = steps[i]
            total = 0
            for i2 in range(i, slots.shape[0]):
                if steps[i2] != dense_step:
                    break
                total += row_ptr[slots[i2] + 1] - row_ptr[slots[i2]]
            if total >= n_cached:
                t_at = t_spike - np.float64(d0) * ms_per_step
                for q in range(n_cached):
                    trace[q] = _trace_before(hist_t, hist_k, hist_n[q], q, t_at, tau_minus_inv[q], inline_libm)
                    trace_of[q] = dense_step
                dense_now = True
        m = _pairs_of_row(a, b, packed, packed_hi, shift, dmask, d0, ms_per_step, tl, t_spike, hist_t, hist_n,
                          newest, pair_j, pair_q, pair_k, pair_end, pair_dend)
        while m > 0:
            for u in range(m):
                j = pair_j[u]
                minus_dt = tl - (hist_t[pair_q[u], pair_k[u]] + pair_dend[u])
                weights[j] = _facilitate(weights[j], minus_dt, kp, power_law, tau_plus, tau_plus_inv, lam,
                                         mu_plus, Wmax, inline_libm)
            left = 0
            for u in range(m):  # the synapses with a further spike in their window, for the next round
                k = pair_k[u] + 1
                pair_j[left], pair_q[left], pair_k[left] = pair_j[u], pair_q[u], k
                pair_end[left], pair_dend[left] = pair_end[u], pair_dend[u]
                left += np.int64(k < pair_end[u])
            m = left
        if dense_now:  # one delay, every target's trace at hand
            slot = base + d0
            slot = slot - R if slot >= R else slot
            for j in range(a, b):
                q = np.int64(word(packed, packed_hi, j) >> shift)
                w = _depress(weights[j], trace[q], power_law, lam, alpha, mu_minus, Wmax, inline_libm)
                weights[j] = w
                ring[slot, 0 if w > 0 else 1, q] += np.int64(w * _S32)
        else:
            for j in range(a, b):
                p = word(packed, packed_hi, j)
                q = np.int64(p >> shift)
                d_steps = d0 + np.int64(p & dmask)
                dendritic = np.float64(d_steps) * ms_per_step
                n = hist_n[q]
                if one_delay:
                    if trace_of[q] != steps[i]:
                        trace[q] = _trace_before(hist_t, hist_k, n, q, t_spike - dendritic, tau_minus_inv[q],
                                                 inline_libm)
                        trace_of[q] = steps[i]
                    kminus = trace[q]
                else:
                    kminus = _trace_before(hist_t, hist_k, n, q, t_spike - dendritic, tau_minus_inv[q], inline_libm)
                w = _depress(weights[j], kminus, power_law, lam, alpha, mu_minus, Wmax, inline_libm)
                weights[j] = w
                slot = base + d_steps
                slot = slot - R if slot >= R else slot
                ring[slot, 0 if w > 0 else 1, q] += np.int64(w * _S32)
        if power_law:
            kplus[s] = kp * libm_exp((tl - t_spike) * tau_plus_inv, inline_libm) + 1.0
        else:
            kplus[s] = kp * libm_exp((tl - t_spike) / tau_plus, inline_libm) + 1.0
        t_last[s] = t_spike
    return events


#: the rules on the GPU (``gpu.PlasticOnDevice``): the same float64 operations as the kernels above, for each
#: synapse in NEST's order, ``exp`` and ``pow`` by glibc_exp/glibc_pow (the CPU's libm's results).
#:
#: ``plastic_deliver``: one thread block per presynaptic slot that spiked, its spikes in time order, its
#: threads striding over the slot's synapses; each thread follows the slot's K+ and last spike time (or x and
#: u) itself, all to the same values, and the new ones are written apart (``kplus_out`` ..., by block), so no
#: thread reads what another wrote. ``record_post_spikes_on_device``: :func:`record_post_spikes`, one thread
#: (the spikes in time order; a few hundred an interval). ``prune_history_on_device``:
#: :func:`prune_history`, a thread per neuron.
CUDA_SOURCE = r"""
#define STDP_EPS 1.0e-6

__device__ __forceinline__ double stdp_trace_before(const double* hist_t, const double* hist_k, const i64 cap,
                                                    const i64 n, const i64 q, const double t, const double tmi)
{
    for (i64 k = n - 1; k >= 0; --k)
        if (t - hist_t[q * cap + k] > STDP_EPS)
            return hist_k[q * cap + k] * glibc_exp((hist_t[q * cap + k] - t) * tmi);
    return 0.0;
}

extern "C" __global__ void plastic_deliver(
    const i64* slot_of, const i64* spike_ptr, const i64* spike_steps, const i64* row_ptr, const u64* packed,
    const int shift, const u64 dmask, const i64 d0, double* weights, const double* kplus, const double* t_last,
    const double* u_state, double* kplus_out, double* t_last_out, double* u_out,
    const int rule, const double p1, const double p2, const double p3, const double p4, const double p5,
    const double p6, const double ms_per_step, const i64 tics_per_step, const double* tau_minus_inv,
    const double* hist_t, const double* hist_k, const i64* hist_n, const i64 cap, i64* ring, const i64 R,
    const i64 n_local)
{
    const i64 b = blockIdx.x;
    const i64 s = slot_of[b];
    const i64 a = row_ptr[s], e = row_ptr[s + 1];
    double kp = kplus[s], tl = t_last[s], u = u_state[s];
    const bool power_law = rule == 1;
    /* stdp: tau_plus, lambda, alpha, mu_plus, mu_minus, Wmax; tsodyks2: U, tau_rec, tau_fac */
    const double tau_plus = p1, lam = p2, alpha = p3, mu_plus = p4, mu_minus = p5, Wmax = p6;
    const double tau_plus_inv = 1.0 / tau_plus;
    for (i64 sp = spike_ptr[b]; sp < spike_ptr[b + 1]; ++sp) {
        const i64 step = spike_steps[sp];
        const double t_spike = 0.001 * (double)((step + 1) * tics_per_step);
        const i64 base = step % R;
        if (rule == 2) {  /* tsodyks2_synapse: x in kp */
            if (tl >= 0.0) {
                const double h = t_spike - tl;
                const double x_decay = glibc_exp(-h / p2);
                const double u_decay = p3 == 0 ? 0.0 : glibc_exp(-h / p3);
                kp = 1.0 + (kp - kp * u - 1.0) * x_decay;
                u = p1 + u * (1.0 - p1) * u_decay;
            }
            for (i64 j = a + threadIdx.x; j < e; j += blockDim.x) {
                const u64 p = packed[j];
                const i64 q = (i64)(p >> shift);
                i64 slot = base + d0 + (i64)(p & dmask);
                if (slot >= R) slot -= R;
                const double w = kp * u * weights[j];
                atomicAdd((u64*)(ring + (slot * 2 + (w > 0 ? 0 : 1)) * n_local + q), (u64)(i64)(w * 4294967296.0));
            }
            tl = t_spike;
            continue;
        }
        for (i64 j = a + threadIdx.x; j < e; j += blockDim.x) {
            const u64 p = packed[j];
            const i64 q = (i64)(p >> shift);
            const i64 d_steps = d0 + (i64)(p & dmask);
            const double dendritic = (double)d_steps * ms_per_step;
            const double t1 = tl - dendritic + STDP_EPS, t2 = t_spike - dendritic + STDP_EPS;
            const i64 n = hist_n[q];
            i64 stop = n;
            while (stop > 0 && hist_t[q * cap + stop - 1] >= t2) --stop;
            i64 first = stop;
            while (first > 0 && hist_t[q * cap + first - 1] >= t1) --first;
            double w = weights[j];
            if (first < stop && tl - dendritic != t_spike - dendritic) {
                for (i64 k = first; k < stop; ++k) {  /* facilitation, the window's spikes in order */
                    const double minus_dt = tl - (hist_t[q * cap + k] + dendritic);
                    if (power_law) {
                        w = w + (lam * glibc_pow(w, mu_plus) * (kp * glibc_exp(minus_dt * tau_plus_inv)));
                    } else {
                        const double k_plus = kp * glibc_exp(minus_dt / tau_plus);
                        const double norm_w = (w / Wmax) + (lam * glibc_pow(1.0 - (w / Wmax), mu_plus) * k_plus);
                        w = norm_w < 1.0 ? norm_w * Wmax : Wmax;
                    }
                }
            }
            const double kminus = stdp_trace_before(hist_t, hist_k, cap, n, q, t_spike - dendritic, tau_minus_inv[q]);
            if (power_law) {  /* depression */
                w = w - (lam * alpha * w * kminus);
                w = w > 0.0 ? w : 0.0;
            } else {
                const double norm_w = (w / Wmax) - (alpha * lam * glibc_pow(w / Wmax, mu_minus) * kminus);
                w = norm_w > 0.0 ? norm_w * Wmax : 0.0;
            }
            weights[j] = w;
            i64 slot = base + d_steps;
            if (slot >= R) slot -= R;
            atomicAdd((u64*)(ring + (slot * 2 + (w > 0 ? 0 : 1)) * n_local + q), (u64)(i64)(w * 4294967296.0));
        }
        if (power_law) kp = kp * glibc_exp((tl - t_spike) * tau_plus_inv) + 1.0;
        else kp = kp * glibc_exp((tl - t_spike) / tau_plus) + 1.0;
        tl = t_spike;
    }
    if (threadIdx.x == 0) {
        kplus_out[b] = kp;
        t_last_out[b] = tl;
        u_out[b] = u;
    }
}

extern "C" __global__ void record_post_spikes_on_device(
    const i64 m, const i64* idx, const i64* steps, const i64 tics_per_step, const double* tau_minus_inv,
    double* kminus, double* last_spike, double* hist_t, double* hist_k, i64* hist_n, const i64 cap)
{
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    for (i64 i = 0; i < m; ++i) {
        const i64 q = idx[i];
        const double t = 0.001 * (double)((steps[i] + 1) * tics_per_step);
        kminus[q] = kminus[q] * glibc_exp((last_spike[q] - t) * tau_minus_inv[q]) + 1.0;
        last_spike[q] = t;
        const i64 n = hist_n[q];
        hist_t[q * cap + n] = t;
        hist_k[q * cap + n] = kminus[q];
        hist_n[q] = n + 1;
    }
}

extern "C" __global__ void prune_history_on_device(const i64 n_neurons, const double before, double* hist_t,
                                                   double* hist_k, i64* hist_n, const i64 cap)
{
    const i64 q = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= n_neurons) return;
    const i64 n = hist_n[q];
    i64 lo = 0, hi = n;
    while (lo < hi) {
        const i64 mid = (lo + hi) / 2;
        if (hist_t[q * cap + mid] < before) lo = mid + 1;
        else hi = mid;
    }
    const i64 keep_from = lo - 1;
    if (keep_from > 0) {
        for (i64 k = keep_from; k < n; ++k) {
            hist_t[q * cap + k - keep_from] = hist_t[q * cap + k];
            hist_k[q * cap + k - keep_from] = hist_k[q * cap + k];
        }
        hist_n[q] = n - keep_from;
    }
}
"""
