"""Randomness: the counter-based generator (``rng``) and the sampling of distributions (``sampling``).

Every random number of dsnn, at construction (connectivity, weights,
delays, initial state) and while stepping (Poisson input), is a pure
function of the seed, a purpose and global ids: the same on any
partitioning, on the CPU and on the GPU.
"""
