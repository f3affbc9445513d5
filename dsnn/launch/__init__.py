"""Launching dsnn: local clusters, a running scheduler, dask-mpi (``cluster``), the worker preload
(``preload``) and the command line (``cli``, ``python -m dsnn``)."""
