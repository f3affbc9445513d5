"""What every layer may use: numba kernels compiled on first use, and messages for missing extras."""
