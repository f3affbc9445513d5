"""dsnn's GPU path on the CPU: its CUDA kernels compiled by the host's C++ compiler, CuPy replaced by NumPy.

Where no GPU is lent (most machines here, CI's included) the CUDA source of
dsnn.backends.gpu would otherwise go untested. This compiles it as C++ with
a header giving what CUDA provides (block and thread indices, ``atomicAdd``,
the qualifiers) and a launcher per kernel that runs its threads one after
another; :func:`emulated_gpu` then stands a NumPy-backed module in for CuPy
(device arrays with ``.get()`` and ``.data.ptr``), so a network built with
``device="gpu"`` runs its whole GPU path: ``Partition.to_gpu``, the launches
with their arguments, the spike buffers and counters, the recordings.

Running the threads one at a time computes what the GPU computes, because
dsnn's kernels share nothing between threads but atomic additions (no shared
memory, no barriers): the order of those changes nothing (integers) or only
the order of recorded spikes, which are sorted. Float64 operations are IEEE
on both, and the compiler is told not to fuse multiply-adds, as NVRTC is
(``--fmad=false``); libm's functions are the host's here and CUDA's on a GPU,
so kernels whose results must match the CPU's bit for bit call none of them
(or dsnn's own, the same on both). What this cannot show: races, launch
limits, CUDA's own ``exp``/``pow``, speed. Those need a GPU (tests/backends/test_gpu.py).
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

#: what the compiler is given before the CUDA source
_HEADER = r"""
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
using std::min;
using std::max;
struct emu_dim3 { unsigned x, y, z; };
static emu_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
template <typename T> static inline T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <typename T> static inline T atomicOr(T* p, T v) { T old = *p; *p = old | v; return old; }
static inline long long __double_as_longlong(double x) { long long u; std::memcpy(&u, &x, 8); return u; }
static inline double __longlong_as_double(long long u) { double x; std::memcpy(&x, &u, 8); return x; }
"""

_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)', re.S)

_SCALARS = {"i64": ctypes.c_int64, "long long": ctypes.c_int64, "u64": ctypes.c_uint64,
            "unsigned long long": ctypes.c_uint64, "double": ctypes.c_double, "float": ctypes.c_float,
            "int": ctypes.c_int, "unsigned int": ctypes.c_uint, "unsigned": ctypes.c_uint}


def compiler() -> str | None:
    """The host C++ compiler, or None."""
    return shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def _parameters(text: str) -> list:
    """[(name, ctypes type, is_pointer)] of a kernel's parameter list."""
    out = []
    for param in (p.strip() for p in text.split(",")):
        pointer = "*" in param
        decl = param.replace("*", " ").replace("const", " ").split()
        name, ctype = decl[-1], " ".join(decl[:-1])
        out.append((name, ctypes.c_void_p if pointer else _SCALARS[ctype], pointer))
    return out


class EmulatedModule:
    """What ``cupy.RawModule`` gives: :meth:`get_function` per kernel, here compiled for the host."""

    def __init__(self, code: str, options=(), name_expressions=None):
        kernels = {name: _parameters(params) for name, params in _KERNEL.findall(code)}
        launchers = []
        for name, params in kernels.items():
            formal = "".join(f", {'void*' if p else _c_name(t)} {n}" for n, t, p in params)
            actual = ", ".join(f"({_pointer_cast(code, name, n)}){n}" if p else n for n, t, p in params)
            launchers.append(f"""
extern "C" void emu_{name}(unsigned emu_gx, unsigned emu_gy, unsigned emu_bx{formal}) {{
    gridDim = {{emu_gx, emu_gy, 1}}; blockDim = {{emu_bx, 1, 1}};
    for (unsigned emu_y = 0; emu_y < emu_gy; ++emu_y)
    for (unsigned emu_x = 0; emu_x < emu_gx; ++emu_x)
    for (unsigned emu_t = 0; emu_t < emu_bx; ++emu_t) {{
        blockIdx = {{emu_x, emu_y, 0}}; threadIdx = {{emu_t, 0, 0}};
        {name}({actual});
    }}
}}""")
        source = _HEADER + code + "\n".join(launchers)
        self._lib = ctypes.CDLL(str(_compile(source)))
        self._kernels = kernels

    def get_function(self, name: str):
        params = self._kernels[name]
        fn = getattr(self._lib, f"emu_{name}")
        fn.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint] + [t for _, t, _ in params]
        fn.restype = None

        def launch(grid, block, args):
            if len(args) != len(params):
                raise TypeError(f"{name} takes {len(params)} arguments, got {len(args)}")
            grid = tuple(int(g) for g in grid) + (1,)
            values = [_address(a) if p else (float(a) if t in (ctypes.c_double, ctypes.c_float) else int(a))
                      for a, (_, t, p) in zip(args, params)]
            fn(grid[0], grid[1], int(block[0]), *values)

        return launch


def _c_name(ctype) -> str:
    return {ctypes.c_int64: "long long", ctypes.c_uint64: "unsigned long long", ctypes.c_double: "double",
            ctypes.c_float: "float", ctypes.c_int: "int", ctypes.c_uint: "unsigned int"}[ctype]


def _pointer_cast(code: str, kernel: str, param: str) -> str:
    """The C type of pointer parameter ``param`` of ``kernel`` (as declared), for the launcher's call."""
    params = dict(_KERNEL.findall(code))[kernel]
    for p in params.split(","):
        decl = p.replace("*", " * ").split()
        if decl and decl[-1] == param:
            return " ".join(decl[:-1])
    raise KeyError(param)


def _address(a) -> int:
    if a is None:
        return 0
    if isinstance(a, np.ndarray):
        if not a.flags.c_contiguous:
            raise ValueError("a kernel argument must be C-contiguous")
        return a.ctypes.data
    return int(a.data.ptr)


_BUILD = Path(tempfile.gettempdir()) / "dsnn-cuda-emulation"


def _compile(source: str) -> Path:
    """The shared library of ``source`` (built once per source, kept under the temporary directory)."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    lib = _BUILD / f"kernels-{digest}.so"
    if not lib.exists():
        _BUILD.mkdir(parents=True, exist_ok=True)
        src = _BUILD / f"kernels-{digest}.cpp"
        src.write_text(source)
        tmp = lib.with_suffix(f".{id(source)}.tmp")
        # no fused multiply-add, as NVRTC with --fmad=false; strict IEEE float64 (no x87)
        subprocess.run([compiler(), "-O2", "-std=c++14", "-shared", "-fPIC", "-ffp-contract=off", "-fno-fast-math",
                        "-o", str(tmp), str(src)], check=True, capture_output=True, text=True)
        tmp.replace(lib)
    return lib


# ----------------------------------------------------------------------------- CuPy's stand-in

class DeviceArray(np.ndarray):
    """A NumPy array posing as a CuPy one: ``.get()`` copies it to a plain array, ``.data.ptr`` is its
    address."""

    def get(self):
        return np.array(self).view(np.ndarray)

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


def _device(a) -> DeviceArray:
    return np.ascontiguousarray(a).view(DeviceArray)


def fake_cupy() -> types.ModuleType:
    """A module with the part of CuPy's interface dsnn uses, on NumPy arrays."""
    cp = types.ModuleType("cupy")
    cp.ndarray = DeviceArray
    cp.int64, cp.uint64, cp.int32, cp.float64 = np.int64, np.uint64, np.int32, np.float64

    def asarray(a, dtype=None):
        if isinstance(a, DeviceArray) and (dtype is None or a.dtype == np.dtype(dtype)):
            return a
        return _device(np.array(a, dtype=dtype, copy=True))

    cp.asarray = asarray
    cp.empty = lambda shape, dtype=float: _device(np.empty(shape, dtype=dtype))
    cp.zeros = lambda shape, dtype=float: _device(np.zeros(shape, dtype=dtype))
    cp.empty_like = lambda a, dtype=None: _device(np.empty_like(a, dtype=dtype))
    cp.zeros_like = lambda a, dtype=None: _device(np.zeros_like(a, dtype=dtype))
    cp.asnumpy = lambda a: np.array(a).view(np.ndarray)
    cp.RawModule = EmulatedModule
    stream = types.SimpleNamespace(synchronize=lambda: None)
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
                                    get_current_stream=lambda: stream, Device=lambda i=0: types.SimpleNamespace())
    return cp


def emulated_gpu(monkeypatch):
    """Make dsnn.backends.gpu run its kernels on the CPU (for one test: ``monkeypatch`` undoes it)."""
    from dsnn.backends import gpu

    cp = fake_cupy()
    module = EmulatedModule(gpu.source(), gpu.COMPILE_OPTIONS)
    monkeypatch.setitem(sys.modules, "cupy", cp)
    monkeypatch.setattr(gpu, "cupy", lambda: cp)
    monkeypatch.setattr(gpu, "available", lambda: True)
    monkeypatch.setattr(gpu, "_module", lambda: module)
    return cp
