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

from ..support.jit import kernel
from .cpu import word

__all__ = ["record_post_spikes", "deliver_stdp", "prune_history", "STDP_EPS", "STDP_COLUMNS", "RULES"]

#: NEST's tolerance when comparing spike times in STDP (ConnectionManager's stdp_eps, ms)
STDP_EPS = 1.0e-6

#: the order of a plastic group's parameters in the array :func:`deliver_stdp` takes; ``rule`` is one of
#: :data:`RULES` (stdp_pl_synapse_hom's ``mu`` is ``mu_plus``; it has no mu_minus or Wmax)
STDP_COLUMNS = ("rule", "tau_plus", "lambda", "alpha", "mu_plus", "mu_minus", "Wmax")

#: the plasticity rules :func:`deliver_stdp` computes, by synapse model
RULES = {"stdp_synapse": 0, "stdp_pl_synapse_hom": 1, "tsodyks2_synapse": 2}

_S32 = 4294967296.0


@kernel
def record_post_spikes(idx, steps, tics_per_step, tau_minus_inv, kminus, last_spike, hist_t, hist_k, hist_n):
    """Append the spikes of local neurons ``idx`` in update steps ``steps`` (time order) to their histories:
    time ``0.001 * tics`` of stamp ``step + 1`` and the trace after it. The histories must have room."""
    for i in range(idx.shape[0]):
        q = idx[i]
        t = 0.001 * np.float64((steps[i] + 1) * tics_per_step)
        kminus[q] = kminus[q] * math.exp((last_spike[q] - t) * tau_minus_inv[q]) + 1.0
        last_spike[q] = t
        n = hist_n[q]
        hist_t[q, n] = t
        hist_k[q, n] = kminus[q]
        hist_n[q] = n + 1


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
def _trace_before(hist_t, hist_k, n, q, t, tau_minus_inv):
    """The depression trace of neuron ``q`` at time ``t`` from its last spike strictly before t (0 if none)."""
    for k in range(n - 1, -1, -1):
        if t - hist_t[q, k] > STDP_EPS:
            return hist_k[q, k] * math.exp((hist_t[q, k] - t) * tau_minus_inv)
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


@kernel
def deliver_stdp(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, weights, kplus, t_last, u_state,
                 params, ms_per_step, tics_per_step, tau_minus_inv, hist_t, hist_k, hist_n, ring):
    """Deliver spikes (presynaptic ``slots``, emission ``steps``, in time order) through a plastic group,
    changing its float64 ``weights`` (pA) and its per-slot ``kplus``/``t_last`` as NEST's stdp_synapse
    does (see the module docstring), or stdp_pl_synapse_hom (``rule`` 1: facilitation ``w + lambda w^mu
    k``, depression ``w - lambda alpha w k`` floored at 0, and 1/tau_plus multiplied, as NEST has it);
    ``params`` in the order of :data:`STDP_COLUMNS`. The weight each spike is delivered with goes into the
    ring in fixed point. Returns the synaptic events.

    ``rule`` 2 is tsodyks2_synapse, short-term plasticity: per presynaptic slot the resources ``kplus``
    (x) and the utilisation ``u_state`` (u), updated at each spike from the time since the last (t_last,
    -1 before the first) as NEST does; ``params[1..3]`` are U, tau_rec, tau_fac; the weights do not change
    and each spike is delivered with ``x u w``."""
    if params[0] == 2.0:
        return _deliver_tsodyks2(slots, steps, row_ptr, packed, packed_hi, shift, dmask, d0, weights, kplus,
                                 t_last, u_state, params[1], params[2], params[3], tics_per_step, ring)
    power_law = params[0] == 1.0
    tau_plus, lam, alpha, mu_plus, mu_minus, Wmax = params[1], params[2], params[3], params[4], params[5], params[6]
    tau_plus_inv = 1.0 / tau_plus
    R = ring.shape[0]
    events = 0
    # one delay for the whole group: every spike of one step meets target q's trace at the same time, so
    # it is computed once per (step, target) (the same value: the same operations on the same numbers)
    one_delay = dmask == 0
    n_cached = ring.shape[2] if one_delay else 0
    trace, trace_of = np.empty(n_cached), np.full(n_cached, -1, dtype=np.int64)  # value, and for which step
    for i in range(slots.shape[0]):
        s = slots[i]
        if row_ptr[s] == row_ptr[s + 1]:  # no synapse of this group from that source here: no state kept
            continue
        t_spike = 0.001 * np.float64((steps[i] + 1) * tics_per_step)
        tl = t_last[s]
        kp = kplus[s]
        base = steps[i] % R
        events += row_ptr[s + 1] - row_ptr[s]
        for j in range(row_ptr[s], row_ptr[s + 1]):
            p = word(packed, packed_hi, j)
            q = np.int64(p >> shift)
            d_steps = d0 + np.int64(p & dmask)
            dendritic = np.float64(d_steps) * ms_per_step
            w = weights[j]
            n = hist_n[q]
            t1 = tl - dendritic + STDP_EPS
            t2 = t_spike - dendritic + STDP_EPS
            if tl - dendritic != t_spike - dendritic:
                k = _first_at_or_after(hist_t, q, n, t1)
                while k < n and hist_t[q, k] < t2:
                    minus_dt = tl - (hist_t[q, k] + dendritic)
                    if power_law:
                        w = w + (lam * math.pow(w, mu_plus) * (kp * math.exp(minus_dt * tau_plus_inv)))
                    else:
                        k_plus = kp * math.exp(minus_dt / tau_plus)
                        norm_w = (w / Wmax) + (lam * math.pow(1.0 - (w / Wmax), mu_plus) * k_plus)
                        w = norm_w * Wmax if norm_w < 1.0 else Wmax
                    k += 1
            if one_delay:
                if trace_of[q] != steps[i]:
                    trace[q] = _trace_before(hist_t, hist_k, n, q, t_spike - dendritic, tau_minus_inv[q])
                    trace_of[q] = steps[i]
                kminus = trace[q]
            else:
                kminus = _trace_before(hist_t, hist_k, n, q, t_spike - dendritic, tau_minus_inv[q])
            if power_law:
                w = w - (lam * alpha * w * kminus)
                w = w if w > 0.0 else 0.0
            else:
                norm_w = (w / Wmax) - (alpha * lam * math.pow(w / Wmax, mu_minus) * kminus)
                w = norm_w * Wmax if norm_w > 0.0 else 0.0
            weights[j] = w
            slot = base + d_steps
            slot = slot - R if slot >= R else slot
            ring[slot, 0 if w > 0 else 1, q] += np.int64(w * _S32)
        if power_law:
            kplus[s] = kp * math.exp((tl - t_spike) * tau_plus_inv) + 1.0
        else:
            kplus[s] = kp * math.exp((tl - t_spike) / tau_plus) + 1.0
        t_last[s] = t_spike
    return events
