"""Spike tables with population labels, rates of recorded populations, saving and loading runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dsnn
from dsnn.runners.records import label_spikes
from dsnn.views.results import load_run, population_rates, recorded_neurons, save_run


def _net():
    net = dsnn.Network(seed=1)
    A = net.create("iaf_psc_exp", 10, label="A")
    B = net.create("iaf_psc_exp", 5)  # unlabelled
    C = net.create("iaf_psc_exp", 4, label="A")  # a second population with the same label
    sr1, sr2 = net.create("spike_recorder"), net.create("spike_recorder")
    net.connect(A[0:4], sr1)
    net.connect(A[2:6], sr2)  # overlaps sr1 on A[2:4]
    net.connect(B, sr2)
    return net, A, B, C


def test_labels_follow_the_gids():
    net, A, B, C = _net()
    frame = pd.DataFrame({"sender": [A.first, A.first + 9, B.first, B.first + 4, C.first + 3],
                          "time": [1.0, 2.0, 3.0, 4.0, 5.0]})
    labelled = label_spikes(frame, net)
    assert labelled["population"].tolist() == ["A", "A", "iaf_psc_exp-1", "iaf_psc_exp-1", "A"]
    assert list(labelled["population"].cat.categories)[:2] == ["A", "iaf_psc_exp-1"]


def test_rates_count_recorded_neurons_once():
    net, A, B, _ = _net()
    assert recorded_neurons(net) == {"A": 6, "iaf_psc_exp-1": 5}  # A[0:6] recorded, B whole
    spikes = label_spikes(pd.DataFrame({"sender": [A.first + 2, A.first + 2, A.first + 5, B.first],
                                        "time": [1.0, 1.0, 7.0, 3.0]}), net)  # A.first+2 seen by both
    rates = population_rates(spikes, net, 500.0)
    assert rates == {"A": pytest.approx(2 / 6 / 0.5), "iaf_psc_exp-1": pytest.approx(1 / 5 / 0.5)}
    with pytest.raises(ValueError, match="t_ms must be positive"):
        population_rates(spikes, net, 0.0)


def test_all_recorders_merged_and_labelled_in_a_run():
    net = dsnn.Network(seed=2)
    E = net.create("iaf_psc_exp", 8, {"I_e": 500.0}, label="E")
    sr1, sr2 = net.create("spike_recorder"), net.create("spike_recorder")
    net.connect(E[0:5], sr1)
    net.connect(E[3:8], sr2)
    sim = net.build(partitions=2)
    sim.run(100.0)
    every = sim.spikes()
    one, two = sim.spikes(sr1), sim.spikes(sr2)
    assert len(every) == len(pd.concat([one, two]).drop_duplicates(["sender", "time"])) > 0
    assert set(every.sender) == set(E.gids)
    assert (every["population"] == "E").all()
    assert np.all(np.diff(every["time"].to_numpy()) >= 0)


def test_save_and_load_a_run(tmp_path):
    net, A, *_ = _net()
    spikes = label_spikes(pd.DataFrame({"sender": [A.first, A.first + 1], "time": [0.5, 1.5]}), net)
    save_run(tmp_path / "run", spikes, {"rates": {"A": 1.5}, "simulation_s": np.float64(2.0)})
    back, summary = load_run(tmp_path / "run")
    pd.testing.assert_frame_equal(back, spikes)
    assert summary == {"rates": {"A": 1.5}, "simulation_s": 2.0}


def test_rates_count_only_the_recording_window():
    """Neurons firing regularly at 100 spikes/s (I_e above threshold, no refractory jitter) recorded from
    300 ms on: the rate over a 1 s run is the rate within [300, 1000] ms, not spikes / 1 s."""
    net = dsnn.Network(seed=1)
    n = net.create("iaf_psc_exp", 3, {"I_e": 1000.0, "t_ref": 2.0}, label="N")
    late = net.create("spike_recorder", params={"start": 300.0})
    net.connect(n, late)
    sim = net.build()
    sim.run(1000.0)
    spikes = sim.spikes()
    assert spikes["time"].min() > 300.0
    per_neuron = len(spikes) / 3
    assert population_rates(spikes, net, 1000.0)["N"] == pytest.approx(per_neuron / 0.7)
    assert dsnn.results.recording_ms(net, 1000.0) == {"N": pytest.approx(700.0)}
    assert dsnn.results.recording_ms(net, 200.0) == {"N": 0.0}
    assert np.isnan(population_rates(spikes.iloc[:0], net, 200.0)["N"])
