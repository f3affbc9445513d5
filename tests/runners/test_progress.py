"""The run progress bar: simulated time, real-time factor and spikes per second."""

from __future__ import annotations

import pytest

import dsnn
from dsnn.runners.progress import RunWatch


class FakeClock:
    """Wall time that moves only when told to."""

    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_progress_reports_time_rtf_and_spike_rate():
    clock = FakeClock()
    watch = RunWatch(1000.0, 0.0, (50, {}, []), progress=True, clock=clock)
    assert watch.due()
    clock.now = 102.0
    watch.update(500.0, (250, {}, []))  # 500 ms in 2 s of wall time: rtf 4; 200 spikes in 2 s
    assert watch.postfix == {"rtf": pytest.approx(4.0), "spikes/s": pytest.approx(100.0)}
    assert watch.bar.n == 500.0
    assert not watch.due()  # refreshed just now
    clock.now = 104.0
    assert watch.due()
    watch.close((450, {}, []))  # 1000 ms in 4 s: rtf 4; 400 spikes in 4 s
    assert watch.postfix == {"rtf": pytest.approx(4.0), "spikes/s": pytest.approx(100.0)}
    assert watch.bar.n == 1000.0


def test_progress_off_unless_watched():
    watch = RunWatch(10.0, 0.0, (0, {}, []), progress=False)
    assert not watch.due() and not watch.active
    watch.update(5.0, (3, {}, []))
    assert watch.postfix == {}


def test_run_shows_the_bar(capsys):
    net = dsnn.Network(seed=1)
    E = net.create("iaf_psc_exp", 10, {"I_e": 500.0})
    net.connect(E, net.create("spike_recorder"))
    sim = net.build(partitions=2)
    sim.run(100.0, progress=True)
    err = capsys.readouterr().err
    assert "100.0/100.0 ms" in err and "rtf=" in err and "spikes/s=" in err
    sim.run(50.0, progress=False)
    assert capsys.readouterr().err == ""
