"""``python -m benchmarks [--quick] [--models ...] [--repeats N] [--time MS] [--partitions P] [--no-nest]``."""

from benchmarks.run import main

if __name__ == "__main__":  # spawned NEST processes import this module too
    main()
