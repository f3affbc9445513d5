"""dsnn's benchmarks: ``python -m benchmarks`` runs the suite (see :mod:`benchmarks.run`)."""
