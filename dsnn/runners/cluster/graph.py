"""Construction on a Dask cluster: two tasks per partition, pinned to its worker.

The graph (keys carry the build's token; the dashboard shows the prefixes):

- ``dsnn-build-<p>``: build partition p's neurons and incoming synapses on
  p's worker (:func:`dsnn.construction.build.build_partition`); the result
  stays there;
- ``dsnn-actor-<p>``: the :class:`~.actor.PartitionActor` on p's worker,
  made from the partition already there: it works out what p needs from
  each owner (its images) and loads its kernels.

Then, for p2p, the image handshake runs actor to actor, no task per pair:
each actor sends every owner it needs the ids it needs and its slots for
them, and each owner makes its send maps. The client learns only how many
neurons each partition needs from each owner (the neighbour graph), and
hands each actor the handles of the owners it needs. No synapse array
leaves the worker that built it; only these id lists cross between workers.
"""

from __future__ import annotations

import uuid

from ...backends import gpu
from ...construction.build import build_partition
from ...exchange import mpi, shm
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


# --------------------------------------------------------------- client side
def run_graph(client, workers: list, net, decomposition, exchange: str, device: str, timeout: float,
              build_timeout: float = 3600.0):
    """Run the construction graph on ``workers`` (the worker of each partition); returns (actors by
    partition, build info)."""
    P = decomposition.n_partitions
    token = uuid.uuid4().hex[:8]

    def submit(fn, *args, key, p, **kw):
        return client.submit(fn, *args, key=f"{key}-{token}", workers=[workers[p]],
                             allow_other_workers=False, pure=False, **kw)

    parts = {p: submit(_build_task, net, decomposition, p, device, key=f"dsnn-build-{p}", p=p) for p in range(P)}
    actors = {}
    for p in range(P):
        plan = {"rank": p, "n_partitions": P, "exchange": exchange, "timeout": timeout,
                "partitions_on_host": sum(host_of(w) == host_of(workers[p]) for w in workers),
                "partitions_on_worker": workers.count(workers[p])}
        actors[p] = submit(PartitionActor, parts[p], decomposition, plan, key=f"dsnn-actor-{p}", p=p, actor=True)
    actors = [f.result() for _, f in sorted(wait_for(client, actors, workers, "construction", build_timeout).items())]
    counts = dict(enumerate(_actor_results([a.need_counts() for a in actors], "the image handshake", timeout)))

    if exchange == "p2p":  # each actor tells the owners it needs; the owners make their send maps
        _actor_results([a.send_needs({q: (workers[q], actors[q].key) for q in sorted(counts[p]) if counts[p][q] > 0})
                        for p, a in enumerate(actors)], "the image handshake", timeout)
        _actor_results([a.make_send_maps() for a in actors], "the image handshake", timeout)

    scheme = channel_scheme(workers, client.run(mpi.world_rank, workers=sorted(set(workers))))
    addresses = [f.result() for f in [a.open(f"{scheme}://{host_of(w)}:0") for a, w in zip(actors, workers)]]
    for f in [a.connect(addresses) for a in actors]:
        f.result()
    return actors, {"token": token, "need_counts": counts}


def _actor_results(futures: list, what: str, timeout: float) -> list:
    """The results of one call on every actor (by partition), raising one that names the partition whose
    call failed."""
    out = []
    for p, f in enumerate(futures):
        try:
            out.append(f.result(timeout=timeout))
        except Exception as exc:
            raise RuntimeError(f"build: {what} of partition {p} failed: {exc!r}") from exc
    return out
