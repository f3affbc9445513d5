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
    from example_models import load

    return load("brunel")
