"""What a partition will hold, estimated from the network description before anything is drawn.

:func:`partition_bytes` predicts, for each partition, the bytes of the
arrays :meth:`dsnn.backends.partition.Partition.nbytes` counts once it is built:
synapses (expected counts of each rule onto the owned targets, times the
packed word of 2, 3, 4 or 8 bytes, plus a float32 per synapse where weights
are random, plus row pointers), neuron state, ring buffers and generator
input. :func:`check_fits` refuses a network whose estimate does not fit in
the memory where its partitions will live, before any work starts.

Random delays without an upper bound are taken to reach
``DELAY_SPAN_STEPS`` steps above their lower end for the word width and the
ring buffers; expected synapse counts of random rules are their means.
"""

from __future__ import annotations

import math

from .synapses import target_ranges

__all__ = ["partition_bytes", "one_partition_bytes", "expected_synapses", "check_fits", "host_available_bytes",
           "PEAK_FACTOR", "RESERVE_BYTES"]

#: construction peak over what is kept (tests/test_build.py holds it under 1.5)
PEAK_FACTOR = 1.2
#: interpreter, libraries and one chunk of construction temporaries, per process or worker
RESERVE_BYTES = 400 * 2**20
#: assumed span (steps) of a random delay with no upper bound
DELAY_SPAN_STEPS = 128
#: bytes per neuron besides the rings: state (<= 6 float64), I0, refractory count, gid
NEURON_BYTES = 72
#: bytes per generator connection (PoissonInput / CurrentInput arrays)
INPUT_BYTES = 40


def _expected_synapses(proj, n_targets: int) -> float:
    """Mean number of synapses of ``proj`` onto ``n_targets`` of its targets."""
    return proj.rule.expected_indegree(proj.pre.n, proj.post.n) * n_targets


def _word_bytes(bits: int) -> int:
    return 2 if bits <= 16 else 3 if bits <= 24 else 4 if bits <= 32 else 8


def partition_bytes(net, decomposition) -> list[dict]:
    """Per partition: expected ``synapses`` (count) and ``bytes`` (total), with a breakdown by kind."""
    return [one_partition_bytes(net, decomposition, p) for p in range(decomposition.n_partitions)]


def expected_synapses(proj, pieces) -> float:
    """Mean number of synapses of ``proj`` onto the targets of ``pieces`` (a partition's populations)."""
    return _expected_synapses(proj, sum(t_hi - t_lo for _, t_lo, t_hi in target_ranges(proj, pieces)))


def one_partition_bytes(net, decomposition, p: int) -> dict:
    """:func:`partition_bytes` of partition ``p`` alone."""
    interval = net.min_delay_steps
    pieces = decomposition.populations_of(net, p)
    n_local = sum(g1 - g0 for _, g0, g1 in pieces)
    target_bits = max(1, (n_local - 1).bit_length())
    synapses = syn_bytes = inputs = 0.0
    max_delay = interval
    logged = False  # synapses of several delays: the partition keeps a delivery log beside its ring
    for proj in net.projections:
        if proj.kind not in ("synapse", "poisson", "current"):
            continue
        n = expected_synapses(proj, pieces)
        if n == 0:
            continue
        lo, hi = proj.delay_range_steps
        hi = lo + DELAY_SPAN_STEPS if math.isinf(hi) else hi
        max_delay = max(max_delay, int(hi))
        if proj.kind != "synapse":
            inputs += INPUT_BYTES * n
            continue
        per = _word_bytes(target_bits + int(hi - lo).bit_length())
        if proj.plastic:  # a float64 weight per synapse; per source: traces (K+ or x, u) and last spike time
            per += 8
            syn_bytes += 24 * proj.pre.n
        elif not isinstance(proj.weight, (int, float)):
            per += 4
        synapses += n
        syn_bytes += per * n + 4 * (n_local + proj.pre.n)  # words, weights, row pointers
        logged = logged or hi > lo
    R = interval + max_delay + 1
    from ..backends.partition import LOG_FIRST_CAPACITY

    rings = 24 * R * n_local + (8 * LOG_FIRST_CAPACITY * R if logged else 0)
    neurons = NEURON_BYTES * n_local
    return {"synapses": synapses, "synapse_bytes": syn_bytes, "rings": rings, "neurons": neurons,
            "inputs": inputs, "bytes": syn_bytes + rings + neurons + inputs}


def check_fits(estimates: list[dict], available: list[float], where: list[str]) -> None:
    """Raise MemoryError if a partition's estimated construction peak exceeds its memory.

    ``available[p]`` is the memory (bytes) partition ``p`` may use and
    ``where[p]`` names it in the message (several partitions may share one).
    """
    by_place: dict = {}
    for p, w in enumerate(where):
        by_place.setdefault(w, []).append(p)
    for w, parts in by_place.items():
        total = PEAK_FACTOR * sum(estimates[p]["bytes"] for p in parts) + RESERVE_BYTES
        avail = available[parts[0]]
        if total > avail:
            e = estimates[parts[0]]
            per_syn = e["synapse_bytes"] / e["synapses"] if e["synapses"] else 0.0
            raise MemoryError(
                f"build: the network needs an estimated {total / 2**30:.2f} GiB on {w} "
                f"(partition{'s' if len(parts) > 1 else ''} {', '.join(map(str, parts))}: "
                f"{sum(estimates[p]['synapses'] for p in parts):.3g} synapses at {per_syn:.1f} bytes each, "
                f"{sum(estimates[p]['rings'] for p in parts) / 2**30:.2f} GiB of ring buffers, "
                f"x{PEAK_FACTOR} for the construction peak, plus {RESERVE_BYTES / 2**20:.0f} MiB), "
                f"more than the {avail / 2**30:.2f} GiB it has; build on more partitions and workers, "
                "or a smaller network")


def host_available_bytes() -> float:
    """Memory this process may still use: the host's available memory (psutil)."""
    import psutil

    return float(psutil.virtual_memory().available)
