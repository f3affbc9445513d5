"""Validation against NEST: the same model in both, compared by rates, ISI irregularity and correlations.

A model file validates if, besides ``network(**params)``, it defines
``nest_network(nest, seed=..., threads=..., **params)`` building the same
model in NEST 3 and returning ``(spike_recorder, {label: NodeCollection})``
(``examples/microcircuit.py``, ``hpc_benchmark.py`` and ``multi_area.py``
do). Run::

    python -m dsnn validate examples/microcircuit.py --param scale=0.1 --time 1500 --seeds 55,1,2

It simulates every seed in both, and prints per population the mean (and
spread over seeds) of: the rate (spikes/s), the mean coefficient of
variation of the inter-spike intervals (neurons with >= 3 spikes), and the
mean pairwise Pearson correlation of spike counts in 5 ms bins (the first
:data:`CORRELATION_NEURONS` neurons of each population), all over
``[--from, --time]`` ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time

import numpy as np
import pandas as pd

from ..description.model_files import load_model, parse_params

__all__ = ["population_statistics", "compare", "CORRELATION_NEURONS", "BIN_MS"]

#: neurons per population whose pairwise count correlations are averaged
CORRELATION_NEURONS = 200

#: bin of the spike counts whose correlations are taken (ms)
BIN_MS = 5.0


def _cv_isi(senders: np.ndarray, times: np.ndarray) -> float:
    """Mean ISI coefficient of variation over the senders with >= 3 spikes (NaN if none)."""
    order = np.lexsort((times, senders))
    s, t = senders[order], times[order]
    same = s[1:] == s[:-1]
    isi, who = np.diff(t)[same], s[1:][same]
    if isi.size == 0:
        return float("nan")
    ids, inverse, counts = np.unique(who, return_inverse=True, return_counts=True)
    mean = np.bincount(inverse, isi) / counts
    var = np.bincount(inverse, (isi - mean[inverse]) ** 2) / counts
    keep = counts >= 2  # >= 3 spikes
    return float(np.mean(np.sqrt(var[keep]) / mean[keep])) if keep.any() else float("nan")


def _correlation(senders: np.ndarray, times: np.ndarray, first: int, n: int, t0: float, t1: float) -> float:
    """Mean pairwise correlation of spike counts (BIN_MS bins) of gids first .. first+n-1 (NaN if < 2 active)."""
    edges = np.arange(t0, t1 + BIN_MS / 2, BIN_MS)
    if edges.size < 3 or n < 2:
        return float("nan")
    keep = (senders >= first) & (senders < first + n)
    counts = np.zeros((n, edges.size - 1))
    np.add.at(counts, (senders[keep] - first, np.clip(np.searchsorted(edges, times[keep], side="right") - 1,
                                                      0, edges.size - 2)), 1.0)
    active = counts.std(axis=1) > 0
    if active.sum() < 2:
        return float("nan")
    c = np.corrcoef(counts[active])
    return float(c[~np.eye(c.shape[0], dtype=bool)].mean())


def population_statistics(senders, times, populations: dict, t0: float, t1: float) -> pd.DataFrame:
    """Rate (spikes/s), mean ISI CV and mean pairwise count correlation of each population.

    ``senders``/``times`` are the spikes (gids, ms); ``populations`` maps a
    label to ``(first gid, number of neurons)``; spikes in ``(t0, t1]`` count.
    """
    senders, times = np.asarray(senders, dtype=np.int64), np.asarray(times, dtype=np.float64)
    window = (times > t0) & (times <= t1)
    senders, times = senders[window], times[window]
    rows = []
    for label, (first, n) in populations.items():
        mine = (senders >= first) & (senders < first + n)
        rows.append({"population": label, "rate": mine.sum() / n / ((t1 - t0) / 1000.0),
                     "cv_isi": _cv_isi(senders[mine], times[mine]),
                     "correlation": _correlation(senders[mine], times[mine], first, min(n, CORRELATION_NEURONS),
                                                 t0, t1)})
    return pd.DataFrame(rows).set_index("population")


def _dsnn_run(module, params: dict, seed: int, t_ms: float, partitions: int):
    net = module.network(seed=seed, **params)
    sim = net.build(partitions=partitions, exchange=getattr(module, "EXCHANGE", "p2p"))
    sim.run(t_ms)
    spikes = sim.spikes()
    pops = {p.label: (p.first, p.n) for p in net.populations if p.spec.kind == "neuron" and p.label}
    return spikes["sender"].to_numpy(), spikes["time"].to_numpy(), pops


def _nest_run(module, params: dict, seed: int, t_ms: float, threads: int):
    import os

    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    sr, nodes = module.nest_network(nest, seed=seed, threads=threads, **params)
    nest.Simulate(t_ms)
    events = sr.events
    pops = {label: (int(pop[0].global_id), len(pop)) for label, pop in nodes.items()}
    return np.asarray(events["senders"]), np.asarray(events["times"]), pops


def compare(module, params: dict, t_ms: float, t_from: float, seeds, partitions: int = 1, threads: int = 1,
            log=None) -> pd.DataFrame:
    """Statistics of the model in dsnn and NEST over ``seeds``: one row per population, columns
    ``<simulator>_<statistic>`` (mean over seeds) and ``..._sd`` (their spread)."""
    runs = {"dsnn": [], "nest": []}
    for seed in seeds:
        for name, fn, arg in (("dsnn", _dsnn_run, partitions), ("nest", _nest_run, threads)):
            t0 = time.perf_counter()
            senders, times, pops = fn(module, params, seed, t_ms, arg)
            runs[name].append(population_statistics(senders, times, pops, t_from, t_ms))
            if log:
                log(f"{name} seed {seed}: {time.perf_counter() - t0:.1f} s")
    out = {}
    for name, frames in runs.items():
        stacked = pd.concat(frames, keys=range(len(frames)))
        grouped = stacked.groupby(level="population", sort=False)
        for stat in ("rate", "cv_isi", "correlation"):
            out[f"{name}_{stat}"] = grouped[stat].mean()
            out[f"{name}_{stat}_sd"] = grouped[stat].std(ddof=1) if len(frames) > 1 else np.nan
    return pd.DataFrame(out)


def _format(table: pd.DataFrame) -> str:
    lines = [f"{'population':14s}{'rate dsnn':>18s}{'rate NEST':>18s}{'ratio':>7s}"
             f"{'CV dsnn':>9s}{'CV NEST':>9s}{'corr dsnn':>11s}{'corr NEST':>11s}"]
    for pop, r in table.iterrows():
        lines.append(f"{pop:14s}{r.dsnn_rate:10.3f} ±{r.dsnn_rate_sd:6.3f}{r.nest_rate:10.3f} ±{r.nest_rate_sd:6.3f}"
                     f"{r.dsnn_rate / r.nest_rate if r.nest_rate else float('nan'):7.3f}"
                     f"{r.dsnn_cv_isi:9.3f}{r.nest_cv_isi:9.3f}{r.dsnn_correlation:11.4f}{r.nest_correlation:11.4f}")
    return "\n".join(lines)


def main(argv=None, prog: str = "python -m dsnn.views.validation") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model file defining network(**params) and nest_network(nest, **params)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--time", type=float, default=1500.0, help="ms simulated (default 1500)")
    parser.add_argument("--from", dest="t_from", type=float, default=500.0,
                        help="statistics over [from, time] ms (default 500)")
    parser.add_argument("--seeds", default="55,1,2", help="comma-separated seeds (default 55,1,2)")
    parser.add_argument("--partitions", type=int, default=1, help="dsnn partitions (in-process)")
    parser.add_argument("--threads", type=int, default=1, help="NEST threads")
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    try:
        if importlib.util.find_spec("nest") is None:
            raise ValueError("validation runs NEST: pip install nest-simulator (or 'dsnn[test]')")
        module = load_model(args.model)
        if not callable(getattr(module, "nest_network", None)):
            raise ValueError(f"{args.model} defines no nest_network(nest, **params) to compare with")
        params = parse_params(args.param)
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        if not seeds or not 0 <= args.t_from < args.time:
            raise ValueError("--seeds needs at least one seed and --from must be in [0, --time)")
    except ValueError as exc:  # a ModelFileError too
        print(f"dsnn validate: error: {exc}", file=sys.stderr)
        return 2
    table = compare(module, params, args.time, args.t_from, seeds, args.partitions, args.threads,
                    log=lambda m: print(m, file=sys.stderr))
    print(_format(table))
    if args.csv:
        table.to_csv(args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
