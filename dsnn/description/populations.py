"""Populations: neurons or devices with contiguous gids, and views (slices) of them."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only
    from ..models.base import ModelSpec
    from .network import Network

__all__ = ["Population"]


class Population:
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

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, item) -> "Population":
        if isinstance(item, slice):
            start, stop, step = item.indices(self.n)
            if step != 1:
                raise ValueError(f"Population slices must be contiguous (step 1), got step {step}")
            if stop <= start:
                raise ValueError(f"Population slice {item} of a population of {self.n} is empty")
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            idx = int(item)
            if not -self.n <= idx < self.n:
                raise IndexError(f"index {idx} out of range for a population of {self.n}")
            start = idx % self.n
            stop = start + 1
        else:
            raise TypeError(f"Population indices must be ints or slices, got {type(item).__name__}")
        return Population(self.network, self.index, self.spec, self.first + start, stop - start,
                          self.params, self.label, self.root)

    def __repr__(self) -> str:
        label = f" {self.label!r}" if self.label else ""
        view = " (view)" if self.parent is not None else ""
        return f"<dsnn.Population{label}: {self.model}, gids {self.first}..{self.first + self.n - 1}{view}>"
