"""The optional packages the tests use: where one is missing its tests skip, except in CI.

In CI (the environment variable ``CI`` is ``true``, as ``.ci/run`` sets it)
every extra of ``dsnn[test]`` must be there: a broken install must turn CI
red, not green with fewer tests. The session stops at once naming what is
missing (:func:`missing_in_ci`), and no test of an extra is marked to skip.
GPU tests skip wherever there is no GPU, CI included (CuPy is not a test
extra and CI machines have no GPU).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

#: module -> the extra of dsnn that installs it
EXTRAS = {
    "nest": "test (nest-simulator)",
    "distributed_ucxx": "ucx",
    "ucxx": "ucx",
    "mpi4py": "mpi",
    "dask_mpi": "mpi",
    "bokeh": "notebook",
    "ipykernel": "notebook",
    "ipywidgets": "notebook",
    "nbclient": "test",
    "nbformat": "test",
    "scipy": "test",
}

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def available(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def mpiexec() -> str | None:
    """The mpiexec beside this Python (the mpich wheel puts it there), else the one on PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


def needs(*modules: str) -> pytest.MarkDecorator:
    """A mark: skip where one of ``modules`` is missing, outside CI (in CI the test runs, and fails)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    extras = sorted({EXTRAS.get(m, m) for m in missing})
    return pytest.mark.skipif(bool(missing) and not IN_CI,
                              reason=f"needs {', '.join(missing)} (pip install 'dsnn[{','.join(extras)}]')")


def require(module: str):
    """``module`` imported, or a skip where it is missing outside CI (in CI: the ImportError)."""
    if IN_CI or importlib.util.find_spec(module) is not None:
        return importlib.import_module(module)
    pytest.skip(f"needs {module} (pip install 'dsnn[{EXTRAS.get(module, module)}]')", allow_module_level=True)


def missing_in_ci() -> list:
    """What CI must have and does not: every extra's modules and mpiexec."""
    missing = [f"{m} (dsnn[{extra}])" for m, extra in EXTRAS.items() if importlib.util.find_spec(m) is None]
    if mpiexec() is None:
        missing.append("mpiexec (dsnn[mpi])")
    return missing
