"""numba kernels that are compiled, or loaded from numba's on-disk cache, on first use.

``import dsnn`` must not load numba (half a second here), and a network can
be described without it. A function decorated with :func:`kernel` stays a
plain Python function until it is first called, or until a kernel that
calls it is compiled; then numba compiles it (``njit``, ``nogil`` and
``cache`` unless told otherwise) and every :class:`Kernel` in its module's
globals is replaced by its numba dispatcher, so kernels call each other as
compiled code. An :class:`Intrinsic` (code numba cannot express, such as
:data:`prefetch`) is built the same way, when a kernel using it compiles.

The seconds this process spends compiling or loading kernels are counted
(:func:`compile_seconds`), so that runners and examples can report them
apart from the simulation.

numba checks a cached kernel against its own source file only, not against
the files of the kernels it inlines: after an edit or an upgrade in place of
another module, it would load machine code built from the old source. So a
cached kernel's stamp also holds a digest of every ``.py`` file of its
top-level package (:func:`package_digest`): any change there compiles the
kernels again.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import threading
import time
from pathlib import Path

__all__ = ["kernel", "Kernel", "KernelOf", "Intrinsic", "prefetch", "array_at", "fence", "compile_seconds",
           "package_digest"]

_lock = threading.RLock()
_nesting = threading.local()  # depth of compilations on this thread: a callee compiles inside its caller
_seconds = 0.0


def compile_seconds() -> float:
    """Seconds this process has spent importing numba and compiling kernels or loading them from its
    cache."""
    return _seconds


def _timed(compile_fn):
    """``compile_fn`` (a dispatcher's ``compile``) adding its duration to :func:`compile_seconds` once per
    outermost compilation."""

    def compile(sig):
        global _seconds
        depth = getattr(_nesting, "depth", 0)
        _nesting.depth = depth + 1
        t0 = time.perf_counter()
        try:
            return compile_fn(sig)
        finally:
            _nesting.depth = depth
            if depth == 0:
                _seconds += time.perf_counter() - t0

    return compile


def _numba():
    """The numba module; its first import (about half a second) counts as compiling."""
    global _seconds
    import sys

    if "numba" not in sys.modules:
        t0 = time.perf_counter()
        import numba

        _seconds += time.perf_counter() - t0
    import numba

    return numba


_digests: dict = {}


def package_digest(module_name: str) -> str | None:
    """SHA-1 of the paths and contents of every ``.py`` file of the top-level package of ``module_name``
    (computed once per process; None where it is not a package on disk)."""
    top = module_name.split(".")[0]
    if top not in _digests:
        paths = getattr(sys.modules.get(top), "__path__", None)
        digest = None
        if paths:
            root = Path(list(paths)[0])
            h = hashlib.sha1()
            for f in sorted(root.rglob("*.py")):
                h.update(str(f.relative_to(root)).encode())
                h.update(f.read_bytes())
            digest = h.hexdigest()
        _digests[top] = digest
    return _digests[top]


def _stamp_with_package(dispatcher, module_name: str) -> None:
    """Make ``dispatcher``'s on-disk cache valid only for the sources its package has now (numba compares
    the stamp it stored with the index against this one, and compiles again where they differ)."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is not None and hasattr(cache_file, "_source_stamp"):
        cache_file._source_stamp = (cache_file._source_stamp, package_digest(module_name))


class Kernel:
    """A Python function that becomes a numba ``njit`` function on first use (see the module docstring)."""

    def __init__(self, py_func, options: dict):
        self.py_func = py_func
        self.options = options
        self._dispatcher = None
        functools.update_wrapper(self, py_func)

    @property
    def dispatcher(self):
        """The numba dispatcher (created on first access; compiled per signature on first call)."""
        if self._dispatcher is None:
            with _lock:
                if self._dispatcher is None:
                    numba = _numba()
                    dispatcher = numba.njit(**self.options)(self.py_func)
                    if self.options.get("cache"):
                        _stamp_with_package(dispatcher, self.py_func.__module__)
                    dispatcher.compile = _timed(dispatcher.compile)
                    self._dispatcher = dispatcher
                    module_globals = self.py_func.__globals__
                    for name, value in list(module_globals.items()):
                        if isinstance(value, (Kernel, KernelOf)):
                            module_globals[name] = value.dispatcher
                        elif isinstance(value, Intrinsic):
                            module_globals[name] = value.function
        return self._dispatcher

    def __call__(self, *args):
        return self.dispatcher(*args)

    def __repr__(self) -> str:
        return f"<dsnn kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"


class KernelOf:
    """A kernel of another module, which a module's kernels call without that module being imported before
    one of them is compiled (``libm_exp = KernelOf("dsnn.support.glibc_math", "exp")``: importing the caller
    loads neither it nor NumPy); replaced, like a :class:`Kernel`, by its dispatcher then."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    @property
    def dispatcher(self):
        import importlib

        value = getattr(importlib.import_module(self.module), self.name)
        return value.dispatcher if isinstance(value, Kernel) else value

    def __repr__(self) -> str:
        return f"<dsnn kernel {self.module}.{self.name}, imported when first compiled>"


def kernel(py_func=None, *, inline: bool = False, cache: bool = True):
    """Decorate a function as a numba kernel compiled on first use.

    ``@kernel`` gives ``njit(cache=True, nogil=True)``; ``@kernel(inline=True)``
    a helper inlined into the kernels that call it (``inline="always"``, not
    cached on its own).
    """
    options = {"inline": "always"} if inline else {"cache": cache, "nogil": True}

    def wrap(fn):
        return Kernel(fn, options)

    return wrap(py_func) if py_func is not None else wrap


class Intrinsic:
    """A numba intrinsic (code numba cannot express, built with llvmlite), made when a kernel that uses it
    is compiled: like :class:`Kernel`, a module global that the kernel's compilation replaces."""

    def __init__(self, build):
        self._build = build
        self._function = None
        functools.update_wrapper(self, build)

    @property
    def function(self):
        if self._function is None:
            with _lock:
                if self._function is None:
                    self._function = self._build(_numba())
        return self._function


def _prefetch(numba):
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def prefetch(typingctx, array, index):
        """Ask the CPU to bring ``array[index]`` (a C-contiguous 1-D array) into its caches, for writing:
        ``llvm.prefetch``. It changes no value; it only lets the memory work on a later access now."""

        def codegen(context, builder, signature, args):
            data = context.make_array(signature.args[0])(context, builder, args[0]).data
            byte_ptr = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fn = builder.module.declare_intrinsic(
                "llvm.prefetch", fnty=ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]))
            address = builder.bitcast(builder.gep(data, [args[1]]), byte_ptr)
            # write access, high temporal locality, data cache
            builder.call(fn, [address, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(array, index), codegen

    return prefetch


#: ``prefetch(array, index)`` inside kernels: see :func:`_prefetch`
prefetch = Intrinsic(_prefetch)


def _array_at(numba):
    from numba.core import types
    from numba.extending import intrinsic
    from numba.np.arrayobj import make_array, populate_array

    @intrinsic
    def array_at(typingctx, like, address, length):
        """The 1-D C-contiguous array of ``like``'s dtype and ``length`` items at host ``address`` (an int64
        from ``ndarray.ctypes.data``; 0 with length 0 for none): a view that owns nothing, so whoever
        passed the address keeps the array alive while the kernel runs."""
        result = types.Array(like.dtype, 1, "C")

        def codegen(context, builder, signature, args):
            _, addr, n = args
            ary = make_array(result)(context, builder)
            itemsize = context.get_constant(types.intp, context.get_abi_sizeof(context.get_data_type(like.dtype)))
            populate_array(ary, data=builder.inttoptr(addr, ary.data.type), shape=[n], strides=[itemsize],
                           itemsize=itemsize, meminfo=None)
            return ary._getvalue()

        return result(like, address, length), codegen

    return array_at


#: ``array_at(like, address, length)`` inside kernels: see :func:`_array_at`
array_at = Intrinsic(_array_at)


def _fence(numba):
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def fence(typingctx):
        """A sequentially consistent memory fence (``fence seq_cst``): neither the compiler nor the CPU moves
        a load or store across it. Between processes sharing memory, data written before it is seen before
        a count published after it, and a count read before it is read before the data after it."""

        def codegen(context, builder, signature, args):
            builder.fence("seq_cst")
            return context.get_dummy_value()

        return types.void(), codegen

    return fence


#: ``fence()`` inside kernels: see :func:`_fence`
fence = Intrinsic(_fence)
