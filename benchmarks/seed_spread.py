"""Seed-to-seed spread of the statistics the NEST comparisons in tests/examples/ check.

The tests compare a few seeds of a model in dsnn and in NEST; their
tolerances need the spread a correct simulator shows from seed to seed.
Estimated from the tests' own two seeds, that spread is too noisy to give a
tolerance that both catches a bias and rarely fails a correct simulator.
So it is measured here once, over many seeds, in both simulators, with the
tests' own model parameters and windows, and the tests keep the result as
constants (their docstrings say how the tolerance follows from it).

Run from the repository root (about 15 minutes on 2 cores)::

    python benchmarks/seed_spread.py              # 10 seeds, every model
    python benchmarks/seed_spread.py --seeds 20 --models microcircuit

writes ``benchmarks/results/seed-spread-<date>.json``: per model and
population, the mean and the standard deviation (ddof=1) over seeds of the
rate (spikes/s) in each simulator (and, for Brunel, of the mean ISI CV).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "examples")]  # the example models, the tests' parameters

RESULTS = ROOT / "benchmarks" / "results"


def _nest():
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def _rates(senders, times, pops: dict, t0: float, t1: float) -> dict:
    from dsnn.views.validation import population_statistics

    return population_statistics(senders, times, pops, t0, t1)["rate"].to_dict()


def _rates_in_both(model, seed: int, params: dict, T: float, t0: float, placement: bool = False) -> dict:
    """Per population, the rate over (t0, T] ms of ``model`` (an example module) in dsnn and in NEST."""
    net = model.network(seed=seed, **params)
    sim = net.build(partitions=model.placement(net, params["n_areas"]) if placement else 1,
                    exchange=getattr(model, "EXCHANGE", "p2p"))
    sim.run(T)
    spikes = sim.spikes()
    pops = {p.label: (p.first, p.n) for p in net.neuron_populations}
    out = {"dsnn": _rates(spikes["sender"], spikes["time"], pops, t0, T)}
    nest = _nest()
    sr, nodes = model.nest_network(nest, seed=seed, threads=1, **params)
    nest.Simulate(T)
    pops = {label: (pop[0].global_id, len(pop)) for label, pop in nodes.items()}
    out["nest"] = _rates(sr.events["senders"], sr.events["times"], pops, t0, T)
    return out


def microcircuit(seed: int) -> dict:
    """tests/examples/test_microcircuit.py's comparison: scale 0.1, 1 s after 500 ms."""
    from example_models import load

    return _rates_in_both(load("microcircuit"), seed, {"scale": 0.1}, 1500.0, 500.0)


def multi_area(seed: int) -> dict:
    """tests/examples/test_multi_area.py's comparison: 2 areas at scale 0.05, 1 s after 300 ms, one area
    per partition."""
    from example_models import load

    params = {"n_areas": 2, "scale": 0.05, "t_presim": 300.0}
    return _rates_in_both(load("multi_area"), seed, params, 1300.0, 300.0, placement=True)


def brunel(seed: int) -> dict:
    """tests/examples/test_brunel_vs_nest.py's comparison: scale 0.5, 1 s, mean rate and mean ISI CV."""
    from example_models import load
    from test_brunel_vs_nest import SCALE, T, rate_and_cv, run_nest

    model = load("brunel")
    net = model.network(scale=SCALE, seed=seed)
    sim = net.build()
    sim.run(T)
    spikes = sim.spikes(net.populations[-1])
    rate, cv = rate_and_cv(spikes.sender.to_numpy(), spikes.time.to_numpy(), net.n_neurons, T)
    nest_rate, nest_cv = run_nest(_nest(), model, SCALE, T, seed)
    return {"dsnn": {"rate": rate, "cv": cv}, "nest": {"rate": nest_rate, "cv": nest_cv}}


MODELS = {"microcircuit": microcircuit, "multi_area": multi_area, "brunel": brunel}


def summarise(runs: list) -> dict:
    """Per simulator and statistic: mean and standard deviation (ddof=1) over the seeds."""
    out = {}
    for simulator in ("dsnn", "nest"):
        keys = runs[0][simulator].keys()
        values = {k: np.array([r[simulator][k] for r in runs], dtype=float) for k in keys}
        out[simulator] = {k: {"mean": float(v.mean()), "sd": float(v.std(ddof=1))} for k, v in values.items()}
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default 10)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    args = parser.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(names) - set(MODELS)
    if unknown or args.seeds < 2:
        parser.error(f"unknown models {sorted(unknown)}" if unknown else "--seeds must be >= 2")
    date = datetime.date.today().isoformat()
    results = {"date": date, "seeds": list(range(1, args.seeds + 1)), "models": {}}
    for name in names:
        runs = []
        for seed in results["seeds"]:
            runs.append(MODELS[name](seed))
            print(f"{name} seed {seed} done", flush=True)
        results["models"][name] = {"runs": runs, "summary": summarise(runs)}
        for simulator, stats in results["models"][name]["summary"].items():
            line = ", ".join(f"{k} {v['mean']:.3f}±{v['sd']:.3f}" for k, v in stats.items())
            print(f"{name} {simulator}: {line}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"seed-spread-{date}.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"written to {out}")
    return results


if __name__ == "__main__":
    main()
