"""The command line, end to end: a run on a local cluster of 2 worker processes, its files, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from example_models import load

from dsnn.launch.cli import main

ROOT = Path(__file__).resolve().parents[2]
BRUNEL = ROOT / "examples" / "brunel.py"


def _python_m_dsnn(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "dsnn", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_cli_run_on_two_partitions_writes_consistent_results(tmp_path):
    out = tmp_path / "run"
    proc = _python_m_dsnn("run", str(BRUNEL), "--partitions", "2", "--time", "200", "--seed", "7",
                          "--param", "scale=0.05", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("spikes.parquet", "summary.json", "raster.png", "rates.png", "time_split.png"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    spikes = pd.read_parquet(out / "spikes.parquet")
    assert list(spikes.columns) == ["sender", "time", "population"]
    assert summary["partitions"] == 2 and summary["protocol"] == "tcp" and summary["seed"] == 7
    assert summary["spikes"] == len(spikes) > 0
    # rates recomputed from the saved spikes and the model's population sizes (E 500, I 125 at scale 0.05)
    sizes = {"E": 500, "I": 125}
    for name, n in sizes.items():
        rate = (spikes["population"] == name).sum() / n / 0.2
        assert summary["rates"][name] == pytest.approx(rate, rel=1e-12)
    assert set(summary["rates"]) == set(sizes)
    assert summary["rtf"] == pytest.approx(summary["simulation_s"] / 0.2)
    assert len(summary["time_split"]) == 2
    assert all(set(t) == {"update", "deliver", "exchange", "wait"} for t in summary["time_split"])
    assert summary["synapses"] > 0 and 0 < summary["bytes_per_synapse"] < 64
    assert 0.0 <= summary["compile_s"] < summary["construction_s"]  # the workers' preload loaded the kernels
    for name, rate in summary["rates"].items():  # the printed table carries the same rates
        assert f"{rate:.3f}" in proc.stdout
    # the same spikes as the in-process runner on the same network
    net = load("brunel").network(scale=0.05)
    net.seed = 7
    sim = net.build()
    sim.run(200.0)
    want = sim.spikes()
    pd.testing.assert_frame_equal(spikes.reset_index(drop=True), want.reset_index(drop=True),
                                  check_categorical=False)


def test_cli_in_process_run_matches_the_api(tmp_path, capsys):
    out = tmp_path / "inproc"
    assert main(["run", str(BRUNEL), "--in-process", "--partitions", "3", "--time", "50",
                 "--param", "scale=0.02", "--out", str(out), "--no-plots"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["protocol"] is None and summary["partitions"] == 3
    assert not (out / "raster.png").exists()
    net = load("brunel").network(scale=0.02)
    sim = net.build(partitions=1)
    sim.run(50.0)
    want = sim.spikes()
    saved = pd.read_parquet(out / "spikes.parquet")
    pd.testing.assert_frame_equal(saved, want, check_categorical=False)
    assert summary["spikes"] == len(want) > 0
    printed = capsys.readouterr().out
    for name, rate in summary["rates"].items():  # the table's rows: population and rate, as saved
        assert any(line.split() == [name, f"{rate:.3f}"] for line in printed.splitlines()), (name, printed)


@pytest.mark.parametrize("args, message", [
    (["run", "no_such_model.py"], "model file 'no_such_model.py' not found"),
    (["run", str(BRUNEL), "--param", "scale"], "--param expects KEY=VALUE"),
    (["run", str(BRUNEL), "--param", "sclae=0.1", "--in-process"], "does not accept the parameters ['sclae']"),
    (["run", str(BRUNEL), "--time", "-5", "--in-process"], "--time must be a positive number"),
    (["run", str(BRUNEL), "--in-process", "--param", "scale=0.01", "--time", "0.05"], "multiple of dt"),
    (["run", str(BRUNEL), "--partitions", "2", "--workers", "3"], "--workers must be from 1 to the partitions (2)"),
    (["run", str(BRUNEL), "--workers", "1", "--in-process"], "--workers sizes the local cluster"),
    (["run", str(BRUNEL), "--in-process", "--checkpoint-every", "10"], "--checkpoint-dir go together"),
    (["run", str(BRUNEL), "--in-process", "--checkpoint-every", "0.05", "--checkpoint-dir", "d"], "multiple of dt"),
    (["resume", "no_such_checkpoint", "--in-process"], "no_such_checkpoint holds no readable checkpoint"),
])
def test_cli_errors_are_one_line(args, message, capsys, tmp_path):
    assert main(args + ["--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("dsnn: error:")


def test_cli_model_without_network_function(tmp_path, capsys):
    model = tmp_path / "empty_model.py"
    model.write_text("x = 1\n")
    assert main(["run", str(model), "--in-process"]) == 2
    assert "must define a function network(**params)" in capsys.readouterr().err


def test_cli_unreachable_scheduler_and_too_many_partitions(tmp_path, capsys):
    import socket

    from distributed import LocalCluster

    with socket.socket() as s:  # a port held by this socket, which does not listen: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        assert main(["run", str(BRUNEL), "--scheduler", f"tcp://127.0.0.1:{port}", "--param", "scale=0.01"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and err.count("\n") == 1
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["run", str(BRUNEL), "--scheduler", cluster.scheduler_address, "--partitions", "3",
                     "--param", "scale=0.01", "--out", str(tmp_path / "y")]) == 2
        err = capsys.readouterr().err
        assert "partitions" in err and "worker" in err and err.count("\n") == 1


def test_missing_extra_names_it():
    from dsnn.launch.cluster import ClusterError, require

    with pytest.raises(ClusterError, match=r"pip install 'dsnn\[ucx\]'"):
        require("no_such_module_for_dsnn", "ucx", "protocol='ucx'")


def test_cli_refuses_a_network_too_large_for_the_memory_in_one_line(tmp_path, capsys):
    """7e11 synapses with a weight each (~5 TB): more than any host this runs on holds."""
    model = tmp_path / "huge.py"
    model.write_text(
        "import dsnn\n\n"
        "def network():\n"
        "    net = dsnn.Network(seed=1)\n"
        "    E = net.create('iaf_psc_exp', 70_000_000)\n"
        "    net.connect(E, E, {'rule': 'fixed_indegree', 'indegree': 10_000},\n"
        "                {'weight': dsnn.random.normal(mean=20.0, std=2.0)})\n"
        "    return net\n")
    assert main(["run", str(model), "--in-process", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dsnn: error: build: the network needs an estimated") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_cli_validate_hands_over_to_the_nest_comparison(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.py")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dsnn validate: error: ") and err.count("\n") == 1  # where NEST is missing: says so
    assert "missing.py' not found" in err or "pip install nest-simulator" in err


def test_cli_checkpoints_and_resume_on_other_partitions_give_the_uninterrupted_spikes(tmp_path, capsys):
    """run 100 ms on 2 partitions with a checkpoint every 30 ms (kept: 60 and 90 ms), then resume on 3
    partitions: the run's remaining 10 ms, and spikes from time 0 equal to a straight 100 ms run's; resuming
    a complete run asks for --time."""
    ckpts = tmp_path / "ckpt"
    assert main(["run", str(BRUNEL), "--in-process", "--partitions", "2", "--time", "100", "--param", "scale=0.05",
                 "--checkpoint-every", "30", "--checkpoint-dir", str(ckpts), "--out", str(tmp_path / "a"),
                 "--no-plots"]) == 0
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-000000000600", "step-000000000900"]
    import shutil

    shutil.rmtree(ckpts / "step-000000000900")  # as if the run had died between 90 and 100 ms
    assert main(["resume", str(ckpts), "--in-process", "--partitions", "3", "--out", str(tmp_path / "b"),
                 "--no-plots"]) == 0
    full = pd.read_parquet(tmp_path / "a" / "spikes.parquet")
    again = pd.read_parquet(tmp_path / "b" / "spikes.parquet")
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["resumed_at_ms"] == 60.0 and summary["time_ms"] == 100.0 and summary["partitions"] == 3
    assert len(full) > 500 and (full["time"] > 60.0).sum() > 100
    pd.testing.assert_frame_equal(again, full)
    capsys.readouterr()
    assert main(["resume", str(tmp_path / "b" / "nothing"), "--in-process"]) == 2
    assert main(["run", str(BRUNEL), "--in-process", "--time", "20", "--param", "scale=0.05",
                 "--checkpoint-every", "20", "--checkpoint-dir", str(tmp_path / "c"), "--out", str(tmp_path / "d"),
                 "--no-plots"]) == 0
    capsys.readouterr()
    assert main(["resume", str(tmp_path / "c"), "--in-process", "--out", str(tmp_path / "e")]) == 2
    assert "complete at 20 ms: give --time MS" in capsys.readouterr().err
