"""The workers of a Dask cluster as dsnn sees them: their addresses, hosts and memory, and waiting for
tasks on them while watching that none leaves."""

from __future__ import annotations

import time

__all__ = ["worker_addresses", "worker_threads", "partition_workers", "host_of", "worker_available_bytes", "wait_for"]


def worker_addresses(client) -> set:
    """Addresses of the workers the scheduler knows now.

    Asks the scheduler directly: ``Client.scheduler_info()`` returns a cached
    identity that a background refresh may replace by one without workers.
    """
    return set(client.sync(client.scheduler.identity, n_workers=-1)["workers"])


def worker_threads(client) -> dict:
    """``{address: threads}`` of the workers the scheduler knows now."""
    workers = client.sync(client.scheduler.identity, n_workers=-1)["workers"]
    return {address: int(w.get("nthreads", 1)) for address, w in workers.items()}


def partition_workers(client, n_partitions: int) -> list:
    """The worker address of each partition.

    A worker holds at most one partition per thread, each stepped by a
    thread of its own (as NEST runs threads within a rank), so one worker
    of as many threads as cores can hold a machine's partitions. Partitions
    are spread evenly over the workers in address order (one each while
    there are enough workers), a worker's partitions consecutive.

    Raises ValueError if the workers have fewer threads than partitions.
    """
    threads = dict(sorted(worker_threads(client).items()))
    if n_partitions > sum(threads.values()):
        raise ValueError(f"build: partitions ({n_partitions}) must not exceed the cluster's worker threads "
                         f"({sum(threads.values())} in {len(threads)} workers): a worker holds at most one "
                         "partition per thread; start more workers or threads, or build fewer partitions")
    held = dict.fromkeys(threads, 0)
    for _ in range(n_partitions):  # the worker least loaded for its threads (the first of equals) takes one
        w = min((w for w in threads if held[w] < threads[w]), key=lambda w: held[w] / threads[w])
        held[w] += 1
    return [w for w, n in held.items() for _ in range(n)]


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
