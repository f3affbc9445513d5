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

#: minor page faults of 50 temporaries of 3 MB (below NumPy's 4 MB huge-page advice), each written in full
FAULTS = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from dsnn.support.allocator import keep_temporaries_in_heap
    if sys.argv[1] == "kept":
        assert keep_temporaries_in_heap()
    np.ones(3 << 18)  # the first one may fault in either way
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        a = np.ones(3 << 18)  # 3 MB of float64
        del a
    print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before))
""")


def _faults(how: str) -> int:
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536")  # what Dask's nanny gives its workers
    out = subprocess.run([sys.executable, "-c", FAULTS, how], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_temporaries_are_reused_not_mapped_afresh_each_time():
    """With Dask's setting each 3 MB temporary is a fresh mapping whose pages fault in (here ~500 faults
    each); once ``keep_temporaries_in_heap`` ran, the heap's block is reused (no fault measured here)."""
    mapped, kept = _faults("mapped"), _faults("kept")
    assert mapped > 50 * 100  # the measurement sees the faults it should remove
    assert kept < mapped / 50
