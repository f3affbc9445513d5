"""The allocator keeps construction's temporaries in its heap, even under Dask's MALLOC_TRIM_THRESHOLD_."""

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="glibc's mallopt")

#: where glibc puts a 3 MB block (a construction temporary's size): in the heap (below the program break)
#: or in a mapping of its own (above it, the pages faulted in afresh each time)
WHERE = textwrap.dedent("""
    import ctypes, json, sys
    from dsnn.support.allocator import keep_temporaries_in_heap
    if sys.argv[1] == "kept":
        assert keep_temporaries_in_heap()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = libc.sbrk.restype = ctypes.c_void_p
    libc.malloc.argtypes, libc.free.argtypes, libc.sbrk.argtypes = [ctypes.c_size_t], [ctypes.c_void_p], [ctypes.c_long]
    first = libc.malloc(3 << 20)
    libc.free(first)
    second = libc.malloc(3 << 20)
    top = libc.sbrk(0)
    print(json.dumps({"in_heap": second < top, "reused": first == second}))
""")


def _where(how: str) -> dict:
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")  # what Dask's nanny gives its workers
    out = subprocess.run([sys.executable, "-c", WHERE, how], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_temporaries_come_from_the_heap_not_from_fresh_mappings():
    """Under Dask's setting a 3 MB block is a mapping of its own (its pages fault in each time it is made);
    once ``keep_temporaries_in_heap`` ran, it comes from the heap and a freed one is reused."""
    assert _where("mapped")["in_heap"] is False  # the check sees what it should change
    assert _where("kept") == {"in_heap": True, "reused": True}
