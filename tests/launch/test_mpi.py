"""A dask-mpi launch: ``mpiexec -n 4 python -m dsnn run MODEL --mpi`` (scheduler, client, 2 workers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from example_models import load
from needs import IN_CI, mpiexec, needs

ROOT = Path(__file__).resolve().parents[2]
BRUNEL = ROOT / "examples" / "brunel.py"


pytestmark = [needs("mpi4py", "dask_mpi"),
              pytest.mark.skipif(mpiexec() is None and not IN_CI, reason="needs mpiexec (pip install 'dsnn[mpi]')")]


@pytest.mark.parametrize("ranks,exchange", [(4, "collective"), (5, "collective"), (5, "p2p")])
def test_mpiexec_gives_the_in_process_spikes_over_mpi_channels(tmp_path, ranks, exchange):
    """Scheduler, client and 2 or 3 worker ranks on this one host, shared memory turned off: the
    partitions' spikes move by MPI (point-to-point messages; the collective by MPI's all-gather on a
    communicator of the worker ranks, which sends each spike once: a third of Bruck's bytes on 3
    partitions), bit for bit the in-process run's."""
    out = tmp_path / "mpi"
    env = dict(os.environ, DASK_DSNN__SHARED_MEMORY="False")  # else one host uses shared memory
    proc = subprocess.run([mpiexec(), "-n", str(ranks), sys.executable, "-m", "dsnn", "run", str(BRUNEL), "--mpi",
                           "--time", "150", "--param", "scale=0.05", "--exchange", exchange,
                           "--out", str(out), "--no-plots"],
                          capture_output=True, text=True, timeout=240, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]  # a clean shutdown of every rank
    assert f"partitions            {ranks - 2} ({exchange}, tcp, mpi channels)" in proc.stdout
    spikes = pd.read_parquet(out / "spikes.parquet")
    sim = load("brunel").network(scale=0.05).build(partitions=ranks - 2, exchange=exchange)
    sim.run(150.0)
    want = sim.spikes()
    assert len(want) > 100
    pd.testing.assert_frame_equal(spikes, want, check_categorical=False)
    sent = json.loads((out / "summary.json").read_text())["exchanged_bytes"]
    bruck_rounds_bytes = 2 if (exchange, ranks - 2) == ("collective", 3) else 1  # Bruck on 3: each spike twice
    assert sent > 0 and sent * bruck_rounds_bytes == sim.exchanged_bytes()


def test_mpiexec_with_too_few_ranks_says_how_many_it_needs(tmp_path):
    proc = subprocess.run([mpiexec(), "-n", "2", sys.executable, "-m", "dsnn", "run", str(BRUNEL), "--mpi",
                           "--param", "scale=0.01", "--out", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "dsnn: error: --mpi needs at least 3 ranks (scheduler, client, workers), got 2" in proc.stderr
    assert "Traceback" not in proc.stderr
