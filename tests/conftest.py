import os

import pytest


@pytest.fixture(scope="session")
def nest():
    """NEST 3.10, quiet, or a skip where it is not installed."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    nest = pytest.importorskip("nest")
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    return nest


@pytest.fixture(scope="session")
def brunel():
    """The examples/brunel.py model module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "brunel.py"
    spec = importlib.util.spec_from_file_location("brunel_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
