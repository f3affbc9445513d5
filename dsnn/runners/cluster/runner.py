"""The cluster runner: an actor per partition on its Dask worker, and the client side of every call.

The client makes a constant number of calls per ``run`` (one per actor);
the actors step and exchange spikes by themselves (:mod:`.actor`). Results
are gathered from the workers on request. Every call watches the workers:
a lost worker or a failed partition ends it with an error naming the
partition, never a hang.
"""

from __future__ import annotations

import gc
import time

from ...backends import gpu
from ...construction.estimate import check_fits, partition_bytes
from ...support.jit import compile_seconds
from ..simulation import Simulation
from .graph import run_graph
from .workers import partition_workers, worker_addresses, worker_available_bytes

__all__ = ["build_on_cluster", "ClusterRunner"]

#: seconds between the client's checks of the actors and the workers during a call, once it has lasted; the
#: first checks come sooner (from FIRST_POLL_S, doubling), so that a short call does not wait a whole POLL_S
#: (every build ended with ~0.1 s of such waiting in the info call)
POLL_S = 0.05
FIRST_POLL_S = 0.001


def build_on_cluster(client, net, decomposition, exchange: str, device: str, timeout: float) -> Simulation:
    """Build ``decomposition``'s partitions on the workers of ``client`` (at most one per worker thread),
    after checking that there are enough, that the network fits in their memory, and that they have GPUs where
    ``device="gpu"``: all before any task is submitted."""
    from distributed import Client

    if not isinstance(client, Client):
        raise TypeError(f"build: client must be a distributed.Client or None, got {type(client).__name__}")
    t0 = time.perf_counter()
    workers = partition_workers(client, decomposition.n_partitions)  # checks the count
    facts = client.run(_worker_facts, device == "gpu", workers=sorted(set(workers)))  # one round for all
    check_fits(partition_bytes(net, decomposition), [facts[w]["available"][0] for w in workers],
               [facts[w]["available"][1] for w in workers])
    if device == "gpu":
        missing = [w for w in workers if not facts[w]["gpu"]]
        if missing:
            raise RuntimeError(f"build: device='gpu' but workers {missing} have no usable CUDA GPU "
                               "(install dsnn[gpu] there and start one worker per GPU)")
    t1 = time.perf_counter()
    actors, info = run_graph(client, workers, net, decomposition, exchange, device, timeout,
                             {w: f["mpi_rank"] for w, f in facts.items()})
    runner = ClusterRunner(client, actors, workers, info)
    build_s = time.perf_counter() - t1
    compile_s = max(i["compile_s"] - facts[w]["compile_s"] for i, w in zip(runner.call("info", "info"), workers))
    info["phases_s"] = {"checks": t1 - t0, **info["phases_s"],
                        "info": time.perf_counter() - t1 - build_s}
    return Simulation(net, decomposition, exchange, runner, build_s, compile_s)


def _worker_facts(gpu_wanted: bool, dask_worker=None) -> dict:
    """What the client checks on a worker before a build: memory available, seconds spent compiling so
    far, its MPI rank (or None), and whether it has a usable GPU (asked only where one is wanted)."""
    from ...exchange import mpi

    return {"available": worker_available_bytes(dask_worker), "compile_s": compile_seconds(),
            "mpi_rank": mpi.world_rank(), "gpu": gpu.available() if gpu_wanted else None}


def _unreachable(exc: BaseException) -> bool:
    """Whether an actor call failed because its worker is gone (not because the actor raised)."""
    from distributed.comm.core import CommClosedError

    return isinstance(exc, (CommClosedError, ConnectionError)) or "Unable to contact Actor's worker" in str(exc)


class ClusterRunner:
    """The actors of a built network and the client's calls to them.

    Attributes
    ----------
    workers : list of str
        The worker address of each partition.
    build_info : dict
        The build's token, ``pairs``: the ordered pairs of partitions where the first needs neurons
        of the second (the image handshake's neighbour graph, counted), and ``phases_s``: seconds of the
        client's checks, the tasks (until every actor stands), the actors' handshake and the final info.
    """

    def __init__(self, client, actors: list, workers: list, build_info: dict):
        self.client = client
        self.actors = actors
        self.workers = workers
        self.build_info = build_info
        self.failed = None  # why a run failed
        self._polls: list = []

    def call(self, what: str, method: str, *args, on_poll=None) -> list:
        """Call ``method`` on every actor and wait for all, failing clearly if one fails or is lost.

        A failed partition's own error is raised in preference to the
        "lost partition" errors it causes in its peers. ``on_poll()`` is
        called at every check while waiting.
        """
        if not self.actors:
            raise RuntimeError(f"{what}: this simulation was closed")
        futures = []
        for p, actor in enumerate(self.actors):
            try:
                futures.append(getattr(actor, method)(*args))
            except Exception as exc:  # noqa: BLE001 - Dask refuses calls to an actor whose worker is gone
                raise RuntimeError(f"{what}: lost partition {p}: its worker {self.workers[p]} cannot be reached "
                                   f"({exc})") from exc
        results: dict = {}
        errors: dict = {}
        next_check = time.monotonic()
        first_error_at = None
        delay = FIRST_POLL_S
        while len(results) + len(errors) < len(futures):
            for p, f in enumerate(futures):
                if p in results or p in errors or not f.done():
                    continue
                try:
                    results[p] = f.result()
                except Exception as exc:  # noqa: BLE001 - reported below with the partition
                    errors[p] = exc
                    first_error_at = first_error_at or time.monotonic()
            now = time.monotonic()
            if now >= next_check and len(results) + len(errors) < len(futures):
                next_check = now + 0.5
                alive = worker_addresses(self.client)
                for p, w in enumerate(self.workers):
                    if w not in alive and p not in results:
                        raise RuntimeError(f"{what}: lost partition {p}: its worker {w} left the cluster")
            if first_error_at is not None and now - first_error_at > 5.0:
                break  # the others are waiting on the failed one: no need to wait for their timeouts
            if on_poll is not None and not errors:
                on_poll()
            if len(results) + len(errors) < len(futures):
                time.sleep(delay)
                delay = min(POLL_S, 2 * delay)
        if errors:
            gone = [p for p, e in errors.items() if _unreachable(e)]
            if gone:
                p = gone[0]
                raise RuntimeError(f"{what}: lost partition {p}: its worker {self.workers[p]} cannot be "
                                   f"reached ({errors[p]})") from errors[p]
            root = [p for p, e in errors.items() if "lost partition" not in str(e)]
            p = root[0] if root else min(errors)
            raise RuntimeError(f"{what}: partition {p} failed: {errors[p]}") from errors[p]
        return [results[p] for p in range(len(futures))]

    def run(self, n_steps: int, on_poll=None) -> list:
        """Run every actor ``n_steps`` steps; returns their counters. After a failed run the partitions are
        mid-interval or gone: no run may follow."""
        if self.failed:
            raise RuntimeError(f"run: the simulation failed earlier ({self.failed}); build it again")
        self._polls = []
        try:
            return self.call("run", "run", n_steps, on_poll=on_poll)
        except BaseException as exc:
            self.failed = str(exc)
            raise

    def poll_counters(self, due: bool) -> list | None:
        """The counters of the last poll once every actor has answered; a new poll is sent when ``due``. A
        poll that fails (a worker lost) is dropped: the call it watches reports the loss, naming the
        partition."""
        if self._polls and all(f.done() for f in self._polls):
            polls, self._polls = self._polls, []
            try:
                return [f.result() for f in polls]
            except Exception:  # noqa: BLE001 - progress is best effort; call() raises the real error
                return None
        if not self._polls and due:
            try:
                self._polls = [a.counters() for a in self.actors]
            except Exception:  # noqa: BLE001 - an actor whose worker is gone refuses calls
                self._polls = []
        return None

    def capacity(self) -> int:
        """Partitions the cluster could hold now: its workers' threads (fewer after a worker was lost)."""
        from .workers import worker_threads

        return sum(worker_threads(self.client).values())

    def close(self) -> None:
        """Close the channels and release the actors, so that the workers free the partitions now."""
        if not self.actors:
            return
        try:
            self.call("close", "close")
        except RuntimeError:
            if not self.failed:  # after a failed run, lost partitions cannot close: the others did or will
                raise
        finally:
            self.actors = []
            self._polls = []
            # every call to a Dask actor leaves a reference cycle holding its handle (distributed's retrying
            # closure refers to itself); until the cycle collector runs, the handles keep the actors, and
            # with them the partitions, alive on the workers
            gc.collect()
