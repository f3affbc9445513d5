"""dsnn.validation: the statistics it compares, on spike trains whose values are known, and its errors."""

import numpy as np
import pytest
from needs import require

from dsnn.views import validation
from dsnn.views.validation import population_statistics


def test_regular_trains_have_rate_and_no_variation():
    # 10 neurons (gids 1..10) firing every 10 ms from 5 ms on, phase-shifted by 0.5 ms per neuron
    senders = np.repeat(np.arange(1, 11), 100)
    times = np.tile(5.0 + 10.0 * np.arange(100), 10) + 0.5 * (senders - 1)
    stats = population_statistics(senders, times, {"A": (1, 10)}, 0.0, 1000.0)
    assert stats.loc["A", "rate"] == pytest.approx(100.0)
    assert stats.loc["A", "cv_isi"] == pytest.approx(0.0, abs=1e-12)


def test_poisson_trains_have_unit_cv_and_no_correlation():
    rng = np.random.default_rng(1)
    senders, times = [], []
    for gid in range(1, 201):
        t = np.cumsum(rng.exponential(1000.0 / 50.0, size=2000))  # 50 spikes/s
        t = t[t <= 10000.0]
        senders.append(np.full(t.size, gid))
        times.append(t)
    stats = population_statistics(np.concatenate(senders), np.concatenate(times), {"P": (1, 200)}, 0.0, 10000.0)
    assert stats.loc["P", "rate"] == pytest.approx(50.0, rel=0.02)
    assert stats.loc["P", "cv_isi"] == pytest.approx(1.0, abs=0.03)
    assert abs(stats.loc["P", "correlation"]) < 0.01


def test_identical_trains_are_fully_correlated_and_windows_count():
    rng = np.random.default_rng(2)
    t = np.sort(rng.uniform(0.0, 1000.0, 300))
    senders = np.concatenate([np.full(t.size, g) for g in (5, 6, 7)])
    times = np.tile(t, 3)
    stats = population_statistics(senders, times, {"B": (5, 3), "C": (8, 2)}, 0.0, 1000.0)
    assert stats.loc["B", "correlation"] == pytest.approx(1.0)
    assert stats.loc["C", "rate"] == 0.0 and np.isnan(stats.loc["C", "cv_isi"])
    late = population_statistics(senders, times, {"B": (5, 3)}, 500.0, 1000.0)
    assert late.loc["B", "rate"] == pytest.approx(((t > 500.0) & (t <= 1000.0)).sum() / 0.5)


def test_without_nest_one_line_names_the_package(monkeypatch, capsys):
    real = validation.importlib.util.find_spec
    monkeypatch.setattr(validation.importlib.util, "find_spec", lambda name, *a: None if name == "nest" else real(name, *a))
    assert validation.main(["examples/microcircuit.py"]) == 2
    err = capsys.readouterr().err
    assert "pip install nest-simulator" in err and err.count("\n") == 1


def test_model_without_nest_twin_is_refused(tmp_path, capsys):
    require("nest")
    model = tmp_path / "m.py"
    model.write_text("import dsnn\n\ndef network(seed=1):\n    return dsnn.Network(seed=seed)\n")
    assert validation.main([str(model)]) == 2
    assert "defines no nest_network" in capsys.readouterr().err
