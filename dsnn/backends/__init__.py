"""Backends: the state of a partition and its stepping, on the CPU (NumPy and numba kernels, ``cpu``)
or on a CUDA GPU (CuPy kernels, ``gpu``). Numerics only: nothing here knows Dask or networking."""
