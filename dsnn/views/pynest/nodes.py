"""NEST's NodeCollection and SynapseCollection over a :class:`~.kernel.Kernel`."""

from __future__ import annotations

import numbers

import numpy as np

from .kernel import NestError, unsupported

__all__ = ["NodeCollection", "SynapseCollection"]


def _join(spans) -> tuple:
    """``(first, n)`` spans sorted, checked for overlap, and those that meet joined."""
    spans = sorted((int(f), int(n)) for f, n in spans if n > 0)
    out: list = []
    for first, n in spans:
        if out and first < out[-1][0] + out[-1][1]:
            raise NestError("Cannot join overlapping NodeCollections.")
        if out and first == out[-1][0] + out[-1][1]:
            out[-1] = (out[-1][0], out[-1][1] + n)
        else:
            out.append((first, n))
    return tuple(out)


class NodeCollection:
    """Nodes in gid order, as NEST's NodeCollection: ``+``, slices (with steps), ``len``, iteration,
    ``tolist``, ``global_id``, ``get``/``set`` and attribute access (``nodes.V_m``, ``sr.n_events``)."""

    __slots__ = ("_kernel", "_generation", "_spans")

    def __init__(self, kernel, spans=()):
        object.__setattr__(self, "_kernel", kernel)
        object.__setattr__(self, "_generation", kernel.generation)
        object.__setattr__(self, "_spans", _join(spans))

    # ------------------------------------------------------------ what it holds
    @property
    def spans(self) -> tuple:
        self._check()
        return self._spans

    def _check(self) -> None:
        if self._kernel.generation != self._generation:
            raise NestError("this NodeCollection was made before ResetKernel; its nodes no longer exist")

    def __len__(self) -> int:
        return sum(n for _, n in self._spans)

    def tolist(self) -> list:
        return [g for f, n in self._spans for g in range(f, f + n)]

    def __iter__(self):
        for gid in self.tolist():
            yield NodeCollection(self._kernel, ((gid, 1),))

    def __contains__(self, other) -> bool:
        gids = set(self.tolist())
        items = other.tolist() if isinstance(other, NodeCollection) else [other]
        return all(g in gids for g in items)

    def index(self, gid: int) -> int:
        return self.tolist().index(gid)

    def __eq__(self, other) -> bool:
        return isinstance(other, NodeCollection) and other._spans == self._spans

    def __hash__(self) -> int:
        return hash(self._spans)

    def __add__(self, other) -> "NodeCollection":
        if not isinstance(other, NodeCollection):
            raise TypeError(f"a NodeCollection adds only another NodeCollection, got {type(other).__name__}")
        return NodeCollection(self._kernel, self._spans + other._spans)

    def __getitem__(self, item) -> "NodeCollection":
        gids = self.tolist()
        if isinstance(item, slice):
            picked = gids[item]
            if item.step is not None and item.step < 0:
                raise NestError("NodeCollection slices cannot have a negative step")
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if not -len(gids) <= item < len(gids):
                raise IndexError(f"index {item} out of range for a NodeCollection of {len(gids)} nodes")
            picked = [gids[item]]
        elif isinstance(item, (list, tuple, np.ndarray)):
            picked = [gids[int(i)] for i in item]
            if sorted(picked) != picked or len(set(picked)) != len(picked):
                raise NestError("indices of a NodeCollection must be unique and sorted")
        else:
            raise TypeError(f"NodeCollection indices must be ints, slices or lists of ints, got {item!r}")
        return NodeCollection(self._kernel, [(g, 1) for g in picked])

    def recorded(self) -> dict:
        """The events of this one recorder, whatever it records to (NEST's plots read the files of
        ascii recorders; the events are the same)."""
        if len(self) != 1 or not self._kernel.block_of(self._spans[0][0]).attrs:
            raise NestError(f"expected one spike_recorder or voltmeter, got {self!r}")
        gid = self._spans[0][0]
        block = self._kernel.block_of(gid)
        return self._kernel.events(block, gid - block.first)

    @property
    def global_id(self):
        ids = self.tolist()
        return ids[0] if len(ids) == 1 else tuple(ids)

    def __repr__(self) -> str:
        if not self._spans:
            return "NodeCollection(<empty>)"
        parts = []
        for f, n in self._spans:
            parts.append(f"model={self._kernel.block_of(f).model}, size={n}, first={f}, last={f + n - 1}")
        return "NodeCollection(" + ";\n               ".join(parts) + ")"

    # ------------------------------------------------------------ parameters
    def get(self, *keys, output: str = ""):
        """NEST's ``get``: one key -> a value (one node) or a tuple (several); a list of keys -> a dict of
        those; none -> a dict of every parameter; ``get("events", "times")`` -> that part of the events."""
        if output:
            raise unsupported(f"get(output={output!r})")
        self._check()
        k = self._kernel
        if len(keys) == 2 and isinstance(keys[0], str) and isinstance(keys[1], (str, list, tuple)):
            outer = self.get(keys[0])
            inner = [keys[1]] if isinstance(keys[1], str) else list(keys[1])
            pick = (lambda d: d[inner[0]]) if isinstance(keys[1], str) else (lambda d: {n: d[n] for n in inner})
            return pick(outer) if len(self) == 1 else tuple(pick(d) for d in outer)
        names = None if not keys else ([keys[0]] if isinstance(keys[0], str) else list(keys[0]))
        if len(keys) > 1:
            names = list(keys)
        rows = []
        gids = self.tolist()
        potentials = k.potentials(gids, names) if k.sim is not None else None
        for gid in gids:
            params = k.get_params(gid, potentials)
            if names is not None:
                for name in names:
                    if name not in params:
                        raise NestError(f"get: {k.block_of(gid).model} has no parameter {name!r}")
            rows.append(params)
        if names is None:
            if len(rows) == 1:
                return rows[0]
            return {name: tuple(r.get(name) for r in rows) for name in rows[0]}
        if len(names) == 1 and isinstance(keys[0], str):
            values = tuple(r[names[0]] for r in rows)
            return values[0] if len(values) == 1 else values
        if len(rows) == 1:
            return {n: rows[0][n] for n in names}
        return {n: tuple(r[n] for r in rows) for n in names}

    def set(self, params=None, **kwargs) -> None:
        """NEST's ``set``: ``set(V_m=-70.0)``, ``set({"V_m": ...})``, a list with one value per node, or a
        list of dicts, one per node."""
        self._check()
        if params is not None and kwargs:
            raise NestError("set: give a dict or keyword arguments, not both")
        self._kernel.set_params(self._spans, kwargs if params is None else params)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def __setattr__(self, name, value) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self.set({name: value})


class SynapseCollection:
    """Connections as NEST's GetConnections returns them: ``get`` keys source, target, weight, delay and
    synapse_model; ``len``; the same names as attributes (lists)."""

    def __init__(self, frame):
        self._frame = frame.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self._frame)

    def get(self, keys=None, output: str = ""):
        if output == "pandas":
            return self._frame if keys is None else self._frame[[keys] if isinstance(keys, str) else list(keys)]
        if output:
            raise unsupported(f"get(output={output!r})")
        columns = list(self._frame.columns)
        if keys is None:
            keys = columns
        if isinstance(keys, str):
            if keys not in columns:
                raise NestError(f"get: connections have {columns}, not {keys!r}")
            values = self._frame[keys].tolist()
            return values[0] if len(values) == 1 else values
        return {key: self.get(key) for key in keys}

    def sources(self):
        return iter(self._frame["source"].tolist())

    def targets(self):
        return iter(self._frame["target"].tolist())

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def set(self, *args, **kwargs):
        raise unsupported("changing connections (SynapseCollection.set)")

    def __repr__(self) -> str:
        return f"SynapseCollection({len(self)} connections)\n{self._frame.to_string(index=False)}"
