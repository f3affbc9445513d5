"""The example model files (examples/*.py) as modules, for the tests."""

import importlib.util
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    """examples/<name>.py, imported once under the name ``dsnn_example_<name>`` (the name under which
    examples/multi_area.py loads the microcircuit too, so both share one module)."""
    key = f"dsnn_example_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
