"""The cost model of dsnn's simulation and construction, fitted to the points of benchmarks/scaling.py.

Pure functions of the measured JSON (``benchmarks/results/scaling-<date>.json``,
its ``weak``, ``strong``, ``in_process`` and ``probe`` records): the model's
features, the fits (:func:`fit`: weighted non-negative least squares,
``scipy.optimize.nnls``, rows weighted by 1/measured so that relative errors
count), the modelled times and the residuals. Times are in seconds, the
constants in seconds per unit (``kappa`` and ``beta`` have none). The model
and its assumptions are written out in ``benchmarks/RESULTS.md``, section
"The scaling benchmark and its cost model"::

    import json
    from benchmarks.cost_model import fit, residuals
    results = json.load(open("benchmarks/results/scaling-2026-11-30.json"))
    c = fit(results)                  # {"c_neuron_s": ..., "kappa": ..., "k_task_s": ..., ...}
    residuals(results, c)             # per point: measured, modelled, model / measured - 1

Nothing here imports dsnn or starts anything.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import nnls

#: payload of one spike in the exchange: (gid or slot, step) as two int64
BYTES_PER_SPIKE = 16
#: header of one message (dsnn.exchange.framing.HEADER_BYTES; not imported: this module needs no dsnn)
HEADER_BYTES = 56
#: B/s over loopback TCP: an assumption (not identifiable from the points: a few kB per interval)
LOCAL_BANDWIDTH = 1e9
#: per-message cost (s) measured by benchmarks/exchange.py (2 partitions, tcp), used where no probe ran at
#: 2 <= P <= cores
EXCHANGE_PY_ALPHA = {"p2p": 59e-6, "collective": 95e-6}

COMPUTE_KEYS = (("c_neuron_s", "c_pop_s"), ("c_syn_s", "c_rx_s", "c_proj_s"))
CONSTRUCTION_KEYS = ("k0_s", "k_task_s", "k_syn_s", "k_img_s", "k_proj_s")

#: every fitted constant: (factor to the printed unit, the unit)
UNITS = {"c_neuron_s": (1e9, "ns per neuron update (incl. Poisson input)"),
         "c_pop_s": (1e6, "µs per population and interval (update)"),
         "c_syn_s": (1e9, "ns per synaptic event"),
         "c_rx_s": (1e9, "ns per received spike (routing / image filter)"),
         "c_proj_s": (1e6, "µs per projection and interval (delivery)"),
         "kappa": (1.0, "× compute time when 2..cores partitions run at once"),
         "alpha_collective_s": (1e6, "µs per collective round (message)"),
         "alpha_p2p_s": (1e6, "µs per p2p message"),
         "beta": (1.0, "× compute_max of extra waiting (imbalance, other processes)"),
         "k0_s": (1.0, "s fixed per construction on a cluster"),
         "k_task_s": (1e3, "ms per construction task / actor call"),
         "k_syn_s": (1e9, "ns per synapse built (busiest partition)"),
         "k_img_s": (1e9, "ns per image neuron (busiest partition)"),
         "k_proj_s": (1e3, "ms per projection (busiest partition)")}


# ============================================================================ counting

def oversubscription(P: int, n_cores: int) -> float:
    """ov(P) = max(1, P / cores): how many partitions share a core."""
    return max(1.0, P / n_cores)


def messages_per_interval(exchange: str, P: int, peers: float | None = None) -> float:
    """Messages a partition sends per interval: ceil(log2 P) Bruck rounds, or its p2p peers (default P - 1)."""
    if P <= 1:
        return 0.0
    if exchange == "collective":
        return float(math.ceil(math.log2(P)))
    return float(P - 1 if peers is None else peers)


def construction_tasks(exchange: str, P: int, pairs: int) -> int:
    """Dask tasks and actor calls of dsnn's construction graph on P partitions (dsnn.runners.cluster.graph,
    since commit 26b8ae0): a build task and an actor per partition, the network and the directory scattered
    once, and four calls per actor from the client (open, introduce, connect, info): 6P + 2 whatever the
    exchange; the handshake runs actor to actor, so ``pairs`` (ordered pairs of partitions in which the
    first needs neurons of the second) adds nothing. The records of earlier runs keep the count of the graph
    they measured (7P + pairs for p2p, 6P collective) in their ``tasks``."""
    return 6 * P + 2


def input_intervals(n_int: int, spikes, received) -> np.ndarray:
    """Expected intervals in which a partition delivers any spike (its own or received ones), spikes
    arriving as a Poisson process: I · (1 - exp(-(own + received) / I))."""
    lam = (np.asarray(spikes, dtype=float) + np.asarray(received, dtype=float)) / n_int
    return n_int * -np.expm1(-lam)


# ============================================================================ the weighted fit

def relative_weights(y) -> np.ndarray:
    """1 / |y| per row (rows whose |y| is below 1e-3 of the largest count as that), so that least squares
    weighs relative errors."""
    y = np.abs(np.asarray(y, dtype=float))
    return 1.0 / np.maximum(y, 1e-3 * max(float(y.max()), 1e-12))


def weighted_nnls(A, y) -> tuple:
    """min ||W (A x - y)|| subject to x >= 0 (``scipy.optimize.nnls``), W = diag(:func:`relative_weights`).
    Returns (x, indices of the columns held at 0 by the constraint)."""
    A, y = np.asarray(A, dtype=float), np.asarray(y, dtype=float)
    w = relative_weights(y)
    x, _ = nnls(A * w[:, None], y * w)
    return x, [i for i in range(A.shape[1]) if x[i] == 0.0]


# ============================================================================ the points

def cluster_points(results: dict) -> list:
    """The weak and strong series' cluster points."""
    return [r for name in ("weak", "strong") for r in results[name]]


def concurrent_points(results: dict) -> list:
    """Cluster points with 2 <= P <= cores: partitions running at once, each on a core of its own."""
    return [r for r in cluster_points(results) if 2 <= r["partitions"] <= r["cores"]]


def partition_features(rec: dict) -> tuple:
    """Per partition over the run of a point: (U, B·I, E, R, G·D) as arrays — neuron updates, populations ×
    intervals, synaptic events, received spikes, projections × intervals with spikes to deliver."""
    pp, n_int = rec["per_partition"], rec["intervals"]
    U, E, R = (np.asarray(pp[k], dtype=float) for k in ("neuron_steps", "events", "received"))
    B = np.asarray(pp["populations"], dtype=float) * n_int
    G = np.asarray(pp["projections"], dtype=float) * input_intervals(n_int, pp["spikes"], R)
    return U, B, E, R, G


def compute_rows(rec: dict) -> tuple:
    """([U, B·I] rows, update s, [E, R, G·D] rows, deliver s) of a point: a row per partition on a
    cluster, one summed row in-process (partitions one after the other in one thread)."""
    U, B, E, R, G = partition_features(rec)
    upd, dlv = np.stack([U, B], 1), np.stack([E, R, G], 1)
    timers = rec["per_partition"]["timers"]
    update, deliver = np.array([t["update"] for t in timers]), np.array([t["deliver"] for t in timers])
    if rec["in_process"]:
        return upd.sum(0)[None], update.sum()[None], dlv.sum(0)[None], deliver.sum()[None]
    return upd, update, dlv, deliver


def model_compute(rec: dict, c: dict) -> np.ndarray:
    """Seconds of compute per partition over the run, one process per core (the fitted constants ``c``)."""
    U, B, E, R, G = partition_features(rec)
    return c["c_neuron_s"] * U + c["c_pop_s"] * B + c["c_syn_s"] * E + c["c_rx_s"] * R + c["c_proj_s"] * G


def latency_s(rec: dict, c: dict) -> float:
    """Seconds of messages over the run of a cluster point: alpha · messages per partition."""
    return c[f"alpha_{rec['exchange']}_s"] * rec["messages"] / rec["partitions"]


def construction_row(rec: dict) -> list:
    """[1, tasks, ov·S_max, ov·I_max, ov·G_max] of a cluster point (busiest partition's synapses, images,
    projections; ov = max(1, P/cores)); [0, 0, S, I, G] (sums over the partitions) in-process."""
    pp = rec["per_partition"]
    if rec["in_process"]:
        return [0.0, 0.0, float(sum(pp["synapses"])), float(sum(pp["images"])), float(sum(pp["projections"]))]
    ov = oversubscription(rec["partitions"], rec["cores"])
    return [1.0, float(rec["tasks"]), ov * max(pp["synapses"]), ov * max(pp["images"]), ov * max(pp["projections"])]


# ============================================================================ the fits

def fit_compute(results: dict) -> dict:
    """c_neuron, c_pop (update) and c_syn, c_rx, c_proj (deliver), seconds per unit, fitted on the
    per-partition timers of the 1-partition cluster points and on the in-process references."""
    rows = [compute_rows(r) for r in cluster_points(results) if r["partitions"] == 1]
    rows += [compute_rows(r) for r in results["in_process"]]
    Au, yu, Ad, yd = (np.concatenate([row[i] for row in rows]) for i in range(4))
    (cu, du), (cd, dd) = weighted_nnls(Au, yu), weighted_nnls(Ad, yd)
    upd, dlv = COMPUTE_KEYS
    return {**dict(zip(upd, map(float, cu))), **dict(zip(dlv, map(float, cd))), "compute_rows": len(yu),
            "dropped": [upd[i] for i in du] + [dlv[i] for i in dd]}


def fit_concurrency(results: dict, c: dict) -> dict:
    """kappa: the measured compute timers (update + deliver) of concurrent partitions over the model's
    single-process compute (1 where there is no such point)."""
    pts = concurrent_points(results)
    if not pts:
        return {"kappa": 1.0}
    x = np.concatenate([model_compute(r, c) for r in pts])
    y = np.concatenate([[t["update"] + t["deliver"] for t in r["per_partition"]["timers"]] for r in pts])
    return {"kappa": float(weighted_nnls(x[:, None], y)[0][0])}


def fit_latency(results: dict) -> dict:
    """alpha per message for each exchange mode (s): the probe's smallest exchange + wait per interval over
    its messages per interval, at 2 <= P <= cores; benchmarks/exchange.py's figure where no such probe ran."""
    out = {}
    for mode in ("collective", "p2p"):
        rows = [r for r in results.get("probe", []) if r["exchange"] == mode and 2 <= r["partitions"] <= r["cores"]]
        if rows:
            x, _ = weighted_nnls([[r["messages_per_interval"]] for r in rows],
                                 [r["exchange_wait_us_min"] * 1e-6 for r in rows])
            out[f"alpha_{mode}_s"], out[f"alpha_{mode}_from"] = float(x[0]), f"probe, P={rows[0]['partitions']}"
        else:
            out[f"alpha_{mode}_s"], out[f"alpha_{mode}_from"] = EXCHANGE_PY_ALPHA[mode], "benchmarks/exchange.py"
    return out


def fit_imbalance(results: dict, c: dict) -> dict:
    """beta: wall time beyond kappa · compute_max, messages and bytes, as a share of kappa · compute_max, at
    the concurrent points (waiting for a partition delayed by other processes or a busier interval)."""
    pts = concurrent_points(results)
    if not pts:
        return {"beta": 0.0}
    x = [c["kappa"] * model_compute(r, c).max() for r in pts]
    y = [r["simulation_s"] - c["kappa"] * model_compute(r, c).max() - latency_s(r, c)
         - r["wire_bytes"] / r["partitions"] / LOCAL_BANDWIDTH for r in pts]
    return {"beta": float(weighted_nnls(np.array(x)[:, None], np.array(y))[0][0])}


def fit_construction(results: dict) -> dict:
    """k0 (s), k_task (s/task), k_syn (s/synapse), k_img (s/image), k_proj (s/projection), fitted on every
    point."""
    recs = cluster_points(results) + results["in_process"]
    coef, dropped = weighted_nnls([construction_row(r) for r in recs], [r["construction_s"] for r in recs])
    return {**dict(zip(CONSTRUCTION_KEYS, map(float, coef))), "construction_rows": len(recs),
            "construction_dropped": [CONSTRUCTION_KEYS[i] for i in dropped]}


def fit(results: dict) -> dict:
    """Every fitted constant (seconds per unit; kappa and beta dimensionless), the rows fitted on, and the
    constants held at 0 by the non-negativity (``dropped``)."""
    c = fit_compute(results)
    c.update(fit_concurrency(results, c))
    c.update(fit_latency(results))
    c.update(fit_imbalance(results, c))
    construction = fit_construction(results)
    c["dropped"] = c["dropped"] + construction.pop("construction_dropped")
    c.update(construction)
    return c


# ============================================================================ the model against the points

def model_point(rec: dict, c: dict) -> dict:
    """The model's construction and simulation seconds for a measured point (its own features)."""
    compute = model_compute(rec, c)
    construction = float(np.dot(construction_row(rec), [c[k] for k in CONSTRUCTION_KEYS]))
    if rec["in_process"]:
        return {"construction_s": construction, "simulation_s": float(compute.sum())}
    P = rec["partitions"]
    if P == 1:
        return {"construction_s": construction, "simulation_s": float(compute.max())}
    ov = oversubscription(P, rec["cores"])
    sim = ov * (c["kappa"] * compute.max() * (1.0 + c["beta"]) + latency_s(rec, c)) \
        + rec["wire_bytes"] / P / LOCAL_BANDWIDTH
    return {"construction_s": construction, "simulation_s": float(sim)}


def residuals(results: dict, c: dict) -> list:
    """Per point: measured and modelled construction and simulation seconds, relative residuals
    (model / measured - 1)."""
    out = []
    for rec in cluster_points(results) + results["in_process"]:
        m = model_point(rec, c)
        out.append({"series": rec["series"], "partitions": rec["partitions"], "in_process": rec["in_process"],
                    "oversubscribed": rec["oversubscribed"],
                    **{f"{k}_{w}": v for k in ("construction_s", "simulation_s")
                       for w, v in (("measured", rec[k]), ("model", m[k]))},
                    "construction_residual": m["construction_s"] / rec["construction_s"] - 1,
                    "simulation_residual": m["simulation_s"] / rec["simulation_s"] - 1})
    return out


def probe_residuals(results: dict, c: dict) -> list:
    """The probe's smallest exchange + wait per interval beside alpha · messages · ov(P) (µs)."""
    return [dict(r, model_us=c[f"alpha_{r['exchange']}_s"] * r["messages_per_interval"] * 1e6
                 * oversubscription(r["partitions"], r["cores"]))
            for r in results.get("probe", [])]


# ============================================================================ printing

def print_fit(c: dict, res: list, probe: list) -> None:
    """The fitted constants in their units, the probe against the model, and the residuals."""
    print("\nFitted constants (scipy.optimize.nnls, rows weighted by 1/measured)")
    for k, (scale, unit) in UNITS.items():
        src = c.get(k[:-2] + "_from", "") if k.startswith("alpha_") else ""
        print(f"  {k:20s}{c[k] * scale:12.4g}  {unit}{'  [' + src + ']' if src else ''}")
    print(f"  (compute: {c['compute_rows']} rows, P = 1 and in-process; kappa, beta: 2 <= P <= cores; construction: "
          f"{c['construction_rows']} points; held at 0 by the non-negativity: {', '.join(c['dropped']) or 'none'})")
    if probe:
        print("\nLatency probe (ring of 10-neuron partitions, min delay 0.1 ms): µs per interval; model = alpha · "
              "messages · ov(P)")
        print(f"{'mode':12s}{'P':>3s}{'ovs':>4s}{'wall':>8s}{'exch+wait min':>14s}{'mean':>8s}{'update':>8s}"
              f"{'msgs':>6s}{'model':>8s}")
        for r in probe:
            ovs = "yes" if r["oversubscribed"] else ""
            print(f"{r['exchange']:12s}{r['partitions']:3d}{ovs:>4s}{r['wall_us']:8.0f}"
                  f"{r['exchange_wait_us_min']:14.0f}{r['exchange_wait_us_mean']:8.0f}{r['update_us']:8.0f}"
                  f"{r['messages_per_interval']:6.1f}{r['model_us']:8.0f}")
    print("\nResiduals (model / measured - 1; * in-process; ovs: oversubscribed, used only in the construction fit)")
    print(f"{'series':12s}{'P':>4s}{'ovs':>4s}{'build meas':>11s}{'model':>8s}{'resid':>8s}"
          f"{'sim meas':>10s}{'model':>8s}{'resid':>8s}")
    for r in res:
        P = f"{r['partitions']}" + ("*" if r["in_process"] else "")
        print(f"{r['series']:12s}{P:>4s}{'yes' if r['oversubscribed'] else '':>4s}"
              f"{r['construction_s_measured']:11.2f}{r['construction_s_model']:8.2f}{r['construction_residual']:8.0%}"
              f"{r['simulation_s_measured']:10.2f}{r['simulation_s_model']:8.2f}{r['simulation_residual']:8.0%}")
