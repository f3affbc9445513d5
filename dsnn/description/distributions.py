"""Random parameters for weights, delays and initial state (description only).

Written as NEST 3 writes them (``dsnn.random.normal(mean=0.0, std=1.0)``,
``dsnn.math.redraw(x, min=..., max=...)``) or as NEST 2 dicts
(``{"distribution": "normal_clipped", "mu": .., "sigma": .., "low": ..}``).
A :class:`Distribution` holds only numbers; sampling is in :mod:`dsnn.randomness.sampling`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["Distribution", "normal", "uniform", "lognormal", "exponential", "redraw", "clip", "parse"]

_PARAMS = {
    "normal": ("mean", "std"),
    "uniform": ("min", "max"),
    "lognormal": ("mean", "std"),
    "exponential": ("beta",),
}


@dataclass(frozen=True)
class Distribution:
    """A random variable: ``kind`` with ``params``, optionally bounded.

    ``bound`` is ``None`` (no bounds), ``"redraw"`` (values outside
    ``[low, high]`` are drawn again, a truncated distribution) or ``"clip"``
    (values are set to the nearest bound).
    """

    kind: str
    params: tuple
    low: float = -math.inf
    high: float = math.inf
    bound: str | None = None

    def p(self, name: str) -> float:
        return dict(self.params)[name]

    def support(self) -> tuple[float, float]:
        """The smallest interval that holds every value drawn."""
        if self.kind == "uniform":
            lo, hi = self.p("min"), self.p("max")
        elif self.kind in ("lognormal", "exponential"):
            lo, hi = 0.0, math.inf
        else:
            lo, hi = -math.inf, math.inf
        if self.bound is not None:
            lo, hi = max(lo, self.low), min(hi, self.high)
        return lo, hi

    def cdf(self, x: float) -> float:
        """Cumulative distribution of the unbounded variable (for checks)."""
        if self.kind == "normal":
            m, s = self.p("mean"), self.p("std")
            return 0.5 * math.erfc(-(x - m) / (s * math.sqrt(2))) if s > 0 else float(x >= m)
        if self.kind == "uniform":
            a, b = self.p("min"), self.p("max")
            return min(1.0, max(0.0, (x - a) / (b - a)))
        if self.kind == "lognormal":
            if x <= 0:
                return 0.0
            m, s = self.p("mean"), self.p("std")
            if s == 0:
                return float(math.log(x) >= m)
            return 0.5 * math.erfc(-(math.log(x) - m) / (s * math.sqrt(2)))
        beta = self.p("beta")
        return 0.0 if x <= 0 else -math.expm1(-x / beta)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params)
        text = f"dsnn.random.{self.kind}({args})"
        if self.bound == "redraw":
            text = f"dsnn.math.redraw({text}, min={self.low!r}, max={self.high!r})"
        elif self.bound == "clip":
            text = f"dsnn.math.clip({text}, min={self.low!r}, max={self.high!r})"
        return text


def _number(where: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return value


def _make(kind: str, **params) -> Distribution:
    where = f"dsnn.random.{kind}"
    vals = {k: _number(where, k, v) for k, v in params.items()}
    if kind in ("normal", "lognormal") and vals["std"] < 0:
        raise ValueError(f"{where}: std must be >= 0, got {vals['std']}")
    if kind == "uniform" and not vals["min"] < vals["max"]:
        raise ValueError(f"{where}: min must be < max, got min={vals['min']} and max={vals['max']}")
    if kind == "exponential" and not vals["beta"] > 0:
        raise ValueError(f"{where}: beta must be > 0, got {vals['beta']}")
    return Distribution(kind, tuple((k, vals[k]) for k in _PARAMS[kind]))


def normal(mean: float = 0.0, std: float = 1.0) -> Distribution:
    """Normal distribution with ``mean`` and standard deviation ``std``."""
    return _make("normal", mean=mean, std=std)


def uniform(min: float = 0.0, max: float = 1.0) -> Distribution:  # noqa: A002 - NEST's names
    """Uniform distribution on ``[min, max)``."""
    return _make("uniform", min=min, max=max)


def lognormal(mean: float = 0.0, std: float = 1.0) -> Distribution:
    """exp(X) with X normal(``mean``, ``std``) (NEST's parametrisation)."""
    return _make("lognormal", mean=mean, std=std)


def exponential(beta: float = 1.0) -> Distribution:
    """Exponential distribution with scale (mean) ``beta``."""
    return _make("exponential", beta=beta)


def _bound_number(where: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def _bounded(dist, low, high, bound: str) -> Distribution:
    where = f"dsnn.math.{bound}"
    if not isinstance(dist, Distribution) or dist.bound is not None:
        raise TypeError(f"{where}: first argument must be an unbounded dsnn.random distribution, got {dist!r}")
    low = -math.inf if low is None else _bound_number(where, "min", low)
    high = math.inf if high is None else _bound_number(where, "max", high)
    if math.isnan(low) or math.isnan(high) or not low < high:
        raise ValueError(f"{where}: min must be < max, got min={low} and max={high}")
    out = Distribution(dist.kind, dist.params, low, high, bound)
    if bound == "redraw":
        mass = dist.cdf(high) - dist.cdf(low)
        if not mass > 1e-6:
            raise ValueError(
                f"{where}: the interval [{low}, {high}] holds a probability of {mass:.3g} of {dist!r}; "
                "redrawing would almost never end (allowed: intervals holding > 1e-6)"
            )
    return out


def redraw(dist: Distribution, min: float | None = None, max: float | None = None) -> Distribution:  # noqa: A002
    """Truncate ``dist`` to ``[min, max]``: values outside are drawn again."""
    return _bounded(dist, min, max, "redraw")


def clip(dist: Distribution, min: float | None = None, max: float | None = None) -> Distribution:  # noqa: A002
    """Clip ``dist`` to ``[min, max]``: values outside are set to the bound."""
    return _bounded(dist, min, max, "clip")


#: NEST 2 names: distribution -> (kind, {NEST 2 parameter: dsnn parameter}, may be clipped)
_NEST2 = {
    "normal": ("normal", {"mu": "mean", "sigma": "std"}, True),
    "lognormal": ("lognormal", {"mu": "mean", "sigma": "std"}, True),
    "exponential": ("exponential", {"lambda": "beta"}, True),
    "uniform": ("uniform", {"low": "min", "high": "max"}, False),
}


def _parse_nest2(value: dict, where: str) -> Distribution:
    spec = dict(value)
    name = spec.pop("distribution", None)
    allowed = sorted(_NEST2) + [f"{n}{s}" for n, v in _NEST2.items() if v[2] for s in ("_clipped", "_clipped_to_boundary")]
    base, bound = name, None
    if isinstance(name, str) and name.endswith("_clipped_to_boundary"):
        base, bound = name[: -len("_clipped_to_boundary")], "clip"
    elif isinstance(name, str) and name.endswith("_clipped"):
        base, bound = name[: -len("_clipped")], "redraw"
    if name not in allowed:
        raise ValueError(f"{where}: unknown distribution {name!r}; allowed: {', '.join(allowed)}")
    kind, names, _ = _NEST2[base]
    low = spec.pop("low", None) if bound else None
    high = spec.pop("high", None) if bound else None
    unknown = set(spec) - set(names)
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {sorted(unknown)} for {name!r}; allowed: "
                         f"{sorted(names) + (['high', 'low'] if bound else [])}")
    missing = [k for k in names if k not in spec and kind != "exponential"]  # NEST 2's lambda defaults to 1
    if missing:
        raise ValueError(f"{where}: {name!r} needs {' and '.join(repr(k) for k in missing)}; "
                         f"allowed: {sorted(names) + (['high', 'low'] if bound else [])}")
    args = {names[k]: v for k, v in spec.items()}
    if kind == "exponential":
        lam = _number(where, "lambda", args.get("beta", 1.0))
        if not lam > 0:
            raise ValueError(f"{where}: lambda must be > 0, got {lam}")
        args["beta"] = 1.0 / lam
    dist = _make(kind, **args)
    return _bounded(dist, low, high, bound) if bound else dist


def parse(value, where: str):
    """A float, a :class:`Distribution`, or a NEST 2 distribution dict -> float or Distribution."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, dict):
        return _parse_nest2(value, where)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where} must be a number or a distribution, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where} must be finite, got {value!r}")
    return value
