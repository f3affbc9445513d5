"""Connection rules (description only): NEST's ``conn_spec`` dicts, validated.

A :class:`Rule` knows nothing of arrays; :mod:`dsnn.construction.connectivity` draws the
synapses it describes.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["Rule", "parse_conn_spec", "RULES"]

#: rule -> (required parameter, its type) or None
RULES = {
    "one_to_one": None,
    "all_to_all": None,
    "fixed_indegree": ("indegree", int),
    "fixed_outdegree": ("outdegree", int),
    "fixed_total_number": ("N", int),
    "pairwise_bernoulli": ("p", float),
}


@dataclass(frozen=True)
class Rule:
    """A validated connection rule.

    ``value`` is the rule's parameter (indegree, outdegree, N or p; None for
    one_to_one and all_to_all).
    """

    name: str
    value: float | int | None
    allow_autapses: bool = True
    allow_multapses: bool = True

    def expected_indegree(self, n_pre: int, n_post: int) -> float:
        """The mean number of synapses onto one of ``n_post`` targets from ``n_pre`` sources."""
        if self.name == "one_to_one":
            return 1.0
        if self.name == "fixed_indegree":
            return float(self.value)
        if self.name == "fixed_outdegree":
            return float(self.value) * n_pre / n_post
        if self.name == "fixed_total_number":
            return float(self.value) / n_post
        if self.name == "all_to_all":
            return float(n_pre)
        return float(self.value) * n_pre  # pairwise_bernoulli

    def __repr__(self) -> str:
        param = RULES[self.name]
        arg = f", {param[0]}={self.value!r}" if param else ""
        return (f"Rule({self.name}{arg}, allow_autapses={self.allow_autapses}, "
                f"allow_multapses={self.allow_multapses})")


def _flag(spec: dict, name: str) -> bool:
    value = spec.get(name, True)
    if not isinstance(value, bool):
        raise TypeError(f"conn_spec: {name} must be True or False, got {value!r}")
    return value


def parse_conn_spec(conn_spec, n_pre: int, n_post: int, overlap: int) -> Rule:
    """Validate ``conn_spec`` for ``n_pre`` sources and ``n_post`` targets.

    ``overlap`` is the number of neurons that are both source and target (for
    the autapse checks). Raises ``ValueError``/``TypeError`` naming the key and
    what is allowed.
    """
    if conn_spec is None:
        conn_spec = {"rule": "all_to_all"}
    elif isinstance(conn_spec, str):
        conn_spec = {"rule": conn_spec}
    elif not isinstance(conn_spec, dict):
        raise TypeError(f"conn_spec must be a dict or a rule name, got {type(conn_spec).__name__}")
    spec = dict(conn_spec)
    name = spec.pop("rule", "all_to_all")
    if not isinstance(name, str) or name not in RULES:
        raise ValueError(f"conn_spec: unknown rule {name!r}; allowed: {', '.join(RULES)}")
    autapses = _flag(spec, "allow_autapses")
    multapses = _flag(spec, "allow_multapses")
    spec.pop("allow_autapses", None)
    spec.pop("allow_multapses", None)
    param = RULES[name]
    allowed_keys = {"rule", "allow_autapses", "allow_multapses"} | ({param[0]} if param else set())
    unknown = set(spec) - allowed_keys
    if unknown:
        raise ValueError(f"conn_spec: unknown key(s) {sorted(unknown)} for rule {name!r}; allowed: {sorted(allowed_keys)}")
    value = None
    if param:
        key, kind = param
        if key not in spec:
            raise ValueError(f"conn_spec: rule {name!r} needs {key!r}")
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"conn_spec: {key} must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"conn_spec: {key} must be finite, got {value!r}")
        if kind is int:
            if value != int(value) or value < 0:
                raise ValueError(f"conn_spec: {key} must be a whole number >= 0, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"conn_spec: p must be a probability in [0, 1], got {value!r}")
    rule = Rule(name, value, autapses, multapses)
    _check_sizes(rule, n_pre, n_post, overlap)
    return rule


def _check_sizes(rule: Rule, n_pre: int, n_post: int, overlap: int) -> None:
    no_self = not rule.allow_autapses and overlap > 0
    if rule.name == "one_to_one" and n_pre != n_post:
        raise ValueError(f"conn_spec: one_to_one needs pre and post of equal size, got {n_pre} and {n_post}")
    if rule.name == "fixed_indegree" and rule.value > 0:
        if not rule.allow_multapses:
            limit = n_pre - (1 if no_self else 0)
            if rule.value > limit:
                raise ValueError(
                    f"conn_spec: indegree {rule.value} is more than the {limit} distinct sources available "
                    f"without multapses (allowed: indegree <= {limit}, or allow_multapses=True)")
        if no_self and n_pre == 1:
            raise ValueError("conn_spec: indegree > 0 with allow_autapses=False needs a source other than "
                             "the target itself (pre has 1 neuron, which is also a target)")
    if rule.name == "fixed_outdegree" and rule.value > 0:
        if not rule.allow_multapses:
            limit = n_post - (1 if no_self else 0)
            if rule.value > limit:
                raise ValueError(
                    f"conn_spec: outdegree {rule.value} is more than the {limit} distinct targets available "
                    f"without multapses (allowed: outdegree <= {limit}, or allow_multapses=True)")
        if no_self and n_post == 1:
            raise ValueError("conn_spec: outdegree > 0 with allow_autapses=False needs a target other than "
                             "the source itself (post has 1 neuron, which is also a source)")
    if rule.name == "fixed_total_number":
        if not rule.allow_multapses:
            raise ValueError("conn_spec: fixed_total_number needs allow_multapses=True (as in NEST)")
        if no_self and n_pre == 1 and rule.value > 0:
            raise ValueError("conn_spec: fixed_total_number with allow_autapses=False needs more than one "
                             "source when the source is also a target")
