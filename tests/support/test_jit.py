"""support/jit.py: kernels cached on disk are compiled again when a kernel they inline changes in another
module (numba alone checks only the kernel's own file)."""

import subprocess
import sys
import textwrap

CALLER = '''
from dsnn.support.jit import kernel
from .callee import value


@kernel
def compute():
    return value()
'''

CALLEE = '''
from dsnn.support.jit import kernel


@kernel(inline=True)
def value():
    return {}
'''


def _run(root) -> str:
    code = f"import sys; sys.path.insert(0, {str(root)!r}); from cachepkg.caller import compute; print(compute())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_cached_kernel_follows_an_edit_of_the_kernel_it_inlines_from_another_module(tmp_path):
    pkg = tmp_path / "cachepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "caller.py").write_text(textwrap.dedent(CALLER))
    (pkg / "callee.py").write_text(textwrap.dedent(CALLEE.format(1)))
    assert _run(tmp_path) == "1"
    assert list((pkg / "__pycache__").glob("caller.compute-*.nbi"))  # cached on disk
    assert _run(tmp_path) == "1"
    (pkg / "callee.py").write_text(textwrap.dedent(CALLEE.format(2)))  # caller.py untouched
    assert _run(tmp_path) == "2"


def test_the_package_digest_covers_every_source_file(tmp_path, monkeypatch):
    from dsnn.support import jit

    pkg = tmp_path / "digestpkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "deep.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import digestpkg  # noqa: F401

    first = jit.package_digest("digestpkg.sub.deep")
    assert first == jit.package_digest("digestpkg")  # one digest per top-level package
    jit._digests.clear()
    (pkg / "sub" / "deep.py").write_text("x = 2\n")
    assert jit.package_digest("digestpkg") != first
    assert jit.package_digest("math") is None  # not a package on disk
    jit._digests.clear()


def test_a_kernel_of_another_module_is_imported_when_compiled():
    """KernelOf names a kernel without importing its module; compiling a kernel that calls it puts its
    dispatcher there (or the object itself, where it is no dsnn kernel)."""
    import math

    from dsnn.support.jit import Kernel, KernelOf

    resolved = KernelOf("dsnn.support.glibc_math", "exp").dispatcher
    assert not isinstance(resolved, Kernel) and resolved.py_func.__name__ == "exp"  # numba's dispatcher
    assert KernelOf("math", "sqrt").dispatcher is math.sqrt
