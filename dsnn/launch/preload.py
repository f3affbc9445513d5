"""Worker preload: a Dask worker started with it imports dsnn and loads its kernels as it starts.

``dsnn.local_cluster`` and ``python -m dsnn run --mpi`` start their workers
with it. Elsewhere give it to the workers yourself, e.g.
``dask worker SCHEDULER --nthreads 1 --preload dsnn.launch.preload``, or
set ``DASK_DISTRIBUTED__WORKER__PRELOAD='["dsnn.launch.preload"]'`` in the
environment of the workers (dask-mpi, dask-jobqueue's ``job_script_prologue``).
Without it the first build on a worker loads the kernels itself (or
compiles them, the first time on a machine: numba caches them on disk).
"""

from __future__ import annotations

import logging
import time

__all__ = ["dask_setup"]

logger = logging.getLogger("dsnn.preload")


def dask_setup(worker=None) -> None:
    """Load dsnn's kernels in this worker process (Dask calls this when the worker starts), after telling
    the allocator to keep construction's temporaries in its heap (:mod:`dsnn.support.allocator`: Dask's
    nanny sets ``MALLOC_TRIM_THRESHOLD_``, which made construction 1.7x slower)."""
    from ..runners.warm_up import warm_up
    from ..support.allocator import keep_temporaries_in_heap

    keep_temporaries_in_heap()

    t0 = time.perf_counter()
    compiled = warm_up()
    logger.info("dsnn kernels ready in %.2f s (%.2f s compiling or loading)", time.perf_counter() - t0, compiled)
