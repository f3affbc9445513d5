"""Optional dependencies: one clear message naming the extra to install when one is missing."""

from __future__ import annotations

import importlib.util

__all__ = ["MissingExtra", "require"]


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names ``pip install 'dsnn[extra]'``."""


def require(module: str, extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` naming ``pip install 'dsnn[extra]'`` if ``module`` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(f"{what} needs the {module!r} package: pip install 'dsnn[{extra}]'")
