"""Construction on a Dask cluster: one task per partition, pinned to its worker.

The graph (keys carry the build's token; the dashboard shows the prefixes):

- ``dsnn-build-<p>``: build partition p's neurons and incoming synapses on
  worker p (:func:`dsnn.build.build_partition`); the result stays there;
- ``dsnn-needs-<p>``: what p needs from each owner, ``{q: (gids, p's slots)}``;
  only the counts travel to the client, which learns the neighbour graph;
- ``dsnn-need-<p>-<q>``: the piece of p's needs owned by q (run on p's worker);
- ``dsnn-sendmap-<q>``: q's send maps, from the pieces that name it (these
  small id arrays are all that crosses between workers);
- ``dsnn-actor-<p>``: the :class:`~dsnn.actor.PartitionActor` on worker p,
  built from the partition and send maps already there.

No synapse array leaves the worker that built it.
"""

from __future__ import annotations

import time
import uuid

import numpy as np

from .build import build_partition, owned_pieces
from .exchange import needs_by_owner, send_map

__all__ = ["build_on_cluster", "partition_workers", "worker_addresses"]


def worker_addresses(client) -> set:
    """Addresses of the workers the scheduler knows now.

    Asks the scheduler directly: ``Client.scheduler_info()`` returns a cached
    identity that a background refresh may replace by one without workers.
    """
    return set(client.sync(client.scheduler.identity, n_workers=-1)["workers"])


def partition_workers(client, n_partitions: int) -> list:
    """The worker address of each partition: one partition per worker, in address order.

    Raises ValueError if the cluster has fewer workers than partitions.
    """
    workers = sorted(worker_addresses(client))
    if n_partitions > len(workers):
        raise ValueError(f"build: partitions ({n_partitions}) must not exceed the cluster's workers "
                         f"({len(workers)}); start more workers or build fewer partitions")
    return workers[:n_partitions]


# --------------------------------------------------------------- worker side
def _build_task(net, decomposition, p: int, device: str):
    from . import gpu

    part = build_partition(net, decomposition, p)
    if device == "gpu" or (device == "auto" and gpu.available()):
        part.to_gpu()
    return part


def _needs_task(part, first_gids):
    return needs_by_owner(part.image_gids, part.n_local, np.asarray(first_gids))


def _need_counts(needs: dict) -> dict:
    return {q: int(g.shape[0]) for q, (g, _) in needs.items()}


def _need_piece(needs: dict, q: int):
    return needs[q]


def _send_map_task(part, pieces: dict):
    return [send_map(part.local_gids, p, gids, slots) for p, (gids, slots) in sorted(pieces.items())]


# --------------------------------------------------------------- client side
def _wait(client, futures: dict, workers: list, what: str, timeout: float):
    """Results of ``{partition: future}``, raising if a partition's worker leaves or a task fails."""
    from distributed import wait

    pending = dict(futures)
    results = {}
    deadline = time.monotonic() + timeout
    while pending:
        try:
            done, _ = wait(list(pending.values()), timeout=0.5, return_when="FIRST_COMPLETED")
        except TimeoutError:  # distributed.wait raises instead of returning nothing done
            done = set()
        for p, f in list(pending.items()):
            if f in done:
                if f.status == "error":
                    raise RuntimeError(f"build: {what} of partition {p} failed: {f.exception()!r}")
                results[p] = f
                del pending[p]
        if pending:
            alive = worker_addresses(client)
            lost = sorted(p for p in pending if workers[p] not in alive)
            if lost:
                raise RuntimeError(f"build: lost partition {lost[0]}: its worker {workers[lost[0]]} left the "
                                   f"cluster during {what}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"build: {what} of partitions {sorted(pending)} did not finish in {timeout:g} s")
    return results


def build_on_cluster(client, net, decomposition, exchange: str, device: str, timeout: float,
                     build_timeout: float = 3600.0):
    """Run the construction graph; returns (actors by partition, worker addresses, build info)."""
    from .actor import PartitionActor

    P = decomposition.n_partitions
    workers = partition_workers(client, P)
    token = uuid.uuid4().hex[:8]
    first_gids = [owned_pieces(net, decomposition, p)[0][1] for p in range(P)]

    def submit(fn, *args, key, p, **kw):
        return client.submit(fn, *args, key=f"{key}-{token}", workers=[workers[p]],
                             allow_other_workers=False, pure=False, **kw)

    parts = {p: submit(_build_task, net, decomposition, p, device, key=f"dsnn-build-{p}", p=p) for p in range(P)}
    needs = {p: submit(_needs_task, parts[p], first_gids, key=f"dsnn-needs-{p}", p=p) for p in range(P)}
    counts = {p: submit(_need_counts, needs[p], key=f"dsnn-needcount-{p}", p=p) for p in range(P)}
    counts = {p: f.result() for p, f in _wait(client, counts, workers, "construction", build_timeout).items()}

    # send maps: q gets from each p only the piece of p's needs that q owns
    receivers_of = {q: sorted(p for p in range(P) if counts[p].get(q, 0) > 0) for q in range(P)}
    pieces = {(p, q): submit(_need_piece, needs[p], q, key=f"dsnn-need-{p}-{q}", p=p)
              for q in range(P) for p in receivers_of[q]}
    maps = {}
    for q in range(P):
        mine = {p: pieces[(p, q)] for p in receivers_of[q]}
        maps[q] = submit(_send_map_task, parts[q], mine, key=f"dsnn-sendmap-{q}", p=q)
    _wait(client, maps, workers, "the image handshake", timeout)

    actors = {}
    for p in range(P):
        plan = {"rank": p, "n_partitions": P, "exchange": exchange, "timeout": timeout,
                "in_peers": sorted(q for q in range(P) if counts[p].get(q, 0) > 0),
                "partitions_on_host": sum(_host(w) == _host(workers[p]) for w in workers)}
        actors[p] = submit(PartitionActor, parts[p], maps[p], plan, key=f"dsnn-actor-{p}", p=p, actor=True)
    actors = [f.result() for _, f in sorted(_wait(client, actors, workers, "actor creation", timeout).items())]

    scheme = workers[0].split("://")[0]
    addresses = [a.open(f"{scheme}://{_host(w)}:0") for a, w in zip(actors, workers)]
    addresses = [f.result() for f in addresses]
    for f in [a.connect(addresses) for a in actors]:
        f.result()
    del parts, needs, pieces, maps  # the actors hold the state now
    return actors, workers, {"token": token, "need_counts": counts}


def _host(address: str) -> str:
    """The host part of ``proto://host:port`` (IPv6 hosts keep their brackets)."""
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0]
