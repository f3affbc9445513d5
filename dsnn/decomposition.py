"""Who owns which neurons: a decomposition only describes, it builds nothing.

Neurons are ordered by gid (devices skipped); partition ``p`` owns the
neurons at positions ``bounds[p] .. bounds[p+1]-1`` of that order.
Stimulation devices are replicated on every partition.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

__all__ = ["Decomposition"]


@dataclass(frozen=True)
class Decomposition:
    """Contiguous blocks of the neuron order, one per partition."""

    bounds: tuple

    @property
    def n_partitions(self) -> int:
        return len(self.bounds) - 1

    def sizes(self) -> list[int]:
        return [b - a for a, b in zip(self.bounds, self.bounds[1:])]

    def owned(self, p: int) -> tuple[int, int]:
        """(start, stop) positions in the neuron order owned by partition ``p``."""
        return self.bounds[p], self.bounds[p + 1]

    @classmethod
    def from_partitions(cls, partitions, n_neurons: int) -> "Decomposition":
        """A balanced split into ``partitions`` blocks, or explicit block sizes."""
        if isinstance(partitions, numbers.Integral) and not isinstance(partitions, bool):
            P = int(partitions)
            if not 1 <= P <= n_neurons:
                raise ValueError(f"build: partitions must be between 1 and the number of neurons "
                                 f"({n_neurons}), got {P}")
            base, extra = divmod(n_neurons, P)
            sizes = [base + (1 if p < extra else 0) for p in range(P)]
        else:
            try:
                sizes = list(partitions)
            except TypeError:
                raise TypeError(f"build: partitions must be an int or a list of partition sizes, "
                                f"got {partitions!r}") from None
            if not sizes or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
                raise ValueError(f"build: partition sizes must be whole numbers >= 1, got {partitions!r}")
            if sum(sizes) != n_neurons:
                raise ValueError(f"build: partition sizes must add up to the number of neurons "
                                 f"({n_neurons}), got {sum(sizes)}")
        bounds = [0]
        for s in sizes:
            bounds.append(bounds[-1] + int(s))
        return cls(tuple(bounds))

    def __repr__(self) -> str:
        return f"<dsnn.Decomposition: {self.n_partitions} partitions, sizes {self.sizes()}>"
