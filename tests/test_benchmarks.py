"""The benchmarks' cost model (benchmarks/cost_model.py) and projection (benchmarks/projection.py) on the
scaling results committed in benchmarks/results/: the fit is reproducible, it is the non-negative least
squares optimum (checked by enumerating the active sets, without scipy), it recovers known constants
from times made with them, the model stays near the measured cluster points, and the projection
behaves as its formulas must in P. No cluster, no NEST: seconds."""

from __future__ import annotations

import copy
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import cost_model, projection

RESULTS = ROOT / "benchmarks" / "results"
#: the constants a fit returns (seconds per unit; kappa and beta dimensionless)
CONSTANTS = ("c_neuron_s", "c_pop_s", "c_syn_s", "c_rx_s", "c_proj_s", "kappa", "alpha_collective_s",
             "alpha_p2p_s", "beta", *cost_model.CONSTRUCTION_KEYS)


def committed_scaling_json() -> Path:
    """The newest full (not --quick) scaling-<date>.json in benchmarks/results (the one RESULTS.md quotes)."""
    found = sorted(RESULTS.glob("scaling-????-??-??.json"))
    assert found, "benchmarks/results/scaling-<date>.json is missing: run python benchmarks/scaling.py and commit it"
    return found[-1]


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(committed_scaling_json().read_text())


@pytest.fixture(scope="module")
def fitted(results) -> dict:
    return cost_model.fit(results)


# ----------------------------------------------------------------------------- the fit on the committed data

def test_importing_the_model_loads_neither_dsnn_nor_dask():
    code = ("import sys; import benchmarks.cost_model, benchmarks.projection; "
            "print(sorted(m for m in ('dsnn', 'distributed', 'dask', 'nest') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fitted_constants_are_non_negative(fitted):
    assert all(fitted[k] >= 0 for k in CONSTANTS), {k: fitted[k] for k in CONSTANTS}


def test_refit_gives_the_constants_stored_with_the_data(results, fitted):
    stored = results["fit"]
    for k in CONSTANTS:
        assert fitted[k] == pytest.approx(stored[k], rel=1e-9, abs=1e-300), k
    assert fitted["dropped"] == stored["dropped"]
    assert (fitted["compute_rows"], fitted["construction_rows"]) == (stored["compute_rows"],
                                                                     stored["construction_rows"])


def test_stored_residuals_are_the_refit_model_against_the_measured_times(results, fitted):
    refit = cost_model.residuals(results, fitted)
    assert len(refit) == len(results["residuals"])
    for new, old in zip(refit, results["residuals"]):
        for key in ("construction_s_model", "simulation_s_model", "construction_residual", "simulation_residual"):
            assert new[key] == pytest.approx(old[key], rel=1e-9, abs=1e-12), (new["series"], new["partitions"], key)


def brute_force_nnls(A, y) -> np.ndarray:
    """min ||W(Ax - y)||, x >= 0, W = diag(1/|y|), by trying every set of free columns with plain least squares
    (numpy, no scipy): the optimum is the feasible unconstrained solution on some subset with the least residual."""
    A, y = np.asarray(A, dtype=float), np.asarray(y, dtype=float)
    w = cost_model.relative_weights(y)
    Aw, yw = A * w[:, None], y * w
    best, best_norm = np.zeros(A.shape[1]), float(np.linalg.norm(yw))
    for k in range(1, A.shape[1] + 1):
        for cols in itertools.combinations(range(A.shape[1]), k):
            x = np.zeros(A.shape[1])
            x[list(cols)] = np.linalg.lstsq(Aw[:, cols], yw, rcond=None)[0]
            norm = float(np.linalg.norm(Aw @ x - yw))
            if (x >= 0).all() and norm < best_norm:
                best, best_norm = x, norm
    return best


def compute_fit_rows(results) -> tuple:
    """The update and delivery rows and times the compute fit uses."""
    rows = [cost_model.compute_rows(r) for r in cost_model.cluster_points(results) if r["partitions"] == 1]
    rows += [cost_model.compute_rows(r) for r in results["in_process"]]
    return tuple(np.concatenate([row[i] for row in rows]) for i in range(4))


def test_each_fit_is_the_non_negative_least_squares_optimum(results, fitted):
    Au, yu, Ad, yd = compute_fit_rows(results)
    recs = cost_model.cluster_points(results) + results["in_process"]
    Ac = [cost_model.construction_row(r) for r in recs]
    yc = [r["construction_s"] for r in recs]
    keys_u, keys_d = cost_model.COMPUTE_KEYS
    for A, y, keys in ((Au, yu, keys_u), (Ad, yd, keys_d), (Ac, yc, cost_model.CONSTRUCTION_KEYS)):
        expected = brute_force_nnls(A, y)
        got = np.array([fitted[k] for k in keys])
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9 * scale, err_msg=str(keys))


def synthetic_results(results: dict, c: dict) -> dict:
    """The committed points with every measured time replaced by what the model gives with the constants
    ``c``: compute timers, construction and simulation times, the probe's exchange + wait."""
    out = copy.deepcopy(results)
    for rec in cost_model.cluster_points(out) + out["in_process"]:
        U, B, E, R, G = cost_model.partition_features(rec)
        update = c["c_neuron_s"] * U + c["c_pop_s"] * B
        deliver = c["c_syn_s"] * E + c["c_rx_s"] * R + c["c_proj_s"] * G
        concurrent = not rec["in_process"] and 2 <= rec["partitions"] <= rec["cores"]
        k = c["kappa"] if concurrent else 1.0
        rec["per_partition"]["timers"] = [dict(t, update=k * u, deliver=k * d) for t, u, d in
                                          zip(rec["per_partition"]["timers"], update, deliver)]
        rec.update(cost_model.model_point(rec, c))
    for probe in out["probe"]:
        probe["exchange_wait_us_min"] = c[f"alpha_{probe['exchange']}_s"] * probe["messages_per_interval"] * 1e6
    return out


def test_the_fit_recovers_the_constants_that_made_the_times(results):
    """Times made by the model itself from chosen constants (every one positive and none a fitted value),
    on the committed points' features: the fit must give the constants back."""
    truth = {"c_neuron_s": 20e-9, "c_pop_s": 3e-6, "c_syn_s": 1.5e-9, "c_rx_s": 200e-9, "c_proj_s": 1e-6,
             "kappa": 1.3, "alpha_collective_s": 70e-6, "alpha_p2p_s": 80e-6, "beta": 0.25, "k0_s": 0.3,
             "k_task_s": 8e-3, "k_syn_s": 40e-9, "k_img_s": 100e-9, "k_proj_s": 1e-3}
    probe_modes = {p["exchange"] for p in results["probe"] if 2 <= p["partitions"] <= p["cores"]}
    assert probe_modes == {"p2p", "collective"}, "the committed run has no probe at 2 <= P <= cores"
    got = cost_model.fit(synthetic_results(results, truth))
    for k, v in truth.items():
        assert got[k] == pytest.approx(v, rel=1e-6), k
    assert got["dropped"] == []


# ----------------------------------------------------------------------------- the model against the measured points

def repeat_ratio(rec: dict, key: str) -> float:
    """Largest over smallest of a point's repeats of ``key``: how far two runs of the same point differ."""
    values = [r[key] for r in rec["repeats"]]
    return max(values) / min(values)


def off_by(residual: float) -> float:
    """The factor (>= 1) between model and measurement for a residual model / measured - 1."""
    return math.exp(abs(math.log1p(residual)))


def test_cluster_points_with_a_core_each_are_within_the_run_to_run_spread(results, fitted):
    """At P <= cores the model must be as close to each point as two runs of one point are to each other:
    the bound is the largest ratio between the repeats of these points (construction and simulation), a
    figure of the data itself."""
    points = [r for r in cost_model.cluster_points(results) if r["partitions"] <= r["cores"]]
    assert all(len(r["repeats"]) >= 2 for r in points), "the committed run needs 2 repeats per point"
    bound = max(repeat_ratio(r, k) for r in points for k in ("construction_s", "simulation_s"))
    model = {(r["series"], r["partitions"]): r for r in cost_model.residuals(results, fitted) if not r["in_process"]}
    for rec in points:
        res = model[(rec["series"], rec["partitions"])]
        for key in ("construction_residual", "simulation_residual"):
            assert off_by(res[key]) <= bound, (rec["series"], rec["partitions"], key, res[key], bound)


def test_oversubscribed_points_are_within_their_oversubscription(results, fitted):
    """Oversubscribed points enter only the construction fit, and the model has their ov(P) processes per core
    share it evenly: however they share it, the model may be off by at most the ov(P) processes sharing."""
    for res in cost_model.residuals(results, fitted):
        if res["oversubscribed"]:
            ov = cost_model.oversubscription(res["partitions"], results["cores"])
            for key in ("construction_residual", "simulation_residual"):
                assert off_by(res[key]) <= ov, (res["series"], res["partitions"], key, res[key], ov)


# ----------------------------------------------------------------------------- the projection

@pytest.fixture(scope="module")
def gpu(fitted):
    return projection.gpu_assumptions(fitted)


def test_the_gpu_speedup_reproduces_the_h100_brunel_figure(fitted, gpu):
    """The GPU constants put back into the projection's own interval model give the H100's 0.18 s per
    simulated second for Brunel (the figure they were calibrated on)."""
    b = projection.H100_BRUNEL
    spikes_per_interval = b["neurons"] * b["rate_hz"] * b["interval_ms"] * 1e-3
    per_interval = projection.project_interval(
        gpu, "p2p", b["interval_ms"], events=spikes_per_interval * b["synapses"] / b["neurons"],
        neuron_steps=b["neurons"] * b["interval_ms"] / b["dt_ms"], received=0.0, populations=b["populations"],
        messages=0.0)
    assert per_interval["rtf"] == pytest.approx(b["s_per_s"], rel=1e-9)


def test_hpc_projection_grows_with_the_gpus(fitted, gpu, results):
    """Weak scaling: every GPU keeps its share, and the images, received spikes, Bruck rounds and tasks only
    grow with P, so construction and RTF cannot fall."""
    rate = results["projection"]["hpc_rate_hz"]
    rows = [projection.project_hpc(2 ** e, fitted, gpu, rate) for e in range(13)]
    for a, b in itertools.pairwise(rows):
        for key in ("construction_s", "construction_tasks_s", "construction_images_s", "rtf", "messages_ms",
                    "bytes_ms"):
            assert b[key] >= a[key], (a["gpus"], b["gpus"], key)


def test_multi_area_projection_splits_compute_and_adds_messages(fitted, gpu):
    """Strong scaling: the busiest GPU's areas, hence its compute and synapses built, cannot grow with P;
    its p2p messages (one per peer) and the construction's tasks must."""
    rows = [projection.project_multi_area(P, fitted, gpu) for P in (1, 2, 4, 8, 16, 24, 32)]
    for a, b in itertools.pairwise(rows):
        assert b["compute_ms"] <= a["compute_ms"] and b["construction_synapses_s"] <= a["construction_synapses_s"]
        assert b["messages_ms"] > a["messages_ms"] and b["construction_tasks_s"] > a["construction_tasks_s"]


def test_stored_projection_is_the_refit_projection(results, fitted):
    """The projection stored in the JSON follows from its own constants and GPU assumptions."""
    stored = results["projection"]
    g = projection.GPU(**stored["gpu"])
    again = projection.projection(fitted, g, stored["hpc_rate_hz"], stored["mam_rate_hz"])
    for name in ("hpc_benchmark", "multi_area"):
        for new, old in zip(again[name], stored[name]):
            assert new["construction_s"] == pytest.approx(old["construction_s"], rel=1e-9)
            assert new["rtf"] == pytest.approx(old["rtf"], rel=1e-9)
