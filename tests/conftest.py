import os

import pytest
from needs import IN_CI, missing_in_ci, require


def pytest_sessionstart(session):
    """In CI every extra of dsnn[test] must be installed: a missing one stops the run, red."""
    missing = missing_in_ci() if IN_CI else []
    if missing:
        raise pytest.UsageError(f"CI=true but these test extras are missing: {', '.join(missing)}")


@pytest.fixture(scope="session")
def nest():
    """NEST 3.10, quiet, or a skip where it is not installed (outside CI)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    nest = require("nest")
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
