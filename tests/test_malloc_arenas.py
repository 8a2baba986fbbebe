"""The dashboard bounds glibc's malloc arenas (dashboard/serve.py, issue 11): session threads
started after its import share the arenas that exist instead of each making its own, which
keeps the pages its runs freed."""

from __future__ import annotations

import ctypes.util
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# the heaps (arenas) glibc reports before and after THREADS new threads allocated at once
PROBE = """
import ctypes, ctypes.util, re, sys, tempfile, threading
import polars, streamlit  # what the app imports (and the threads they start) in both cases
limit = 0
if sys.argv[1] == "serve":
    import dashboard.serve
    limit = dashboard.serve.ARENAS
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
def heaps():
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        fp = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, ctypes.c_void_p(fp))
        libc.fclose(ctypes.c_void_p(fp))
        return len(re.findall(r"<heap nr=", open(out.name).read()))
before = heaps()
THREADS = 12
held, start = [], threading.Barrier(THREADS)
def work():
    start.wait()
    held.append([bytearray(100_000) for _ in range(20)])  # malloc, not pymalloc
threads = [threading.Thread(target=work) for _ in range(THREADS)]
for t in threads: t.start()
for t in threads: t.join()
print(before, heaps(), limit)
"""


def _heaps(what: str) -> tuple[int, int, int]:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", PROBE, what], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    before, after, limit = done.stdout.split()[-3:]
    return int(before), int(after), int(limit)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc"
    or not ctypes.util.find_library("c"),
    reason="glibc only",
)  # fmt: skip
def test_threads_started_after_the_import_make_no_new_arena() -> None:
    # not imported here: building serve.py's app would mount the session routes for other tests
    before, after, _ = _heaps("plain")
    assert after > before  # glibc alone: the new threads make arenas of their own
    before, after, limit = _heaps("serve")
    assert limit >= 1
    assert after <= max(before, limit)


def probe(script: str, what: str, *, unset: str) -> int:
    """The last number ``script`` prints in a fresh interpreter, with ``what`` ("serve":
    dashboard/serve.py imported first, "bare": not) and ``unset`` left out of its environment
    (the operator's setting would win over serve.py's)."""
    env = {k: v for k, v in os.environ.items() if k != unset}
    done = subprocess.run([sys.executable, "-c", script, what], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout.split()[-1])


BLAS_PROBE = """
import ctypes, sys
if sys.argv[1] == "serve":
    import dashboard.serve
import numpy
path = next(line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line)
print(ctypes.CDLL(path).scipy_openblas_get_num_threads64_())
"""


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/self/maps")
def test_the_server_runs_blas_on_one_thread():
    """serve.py asks numpy's OpenBLAS for one thread (many sessions share the cores); without
    it OpenBLAS takes one per core (this machine: two)."""
    assert probe(BLAS_PROBE, "serve", unset="OPENBLAS_NUM_THREADS") == 1
    if (os.cpu_count() or 1) > 1:  # the probe sees OpenBLAS's own choice, one per core
        assert probe(BLAS_PROBE, "bare", unset="OPENBLAS_NUM_THREADS") > 1


POLARS_PROBE = """
import sys
if sys.argv[1] == "serve":
    import dashboard.serve
import polars
print(polars.thread_pool_size())
"""


def test_the_server_runs_polars_on_one_thread():
    """serve.py asks polars for one thread before it is imported: a page's many small frame
    operations cost more CPU handed to a pool and back (many sessions share the cores);
    without it polars takes one per core."""
    assert probe(POLARS_PROBE, "serve", unset="POLARS_MAX_THREADS") == 1
    if (os.cpu_count() or 1) > 1:
        assert probe(POLARS_PROBE, "bare", unset="POLARS_MAX_THREADS") > 1


# after an 8 MB block is freed, is a 16 MB block mapped on its own (faulted in afresh)?
MMAP_PROBE = """
import ctypes, ctypes.util, re, sys, tempfile
if sys.argv[1] == "serve":
    import dashboard.serve
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def mapped():
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        fp = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, ctypes.c_void_p(fp))
        libc.fclose(ctypes.c_void_p(fp))
        return int(re.search(r'<total type="mmap" count="(\\d+)"', open(out.name).read())[1])
libc.free(libc.malloc(8 << 20))  # glibc's own rule raises its threshold past this size
before = mapped()
block = libc.malloc(16 << 20)
print(mapped() - before)
"""


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc"
    or not ctypes.util.find_library("c"),
    reason="glibc only",
)  # fmt: skip
def test_blocks_under_32_mb_are_reused_from_the_heap() -> None:
    """serve.py fixes glibc's mmap threshold at 32 MB: a page's arrays and frames, allocated
    and freed again at every filter change, are reused from the heap instead of mapped and
    faulted in afresh each time (glibc alone maps a block above the largest one freed so
    far; serve.py's earlier 64 KB threshold mapped nearly all of them)."""
    unset = "MALLOC_MMAP_THRESHOLD_"
    assert probe(MMAP_PROBE, "bare", unset=unset) == 1  # glibc alone: above the 8 MB freed
    assert probe(MMAP_PROBE, "serve", unset=unset) == 0
