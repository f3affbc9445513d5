"""Construction on a Dask cluster: one task per partition, pinned to its worker.

The graph (keys carry the build's token; the dashboard shows the prefixes):

- ``dsnn-build-<p>``: build partition p's neurons and incoming synapses on
  p's worker (:func:`dsnn.construction.build.build_partition`); the result
  stays there;
- ``dsnn-needs-<p>``: what p needs from each owner, ``{q: (gids, p's slots)}``;
  only the counts travel to the client, which learns the neighbour graph;
- p2p only: ``dsnn-need-<p>-<q>``, the piece of p's needs owned by q (run
  on p's worker), and ``dsnn-sendmap-<q>``, q's send maps from the pieces
  that name it (these small id arrays are all that crosses between
  workers);
- ``dsnn-actor-<p>``: the :class:`~.actor.PartitionActor` on p's worker, built
  from the partition and send maps already there (its kernels are loaded
  when it is created).

No synapse array leaves the worker that built it.
"""

from __future__ import annotations

import uuid

from ...backends import gpu
from ...construction.build import build_partition
from ...exchange import mpi, shm
from ..handshake import needs_of, send_maps_of
from .actor import PartitionActor
from .workers import host_of, wait_for

__all__ = ["run_graph", "channel_scheme", "SHARED_MEMORY_KEY", "MPI_KEY"]

#: Dask config key: False keeps TCP channels between the workers of one host (e.g. containers that do not
#: share /dev/shm); default True
SHARED_MEMORY_KEY = "dsnn.shared-memory"

#: Dask config key: False keeps the other channels where the workers are MPI ranks; default True
MPI_KEY = "dsnn.mpi-channels"


def channel_scheme(workers: list, mpi_ranks: dict | None = None) -> str:
    """The channels between partitions where the Dask comms are TCP: shared memory where every worker is
    on one host (MPI is no faster there: the microcircuit 0.1 under ``mpiexec -n 4``, collective, 1.4-1.6 s
    per simulated second over shm, 1.5-2.3 s over MPI); else MPI where every partition's worker is an MPI
    rank of its own (``mpi_ranks``:
    worker address -> world rank or None, see :func:`dsnn.exchange.mpi.world_rank`: a dask-mpi launch);
    else TCP. UCX comms keep UCX."""
    import dask

    scheme = workers[0].split("://")[0]
    if scheme != "tcp":
        return scheme
    one_host = len({host_of(w) for w in workers}) == 1
    if one_host and shm.available() and dask.config.get(SHARED_MEMORY_KEY, True):
        return "shm"
    if (mpi_ranks and dask.config.get(MPI_KEY, True) and len(set(workers)) == len(workers)
            and all(mpi_ranks.get(w) is not None for w in workers)
            and len({mpi_ranks[w] for w in workers}) == len(workers)):
        return "mpi"
    return scheme


# --------------------------------------------------------------- worker side
def _build_task(net, decomposition, p: int, device: str):
    part = build_partition(net, decomposition, p)
    if device == "gpu" or (device == "auto" and gpu.available()):
        part.to_gpu()
    return part


def _need_counts(needs: dict) -> dict:
    return {q: int(g.shape[0]) for q, (g, _) in needs.items()}


def _need_piece(needs: dict, q: int):
    return needs[q]


# --------------------------------------------------------------- client side
def run_graph(client, workers: list, net, decomposition, exchange: str, device: str, timeout: float,
              build_timeout: float = 3600.0):
    """Run the construction graph on ``workers`` (one per partition); returns (actors by partition, build
    info)."""
    P = decomposition.n_partitions
    token = uuid.uuid4().hex[:8]

    def submit(fn, *args, key, p, **kw):
        return client.submit(fn, *args, key=f"{key}-{token}", workers=[workers[p]],
                             allow_other_workers=False, pure=False, **kw)

    parts = {p: submit(_build_task, net, decomposition, p, device, key=f"dsnn-build-{p}", p=p) for p in range(P)}
    needs = {p: submit(needs_of, parts[p], decomposition, key=f"dsnn-needs-{p}", p=p) for p in range(P)}
    counts = {p: submit(_need_counts, needs[p], key=f"dsnn-needcount-{p}", p=p) for p in range(P)}
    counts = {p: f.result() for p, f in wait_for(client, counts, workers, "construction", build_timeout).items()}

    maps = {}
    if exchange == "p2p":  # send maps: q gets from each p only the piece of p's needs that q owns
        receivers_of = {q: sorted(p for p in range(P) if counts[p].get(q, 0) > 0) for q in range(P)}
        pieces = {(p, q): submit(_need_piece, needs[p], q, key=f"dsnn-need-{p}-{q}", p=p)
                  for q in range(P) for p in receivers_of[q]}
        for q in range(P):
            mine = {p: pieces[(p, q)] for p in receivers_of[q]}
            maps[q] = submit(send_maps_of, parts[q], mine, key=f"dsnn-sendmap-{q}", p=q)
        wait_for(client, maps, workers, "the image handshake", timeout)

    actors = {}
    for p in range(P):
        plan = {"rank": p, "n_partitions": P, "exchange": exchange, "timeout": timeout,
                "in_peers": sorted(q for q in range(P) if counts[p].get(q, 0) > 0),
                "partitions_on_host": sum(host_of(w) == host_of(workers[p]) for w in workers),
                "partitions_on_worker": workers.count(workers[p])}
        actors[p] = submit(PartitionActor, parts[p], maps.get(p), plan, key=f"dsnn-actor-{p}", p=p, actor=True)
    actors = [f.result() for _, f in sorted(wait_for(client, actors, workers, "actor creation", build_timeout).items())]

    scheme = channel_scheme(workers, client.run(mpi.world_rank, workers=sorted(set(workers))))
    addresses = [f.result() for f in [a.open(f"{scheme}://{host_of(w)}:0") for a, w in zip(actors, workers)]]
    for f in [a.connect(addresses) for a in actors]:
        f.result()
    return actors, {"token": token, "need_counts": counts}
