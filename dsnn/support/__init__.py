"""What every layer may use: numba kernels compiled on first use, libm's exp and pow inline, and messages for missing
extras."""
