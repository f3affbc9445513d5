"""Model files: a Python file with ``network(**params)`` returning a :class:`~dsnn.description.network.Network`.

The command line, the benchmarks and the NEST comparison read models this
way. A model file may also define ``EXCHANGE`` (``"p2p"`` or
``"collective"``: the exchange it runs best with), ``placement(net,
partitions)`` (what ``net.build(partitions=...)`` gets, e.g. one area per
partition) and ``nest_network(nest, seed=..., threads=..., **params)`` (the
same model in NEST, for validation).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
from pathlib import Path

from .network import Network

__all__ = ["ModelFileError", "load_model", "load_network", "parse_params"]


class ModelFileError(ValueError):
    """A model file or its parameters cannot be used (the message says why, in one line)."""


def parse_params(items) -> dict:
    """``["scale=0.1", "label=L4"]`` -> ``{"scale": 0.1, "label": "L4"}`` (Python literals where they parse)."""
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ModelFileError(f"--param expects KEY=VALUE with KEY a Python name, got {item!r}")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def load_model(path):
    """Import the model file at ``path`` (a module with a ``network`` function, optionally ``EXCHANGE``
    and ``placement(net, partitions)``)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} not found")
    spec = importlib.util.spec_from_file_location(f"dsnn_model_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pickling by reference needs the module importable by name
    spec.loader.exec_module(module)
    if not callable(getattr(module, "network", None)):
        raise ModelFileError(f"{path.name} must define a function network(**params) that returns a dsnn.Network "
                             f"(see the README, 'Model files')")
    exchange = getattr(module, "EXCHANGE", "p2p")
    if exchange not in ("p2p", "collective"):
        raise ModelFileError(f"{path.name}: EXCHANGE must be 'p2p' or 'collective', got {exchange!r}")
    placement = getattr(module, "placement", None)
    if placement is not None and not callable(placement):
        raise ModelFileError(f"{path.name}: placement must be a function placement(net, partitions)")
    return module


def load_network(path, params: dict, module=None) -> Network:
    """``network(**params)`` of the model file at ``path``."""
    module = module or load_model(path)
    path, fn = Path(path), module.network
    try:
        inspect.signature(fn).bind(**params)
    except TypeError as exc:
        raise ModelFileError(f"{path.name}: network() does not accept the parameters {sorted(params)}: "
                             f"{exc}") from None
    net = fn(**params)
    if not isinstance(net, Network):
        raise ModelFileError(f"{path.name}: network() returned {type(net).__name__}, not a dsnn.Network")
    return net
