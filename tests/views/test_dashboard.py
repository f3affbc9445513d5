"""The live view: updated during a run, its plotted rates read back and checked against the spikes."""

from __future__ import annotations

import numpy as np
import pytest
from needs import require

import dsnn

require("bokeh")

from dsnn.views.dashboard import LiveView  # noqa: E402


def _net():
    net = dsnn.Network(seed=4)
    E = net.create("iaf_psc_exp", 40, {"I_e": 380.0}, label="E")
    I = net.create("iaf_psc_exp", 10, {"I_e": 420.0}, label="I")
    net.connect(E, I, {"rule": "fixed_indegree", "indegree": 5}, {"weight": 20.0, "delay": 1.0})
    net.connect(I, E, {"rule": "fixed_indegree", "indegree": 2}, {"weight": -30.0, "delay": 1.0})
    sr = net.create("spike_recorder")
    net.connect(E, sr)
    net.connect(I, sr)
    return net


def _check_updated_during_the_runs(view, ends):
    """The view was updated at the end of every run (``ends``, ms) and at least once while one went on."""
    t = view.rates()["t"].to_numpy()
    assert all(end in t for end in ends)
    assert any(0.0 < x < ends[-1] and x not in ends for x in t), t
    assert np.all(np.diff(t) > 0)


def _check_rates_add_up(view, spikes, t0, t1):
    """Plotted rates x window lengths x neurons = the spikes recorded in [t0, t1]."""
    rates = view.rates()
    t = rates["t"].to_numpy()
    assert t[-1] == pytest.approx(t1)
    widths = np.diff(np.concatenate([[t0], t])) / 1000.0
    for name, n in (("E", 40), ("I", 10)):
        got = float(np.sum(rates[name].to_numpy() * widths) * n)
        want = int(((spikes["population"] == name) & (spikes["time"] > t0) & (spikes["time"] <= t1)).sum())
        assert want > 0
        assert got == pytest.approx(want, rel=1e-9)


def test_live_view_in_process(monkeypatch):
    """The in-process runner steps its partitions in threads; the client polls them as on a cluster."""
    monkeypatch.setattr("dsnn.runners.progress.REFRESH_S", 0.0)  # refresh at every poll (every 50 ms)
    net = _net()
    view = LiveView(net)
    sim = net.build(partitions=2)
    sim.run(3000.0, progress=False, view=view)
    sim.run(1000.0, progress=False, view=view)
    _check_updated_during_the_runs(view, [3000.0, 4000.0])
    _check_rates_add_up(view, sim.spikes(), 0.0, 4000.0)
    split = view.time_split()
    assert list(split["partition"]) == [0, 1] and (split["update"] > 0).all()


def test_live_view_updates_during_a_cluster_run(monkeypatch):
    from distributed import Client, LocalCluster

    monkeypatch.setattr("dsnn.runners.progress.REFRESH_S", 0.05)
    net = _net()
    view = LiveView(net)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        sim = net.build(client, partitions=2)
        sim.run(6000.0, progress=False, view=view)  # 6,000 intervals: far longer than one 50 ms poll
        _check_updated_during_the_runs(view, [6000.0])
        assert len(view.rates()) == view.updates
        _check_rates_add_up(view, sim.spikes(), 0.0, 6000.0)
        split = view.time_split()
        assert list(split["partition"]) == [0, 1]
        assert (split[["update", "deliver", "exchange", "wait"]].to_numpy() >= 0).all()
        sim.close()
