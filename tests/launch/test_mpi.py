"""A dask-mpi launch: ``mpiexec -n 4 python -m dsnn run MODEL --mpi`` (scheduler, client, 2 workers)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from example_models import load

ROOT = Path(__file__).resolve().parents[2]
BRUNEL = ROOT / "examples" / "brunel.py"


def _mpiexec():
    local = Path(sys.executable).parent / "mpiexec"  # the mpich wheel puts it beside python
    return str(local) if local.exists() else shutil.which("mpiexec")


pytestmark = pytest.mark.skipif(
    _mpiexec() is None or importlib.util.find_spec("mpi4py") is None
    or importlib.util.find_spec("dask_mpi") is None,
    reason="needs mpiexec, mpi4py and dask-mpi (pip install 'dsnn[mpi]')")


def test_mpiexec_four_ranks_gives_the_in_process_spikes(tmp_path):
    out = tmp_path / "mpi"
    proc = subprocess.run([_mpiexec(), "-n", "4", sys.executable, "-m", "dsnn", "run", str(BRUNEL), "--mpi",
                           "--time", "150", "--param", "scale=0.05", "--exchange", "collective",
                           "--out", str(out), "--no-plots"],
                          capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]  # a clean shutdown of every rank
    assert "partitions            2 (collective, tcp)" in proc.stdout
    spikes = pd.read_parquet(out / "spikes.parquet")
    sim = load("brunel").network(scale=0.05).build()
    sim.run(150.0)
    want = sim.spikes()
    assert len(want) > 100
    pd.testing.assert_frame_equal(spikes, want, check_categorical=False)
