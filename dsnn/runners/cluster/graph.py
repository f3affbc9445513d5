"""Construction on a Dask cluster: two tasks per partition, pinned to its worker.

The graph (keys carry the build's token; the dashboard shows the prefixes):

- ``dsnn-build-<p>``: build partition p's neurons and incoming synapses on
  p's worker (:func:`dsnn.construction.build.build_partition`); the result
  stays there;
- ``dsnn-actor-<p>``: the :class:`~.actor.PartitionActor` on p's worker,
  made from the partition already there: it works out what p needs from
  each owner (its images) and loads its kernels.

Both take one :class:`Directory` (the decomposition, the partitions'
workers, the build's token, the channels' scheme), scattered once to one
worker with the network description: the tasks fetch them from there, so
what the client sends grows as P, not P x P. Then the actors set up their
channels among themselves, actor to actor over the workers' RPC, the
client calling each actor a constant number of times: each listens, tells
the partitions it receives from its address and, for p2p, which of their
neurons it needs with its slots for them (the image handshake: each owner
makes its send maps from what it hears), and connects to those it sends
to. With collective exchange there are no send maps: each receiver filters
the all-gathered spikes through its own image table. No synapse array
leaves the worker that built it; only id lists cross between workers.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

from ...backends import gpu
from ...construction.build import build_partition
from ...exchange import shm
from ...exchange.framing import SECRET_BYTES
from .actor import PartitionActor
from .workers import host_of, wait_for

__all__ = ["run_graph", "Directory", "channel_scheme", "SHARED_MEMORY_KEY", "MPI_KEY"]

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
    else TCP. UCX comms keep UCX. A TLS cluster's channels follow the same order, TCP being TCP with TLS
    under the cluster's own certificates (``tls``)."""
    import dask

    scheme = workers[0].split("://")[0]
    if scheme not in ("tcp", "tls"):
        return scheme
    one_host = len({host_of(w) for w in workers}) == 1
    if one_host and shm.available() and dask.config.get(SHARED_MEMORY_KEY, True):
        return "shm"  # with tls too: nothing leaves the host, and only this user can map the files
    if (mpi_ranks and dask.config.get(MPI_KEY, True) and len(set(workers)) == len(workers)
            and all(mpi_ranks.get(w) is not None for w in workers)
            and len({mpi_ranks[w] for w in workers}) == len(workers)):
        return "mpi"
    return scheme


# --------------------------------------------------------------- what every partition shares
@dataclass(frozen=True)
class Directory:
    """What every partition of one build knows about all of them, O(P) in size: scattered once to one
    worker, from which the build and actor tasks fetch it (so nothing of size P x P leaves the client).

    ``workers``: the worker address of each partition; ``token``: the build's token (an actor's key is
    ``dsnn-actor-<p>-<token>``); ``scheme``: the channels' scheme; ``world_ranks``: each partition's MPI
    rank where the channels are MPI's, else None; ``secret``: random bytes made for this build, which every
    channel connection must present (a stranger reaching a partition's port is dropped)."""

    decomposition: object
    workers: tuple
    token: str
    scheme: str
    world_ranks: tuple | None = None
    secret: bytes = b""  # what every channel connection of this build must present

    def actor(self, p: int) -> tuple:
        """(worker address, actor key) of partition ``p``'s actor."""
        return self.workers[p], f"dsnn-actor-{p}-{self.token}"

    def on_host(self, p: int) -> int:
        """Partitions on the host of partition ``p``."""
        host = host_of(self.workers[p])
        return sum(host_of(w) == host for w in self.workers)

    def on_worker(self, p: int) -> int:
        """Partitions on the worker of partition ``p``."""
        return self.workers.count(self.workers[p])


# --------------------------------------------------------------- worker side
def _build_task(net, directory: Directory, p: int, device: str):
    part = build_partition(net, directory.decomposition, p)
    if device == "gpu" or (device == "auto" and gpu.available()):
        part.to_gpu()
    return part


# --------------------------------------------------------------- client side
def run_graph(client, workers: list, net, decomposition, exchange: str, device: str, timeout: float,
              ranks: dict, build_timeout: float = 3600.0):
    """Run the construction graph on ``workers`` (the worker of each partition; ``ranks``: each worker's MPI
    rank or None, :func:`dsnn.exchange.mpi.world_rank`); returns (actors by partition, build info: the
    token, ``pairs``, the ordered pairs of partitions where one needs neurons of the other, and
    ``phases_s``, the seconds of the tasks and of the actors' handshake)."""
    P = decomposition.n_partitions
    token = uuid.uuid4().hex[:8]
    t0 = time.perf_counter()
    scheme = channel_scheme(workers, ranks)
    world = tuple(ranks[w] for w in workers) if scheme == "mpi" else None
    directory = Directory(decomposition, tuple(workers), token, scheme, world, secrets.token_bytes(SECRET_BYTES))
    shared = client.scatter({f"dsnn-network-{token}": net, f"dsnn-directory-{token}": directory},
                            workers=[workers[0]], hash=False)
    net_f, dir_f = shared[f"dsnn-network-{token}"], shared[f"dsnn-directory-{token}"]

    def submit(fn, *args, key, p, **kw):
        return client.submit(fn, *args, key=f"{key}-{token}", workers=[workers[p]],
                             allow_other_workers=False, pure=False, **kw)

    parts = {p: submit(_build_task, net_f, dir_f, p, device, key=f"dsnn-build-{p}", p=p) for p in range(P)}
    actors = {p: submit(PartitionActor, parts[p], dir_f, p, exchange, timeout, key=f"dsnn-actor-{p}", p=p,
                        actor=True) for p in range(P)}
    actors = [f.result() for _, f in sorted(wait_for(client, actors, workers, "construction", build_timeout).items())]
    del shared, net_f, dir_f  # the workers may let go of them
    t1 = time.perf_counter()
    # every partition listens, tells the partitions it receives from its address (and, for p2p, what it
    # needs from them), and connects to those it sends to: actor to actor, O(1) per call from the client
    _actor_results([a.open() for a in actors], "opening the channels", timeout)
    owners = _actor_results([a.introduce() for a in actors], "the image handshake", timeout)
    _actor_results([a.connect() for a in actors], "connecting the channels", timeout)
    phases = {"tasks": t1 - t0, "handshake": time.perf_counter() - t1}
    return actors, {"token": token, "pairs": sum(owners), "phases_s": phases}


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
