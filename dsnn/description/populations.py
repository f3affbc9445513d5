"""Populations: neurons or devices with contiguous gids, views (slices) of them, and their
concatenations (``E + I``: a :class:`Collection`, as NEST's NodeCollection)."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only
    from ..models.base import ModelSpec
    from .network import Network

__all__ = ["Population", "Collection", "concatenate"]


class _Nodes:
    """What populations and collections share: a size, and ``+`` (see :func:`concatenate`)."""

    n: int

    def __len__(self) -> int:
        return self.n

    def __add__(self, other) -> "Population | Collection":
        return concatenate(self, other)

    def __radd__(self, other):
        if other == 0:  # sum([E, I]) starts from 0
            return self
        return NotImplemented

    def _range(self, item, what: str) -> tuple[int, int]:
        """(start, stop) of the nodes ``item`` (an int or a slice of step 1) selects; refuses others."""
        n = self.n
        if isinstance(item, slice):
            start, stop, step = item.indices(n)
            if step != 1:
                raise ValueError(f"{what} slices must be contiguous (step 1), got step {step}")
            if stop <= start:
                raise ValueError(f"{what} slice {item} of {n} nodes is empty")
            return start, stop
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            idx = int(item)
            if not -n <= idx < n:
                raise IndexError(f"index {idx} out of range for a {what} of {n}")
            return idx % n, idx % n + 1
        raise TypeError(f"{what} indices must be ints or slices, got {type(item).__name__}")


class Population(_Nodes):
    """Neurons or devices with contiguous gids ``first .. first+n-1``.

    Slicing (``E[0:10]``, ``E[5]``) gives a view of the same population.
    """

    def __init__(self, network: "Network", index: int, model: ModelSpec, first: int, n: int,
                 params: dict, label: str | None, parent: "Population | None" = None):
        self.network = network
        self.index = index
        self.spec = model
        self.first = first
        self.n = n
        self.params = params
        self.label = label
        self.parent = parent

    @property
    def model(self) -> str:
        return self.spec.name

    @property
    def name(self) -> str:
        """The population's label, or ``<model>-<index>`` where it has none (how results name it)."""
        root = self.root
        return root.label or f"{root.model}-{root.index}"

    @property
    def root(self) -> "Population":
        return self.parent if self.parent is not None else self

    @property
    def gids(self) -> range:
        return range(self.first, self.first + self.n)

    @property
    def pieces(self) -> tuple:
        """The contiguous populations this one is made of: itself."""
        return (self,)

    @property
    def spans(self) -> tuple:
        """``((first gid, size),)``: the gid ranges of :attr:`pieces`."""
        return ((self.first, self.n),)

    @property
    def kind(self) -> str:
        """What its nodes are: ``"neuron"`` or a device kind (``"poisson"``, ``"spike_recorder"`` ...)."""
        return self.spec.kind

    @property
    def is_neuron(self) -> bool:
        return self.spec.is_neuron


    def __getitem__(self, item) -> "Population":
        start, stop = self._range(item, "Population")
        return Population(self.network, self.index, self.spec, self.first + start, stop - start,
                          self.params, self.label, self.root)

    def __repr__(self) -> str:
        label = f" {self.label!r}" if self.label else ""
        view = " (view)" if self.parent is not None else ""
        return f"<dsnn.Population{label}: {self.model}, gids {self.first}..{self.first + self.n - 1}{view}>"


def concatenate(*parts) -> "Population | Collection":
    """The nodes of ``parts`` (populations or collections of one network) together, in gid order.

    As NEST's NodeCollection: the result is sorted by gid whatever the order
    of ``parts``, and parts that overlap are refused. Pieces of one population
    that meet are joined, so ``E[:5] + E[5:]`` is ``E`` again.
    """
    pieces = []
    for part in parts:
        if not isinstance(part, (Population, Collection)):
            raise TypeError(f"only populations concatenate (E + I); got {type(part).__name__} {part!r}")
        if part.network is not parts[0].network:
            raise ValueError(f"cannot concatenate populations of different networks: {parts[0]!r} and {part!r}")
        pieces.extend(part.pieces)
    pieces.sort(key=lambda p: p.first)
    joined = [pieces[0]]
    for piece in pieces[1:]:
        last = joined[-1]
        if piece.first < last.first + last.n:
            raise ValueError(f"cannot concatenate overlapping populations: {last!r} and {piece!r} share gids")
        if piece.root is last.root and piece.first == last.first + last.n:
            root = last.root
            lo, hi = last.first - root.first, piece.first + piece.n - root.first
            joined[-1] = root if (lo, hi) == (0, root.n) else root[lo:hi]
        else:
            joined.append(piece)
    return joined[0] if len(joined) == 1 else Collection(tuple(joined))


class Collection(_Nodes):
    """Nodes of several populations taken together (``E + I``), in gid order.

    Made by ``+`` on populations (or :func:`concatenate`); ``net.connect``,
    recorders and placements take it wherever they take a population. A
    rule draws over the collection as one group of nodes: a fixed in-degree
    of K from ``E + I`` picks K sources among all of them, indexed in gid
    order.
    """

    def __init__(self, pieces: tuple):
        self.pieces = pieces
        self.network = pieces[0].network

    @property
    def n(self) -> int:
        return sum(p.n for p in self.pieces)

    @property
    def spans(self) -> tuple:
        """``(first gid, size)`` of each piece, in gid order."""
        return tuple((p.first, p.n) for p in self.pieces)

    @property
    def gids(self) -> list:
        return [g for p in self.pieces for g in p.gids]

    @property
    def models(self) -> tuple:
        """The model of each piece."""
        return tuple(p.model for p in self.pieces)

    @property
    def kind(self) -> str:
        """The kind of node its pieces share (see :attr:`Population.kind`)."""
        kinds = {p.kind for p in self.pieces}
        if len(kinds) > 1:
            raise ValueError(f"{self!r} mixes kinds of node ({', '.join(sorted(kinds))}); connect each "
                             "kind apart")
        return kinds.pop()

    @property
    def is_neuron(self) -> bool:
        return all(p.is_neuron for p in self.pieces)


    def __eq__(self, other) -> bool:
        return isinstance(other, Collection) and other.network is self.network and other.spans == self.spans

    def __hash__(self) -> int:
        return hash(self.spans)

    def __getitem__(self, item) -> "Population | Collection":
        start, stop = self._range(item, "collection")
        parts, offset = [], 0
        for p in self.pieces:
            lo, hi = max(start - offset, 0), min(stop - offset, p.n)
            if lo < hi:
                parts.append(p[lo:hi])
            offset += p.n
        return concatenate(*parts)

    def __repr__(self) -> str:
        inner = ", ".join(repr(p) for p in self.pieces)
        return f"<dsnn.Collection of {self.n} nodes: {inner}>"
