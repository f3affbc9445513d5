"""The plots draw what they are given: points, rates and bars read back from the axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dsnn.views.plot import raster, rate_histogram, save_figures, time_split  # noqa: E402


def _spikes():
    rng = np.random.default_rng(0)
    n = 500
    return pd.DataFrame({"sender": rng.integers(1, 41, n), "time": np.sort(rng.uniform(0, 100, n)),
                         "population": pd.Categorical(np.where(rng.random(n) < 0.7, "E", "I"))})


def test_raster_has_a_point_per_spike():
    spikes = _spikes()
    ax = raster(spikes)
    xs = np.concatenate([line.get_xdata() for line in ax.get_lines()])
    ys = np.concatenate([line.get_ydata() for line in ax.get_lines()])
    assert len(xs) == len(spikes)
    assert sorted(zip(xs, ys)) == sorted(zip(spikes["time"], spikes["sender"]))
    assert ax.get_lines()[0].get_label() in {"E", "I"}
    thin = raster(spikes, max_points=100)
    assert sum(len(line.get_xdata()) for line in thin.get_lines()) <= 100
    plt.close("all")


def test_rate_histogram_shows_rates_per_neuron():
    spikes = pd.DataFrame({"sender": [1, 2, 1, 3], "time": [1.0, 2.0, 12.0, 13.0],
                           "population": pd.Categorical(["E", "E", "E", "I"])})
    ax = rate_histogram(spikes, {"E": 4, "I": 2}, t_ms=20.0, bin_ms=10.0)
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    # E (4 neurons): 2 spikes in the first 10 ms bin = 50 spikes/s, 1 in the second = 25;
    # I (2 neurons): 1 spike in the second bin = 50 spikes/s
    np.testing.assert_allclose(lines["E"], [50.0, 25.0])
    np.testing.assert_allclose(lines["I"], [0.0, 50.0])
    with pytest.raises(ValueError, match="bin_ms"):
        rate_histogram(spikes, {"E": 4}, 20.0, bin_ms=0)
    plt.close("all")


def test_time_split_stacks_the_four_parts(tmp_path):
    timers = [{"update": 1.0, "deliver": 0.5, "exchange": 0.2, "wait": 0.3},
              {"update": 2.0, "deliver": 0.1, "exchange": 0.1, "wait": 0.0}]
    ax = time_split(timers)
    tops = {}
    for patch in ax.patches:
        x = round(patch.get_x() + patch.get_width() / 2)
        tops[x] = max(tops.get(x, 0.0), patch.get_y() + patch.get_height())
    assert tops == {0: pytest.approx(2.0), 1: pytest.approx(2.2)}
    paths = save_figures(tmp_path, _spikes(), {"E": 30, "I": 10}, 100.0, timers)
    assert [p.name for p in paths] == ["raster.png", "rates.png", "time_split.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    plt.close("all")
