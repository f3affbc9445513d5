"""The workers of a Dask cluster as dsnn sees them: their addresses, hosts and memory, and waiting for
tasks on them while watching that none leaves."""

from __future__ import annotations

import time

__all__ = ["worker_addresses", "partition_workers", "host_of", "worker_available_bytes", "wait_for"]


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


def host_of(address: str) -> str:
    """The host part of ``proto://host:port`` (IPv6 hosts keep their brackets)."""
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0]


def worker_available_bytes(dask_worker=None) -> tuple:
    """(bytes, place): the memory a Dask worker may still use, and what holds that memory.

    A worker with a memory limit has its limit less what it holds (at most
    the host's available memory), its own place; a worker without one shares
    its host's available memory with the other unlimited workers there.
    """
    import socket

    import psutil

    limit = getattr(getattr(dask_worker, "memory_manager", None), "memory_limit", None)
    host = float(psutil.virtual_memory().available)
    if limit:
        return min(limit - psutil.Process().memory_info().rss, host), f"worker {dask_worker.address}"
    return host, f"host {socket.gethostname()} (workers without a memory limit)"


def wait_for(client, futures: dict, workers: list, what: str, timeout: float) -> dict:
    """``{partition: future}`` once all are done, raising if a partition's worker leaves or a task fails."""
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
