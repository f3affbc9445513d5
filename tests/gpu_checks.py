"""Checks of the GPU path that run on a GPU (tests/backends/test_gpu.py) and on the CPU emulation of it
(tests/backends/test_gpu_emulated.py) alike."""

import math

import numpy as np

from dsnn.backends import gpu
from dsnn.support.jit import kernel


@kernel
def _libm_values(x, y, exp_x, pow_xy):
    for i in range(x.shape[0]):
        exp_x[i] = math.exp(x[i])
        pow_xy[i] = math.pow(x[i], y[i])


def _libm(x, y):
    e, p = np.empty_like(x), np.empty_like(x)
    _libm_values(x, y, e, p)
    return e, p


def assert_device_exp_and_pow_are_libms():
    """The kernels' glibc_exp over every range (results that overflow, go subnormal or underflow, tiny and
    special arguments) and glibc_pow over its main range (positive x of any magnitude, the exponents of the
    step control and STDP rules) equal the host's libm bit for bit (glibc on x86-64 with FMA)."""
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-760.0, 720.0, 300_000), rng.uniform(-746.0, -700.0, 100_000),
                        rng.uniform(-1e-3, 1e-3, 100_000),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 2.0**-54, 2.0**-55, -2.0**-55, 709.78, 709.79,
                         -745.13, -745.14, 1024.0, -1024.0, 512.0, -512.0]])
    y = rng.choice([0.2, 1.0 / 6.0, 0.4, 1.0, 2.0, -0.7], x.shape[0])
    exp_x, _ = gpu.glibc_math_values(x, y)
    assert np.array_equal(exp_x.view(np.uint64), _libm(x, y)[0].view(np.uint64))
    base = np.exp(rng.uniform(-700.0, 700.0, x.shape[0]))
    _, pow_xy = gpu.glibc_math_values(base, y)
    assert np.array_equal(pow_xy.view(np.uint64), _libm(base, y)[1].view(np.uint64))


def on_cpu_and_gpu(make, partitions: int, times, read) -> tuple:
    """``(cpu, gpu)``: what ``read(sim, *rest)`` gives after ``make()`` (a network and ``rest``) was built on
    ``partitions`` partitions on each device and run for each of ``times`` (ms) in turn."""
    results = {}
    for device in ("cpu", "gpu"):
        net, *rest = make()
        sim = net.build(partitions=partitions, device=device)
        assert all(p.gpu == (device == "gpu") for p in sim.partitions)
        for t in times:
            sim.run(t)
        results[device] = read(sim, *rest)
    return results["cpu"], results["gpu"]


def assert_same(cpu, gpu) -> None:
    """Each of the GPU's results equals the CPU's (pandas frames, bit for bit)."""
    assert len(cpu) == len(gpu)
    for a, b in zip(cpu, gpu):
        assert b.equals(a)
