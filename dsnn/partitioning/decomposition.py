"""Who owns which neurons: a decomposition describes, it builds nothing.

Neurons are ordered by gid (devices skipped); partition ``p`` owns the
neurons at positions ``bounds[p] .. bounds[p+1]-1`` of that order, so each
partition owns an increasing run of gids and the owner of a gid is found
by bisecting the partitions' first gids (:meth:`Decomposition.owner`, the
one place that rule lives). Stimulation devices are replicated on every
partition.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..description.populations import Collection, Population

__all__ = ["Decomposition", "balanced_sizes", "neuron_work", "PLASTIC_WORK", "NEURON_WORK", "INPUT_WORK"]

#: the work of a plastic synapse per event relative to a static one (stdp_pl_synapse_hom in the plastic
#: hpc_benchmark, twelfth/thirteenth sessions: ~18-20 ns per event against ~5 ns for static synapses)
PLASTIC_WORK = 4.0
#: a neuron's own update and a generator input (a Poisson train drawn each step), in static synaptic
#: events: ~2-3 ns per neuron-step against ~5 ns per event, at 0.1 ms steps and ~10 spikes/s
INPUT_WORK = NEURON_WORK = 200.0


@dataclass(frozen=True)
class Decomposition:
    """Contiguous blocks of the neuron order, one per partition.

    ``bounds`` are positions in the neuron order; ``pieces[p]`` lists, for
    partition ``p``, ``(population index, first gid, stop gid)`` of each
    piece of a population it owns, in gid order.
    """

    bounds: tuple
    pieces: tuple

    @property
    def n_partitions(self) -> int:
        return len(self.bounds) - 1

    def sizes(self) -> list[int]:
        return [b - a for a, b in zip(self.bounds, self.bounds[1:])]

    def owned(self, p: int) -> tuple[int, int]:
        """(start, stop) positions in the neuron order owned by partition ``p``."""
        return self.bounds[p], self.bounds[p + 1]

    @property
    def first_gids(self) -> np.ndarray:
        """The first gid each partition owns (int64, increasing)."""
        return np.array([pieces[0][1] for pieces in self.pieces], dtype=np.int64)

    def owner(self, gids) -> np.ndarray:
        """The partition owning each neuron gid of ``gids`` (int64 array)."""
        return np.searchsorted(self.first_gids, gids, side="right") - 1

    def local_gids(self, p: int) -> np.ndarray:
        """The gids partition ``p`` owns (int64, sorted)."""
        return np.concatenate([np.arange(g0, g1, dtype=np.int64) for _, g0, g1 in self.pieces[p]])

    def populations_of(self, net, p: int) -> list:
        """``(population, first gid, stop gid)`` of each piece partition ``p`` owns (``net``'s populations)."""
        return [(net.populations[i], g0, g1) for i, g0, g1 in self.pieces[p]]

    @classmethod
    def of(cls, net, partitions) -> "Decomposition":
        """The decomposition of ``net``'s neurons that ``partitions`` asks for (see ``Network.build``):
        a number of near-equal blocks, the size of each block (:func:`balanced_sizes` gives sizes of equal
        expected work), or the populations of each partition."""
        if net.n_neurons == 0:
            raise ValueError("build: the network has no neurons; create some with net.create('iaf_psc_exp', n)")
        bounds = _bounds(_placement_sizes(net, partitions), net.n_neurons)
        return cls(tuple(bounds), tuple(_pieces(net, a, b) for a, b in zip(bounds, bounds[1:])))

    def __repr__(self) -> str:
        return f"<dsnn.Decomposition: {self.n_partitions} partitions, sizes {self.sizes()}>"


def _pieces(net, a: int, b: int) -> tuple:
    """(population index, first gid, stop gid) of the neurons at positions a .. b-1 of the neuron order."""
    pieces, offset = [], 0
    for pop in net.neuron_populations:
        lo, hi = max(a, offset), min(b, offset + pop.n)
        if lo < hi:
            pieces.append((pop.index, pop.first + lo - offset, pop.first + hi - offset))
        offset += pop.n
    return tuple(pieces)


def _bounds(partitions, n_neurons: int) -> list[int]:
    """Block bounds of a balanced split into ``partitions`` blocks, or of explicit block sizes."""
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
    return bounds


def _placement_sizes(net, partitions):
    """Partition sizes of an explicit placement (lists of populations); other forms unchanged."""
    if isinstance(partitions, (str, bytes)) or not hasattr(partitions, "__iter__"):
        return partitions
    groups = list(partitions)
    if not any(isinstance(g, (Population, Collection)) or (hasattr(g, "__iter__") and not isinstance(g, (str, bytes)))
               for g in groups):
        return groups
    position = _positions(net)
    sizes, expected = [], 0
    for i, group in enumerate(groups):
        if isinstance(group, (Population, Collection)):
            members = list(group.pieces)
        elif hasattr(group, "__iter__"):
            members = [p for m in group for p in (m.pieces if isinstance(m, (Population, Collection)) else [m])]
        else:
            members = None
        if not members or not all(isinstance(m, Population) for m in members):
            raise TypeError(f"build: partitions[{i}] must be a population or a list of populations, "
                            f"got {group!r}")
        size = 0
        for m in members:
            if m.network is not net or not m.spec.is_neuron:
                raise ValueError(f"build: partitions[{i}] holds {m!r}, which is not a neuron population "
                                 "of this network")
            start = position[m.root.first] + (m.first - m.root.first)
            if start != expected:
                raise ValueError(f"build: the placement must cover the neurons in the order they were "
                                 f"created, each once; partitions[{i}] has {m!r} where neuron "
                                 f"{expected} of {net.n_neurons} comes next")
            expected += m.n
            size += m.n
        sizes.append(size)
    if expected != net.n_neurons:
        raise ValueError(f"build: the placement covers {expected} of the {net.n_neurons} neurons; "
                         "every neuron population must be placed")
    return sizes


def _positions(net) -> dict:
    """First gid of each neuron population -> its position in the neuron order."""
    position, offset = {}, 0
    for pop in net.neuron_populations:
        position[pop.first] = offset
        offset += pop.n
    return position


def neuron_work(net) -> list[tuple[int, int, float]]:
    """``(start, stop, work)`` runs of the neuron order: the expected work of each neuron per step, in
    static synaptic events: :data:`NEURON_WORK`, plus its expected in-degree from every projection of
    spikes (times :data:`PLASTIC_WORK` where the synapses are plastic), plus :data:`INPUT_WORK` per
    generator input. Firing rates are not known before the run, so every source counts alike."""
    position = _positions(net)
    edges = {0: 0.0, net.n_neurons: 0.0}  # position -> change of the work per neuron there
    for proj in net.projections:
        if proj.kind == "synapse":
            per_target = proj.rule.expected_indegree(proj.pre.n, proj.post.n)
            per_target *= PLASTIC_WORK if proj.plastic else 1.0
        elif proj.kind in ("poisson", "current"):
            per_target = INPUT_WORK * proj.rule.expected_indegree(proj.pre.n, proj.post.n)
        else:
            continue
        for m in proj.post.pieces:
            if not m.spec.is_neuron:
                continue
            start = position[m.root.first] + (m.first - m.root.first)
            edges[start] = edges.get(start, 0.0) + per_target
            edges[start + m.n] = edges.get(start + m.n, 0.0) - per_target
    runs, work = [], NEURON_WORK
    at = sorted(edges)
    for a, b in zip(at, at[1:]):
        work += edges[a]
        runs.append((a, b, work))
    return runs


def balanced_sizes(net, partitions: int) -> list[int]:
    """Sizes of ``partitions`` blocks of the neuron order with near-equal expected work
    (:func:`neuron_work`), for ``net.build(partitions=...)``: where populations differ in in-degree or
    plasticity, equal numbers of neurons leave some partitions waiting for the others every interval."""
    if isinstance(partitions, bool) or not isinstance(partitions, numbers.Integral):
        raise TypeError(f"balanced_sizes: partitions must be an int, got {partitions!r}")
    P, n = int(partitions), net.n_neurons
    if not 1 <= P <= n:
        raise ValueError(f"balanced_sizes: partitions must be between 1 and the number of neurons ({n}), got {P}")
    runs = neuron_work(net)
    total = sum((b - a) * w for a, b, w in runs)
    bounds, done, k = [0], 0.0, 1
    for a, b, w in runs:
        while k < P and done + (b - a) * w >= total * k / P:
            bounds.append(a + int(round((total * k / P - done) / w)))
            k += 1
        done += (b - a) * w
    bounds += [n] * (P + 1 - len(bounds))
    for i in range(1, P + 1):  # at least one neuron each, in order
        bounds[i] = max(bounds[i], bounds[i - 1] + 1)
    for i in range(P - 1, 0, -1):
        bounds[i] = min(bounds[i], bounds[i + 1] - 1)
    return [b - a for a, b in zip(bounds, bounds[1:])]
