"""Starting or joining a Dask cluster for dsnn: local CPU or GPU clusters, a scheduler address, dask-mpi.

Launch only: nothing here knows about networks. Every function returns a
``distributed.Client``; a missing optional dependency or an unreachable
scheduler raises :class:`ClusterError` with one line that says what to do.
Workers that dsnn starts import dsnn and load its kernels when they start
(the worker preload :mod:`dsnn.launch.preload`), so the first build on
them does not wait for it.
"""

from __future__ import annotations

import importlib.util
import logging
import numbers

from ..backends import gpu
from ..support import extras
from ..support.machine import cores

__all__ = ["local_cluster", "connect", "mpi_client", "ClusterError", "require", "PROTOCOLS", "PRELOAD"]

#: transports dsnn's channels support
PROTOCOLS = ("tcp", "ucx")

#: the worker preload: workers import dsnn and load its kernels when they start
PRELOAD = "dsnn.launch.preload"


class ClusterError(RuntimeError):
    """A cluster could not be started or reached (the message says why and what to do)."""


def require(module: str, extra: str, what: str) -> None:
    """Raise :class:`ClusterError` naming ``pip install 'dsnn[extra]'`` if ``module`` cannot be imported."""
    try:
        extras.require(module, extra, what)
    except extras.MissingExtra as exc:
        raise ClusterError(str(exc)) from None


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if protocol == "ucx":
        require("distributed_ucxx", "ucx", "protocol='ucx'")


def _gpu_count() -> int:
    """CUDA devices this process sees (0 without CuPy or a driver)."""
    if not gpu.available():
        return 0
    return int(gpu.cupy().cuda.runtime.getDeviceCount())


def local_cluster(partitions: int | None = None, protocol: str = "tcp", dashboard: bool = True,
                  workers: int | None = None, **kwargs):
    """A local Dask cluster for dsnn and a client connected to it.

    Where CUDA GPUs and dask-cuda exist, a ``LocalCUDACluster`` with one
    worker per GPU (``partitions`` of them, default all); otherwise a
    ``LocalCluster`` of ``partitions`` single-threaded worker processes
    (default: the number of cores), or of ``workers`` processes with a
    thread per partition each (``workers=1``: one process steps them all,
    as NEST runs threads within one rank). Every worker imports dsnn and
    loads its kernels as it starts (:data:`PRELOAD`). Prints the dashboard
    link.

    Parameters
    ----------
    partitions : int, optional
        Number of partitions the cluster is for.
    workers : int, optional
        Number of worker processes on the CPU (default: one per
        partition); each has ``ceil(partitions / workers)`` threads.
    protocol : {"tcp", "ucx"}
        Transport between the workers and of dsnn's spike channels.
    dashboard : bool
        Serve the Dask dashboard (on a free port).
    **kwargs
        Passed on to the cluster class.

    Returns
    -------
    distributed.Client
        ``client.shutdown()`` closes the cluster with it.
    """
    if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, numbers.Integral)
                                   or partitions < 1):
        raise ValueError(f"partitions must be a positive integer, got {partitions!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, numbers.Integral)
                                or not 1 <= workers <= (partitions or cores())):
        raise ValueError(f"workers must be an integer from 1 to the partitions ({partitions or cores()}), "
                         f"got {workers!r}")
    _check_protocol(protocol)
    from distributed import Client, LocalCluster

    address = ":0" if dashboard else None
    kwargs.setdefault("preload", [PRELOAD])
    gpus = _gpu_count()
    if gpus and importlib.util.find_spec("dask_cuda") is not None:
        from dask_cuda import LocalCUDACluster

        n = gpus if partitions is None else partitions
        if workers is not None and workers != n:
            raise ValueError(f"workers={workers}: with GPUs each partition has a worker and a GPU of its own")
        if n > gpus:
            raise ValueError(f"partitions={n}: this machine has {gpus} GPUs (one partition per GPU)")
        devices = ",".join(str(i) for i in range(n))
        cluster = LocalCUDACluster(CUDA_VISIBLE_DEVICES=devices, protocol=protocol,
                                   dashboard_address=address, **kwargs)
    else:
        n = cores() if partitions is None else partitions
        processes = n if workers is None else workers
        cluster = LocalCluster(n_workers=processes, threads_per_worker=-(-n // processes), processes=True,
                               protocol=protocol, dashboard_address=address, **kwargs)
        n = processes
    client = Client(cluster)
    if dashboard:
        print(f"dsnn: {n} workers ({protocol}), dashboard at {client.dashboard_link}")
    return client


def connect(address: str, timeout: float = 10.0):
    """A client of the scheduler at ``address`` (e.g. ``tcp://10.0.0.1:8786``)."""
    from distributed import Client

    _check_protocol(address.split("://", 1)[0] if "://" in address else "tcp")
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                           f"({type(exc).__name__}); is it running?") from None


class _ShutdownHeartbeat(logging.Filter):
    """Drops a worker's "Failed to communicate with scheduler during heartbeat" record.

    Under dask-mpi the scheduler rank closes first at the end of every run;
    a lost scheduler during a run fails the client's calls instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to communicate with scheduler during heartbeat")


def mpi_client(protocol: str = "tcp"):
    """Under ``mpiexec``: rank 0 runs the scheduler, ranks >= 2 the workers (one single-threaded worker
    each, blocking until the client is done), rank 1 returns a client to them.

    Only rank 1 returns; the others exit when the client closes.
    """
    _check_protocol(protocol)
    require("mpi4py", "mpi", "--mpi")
    require("dask_mpi", "mpi", "--mpi")
    if protocol == "ucx":
        import ucxx  # noqa: F401 - before MPI: an MPI wheel's own UCX must not be loaded first
    from dask_mpi import initialize
    from distributed import Client
    from mpi4py import MPI

    size = MPI.COMM_WORLD.Get_size()
    if size < 3:
        raise ClusterError(f"--mpi needs at least 3 ranks (scheduler, client, workers), got {size}")
    # at the end the scheduler closes the workers' streams, and distributed logs that at INFO level with a
    # traceback on every worker rank, and a worker whose heartbeat falls between the scheduler's close and
    # its own logs an ERROR with a traceback: expected there, so kept out of the user's terminal
    logging.getLogger("distributed.batched").setLevel(logging.WARNING)
    logging.getLogger("distributed.worker").addFilter(_ShutdownHeartbeat())
    import dask

    dask.config.set({"distributed.worker.preload": [PRELOAD]})  # read by the worker ranks as they start
    initialize(protocol=protocol, nthreads=1, dashboard=False, interface=None)
    client = Client()
    client.wait_for_workers(size - 2, timeout=60)
    return client
