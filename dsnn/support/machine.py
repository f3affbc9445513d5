"""What this process may use of its machine."""

from __future__ import annotations

import os

__all__ = ["cores"]


def cores() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it, else all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
