"""Senim served with its session routes: `streamlit run dashboard/serve.py`.

``st.App`` (Streamlit 1.67) runs ``app.py`` exactly like ``streamlit run dashboard/app.py`` and
mounts the two small HTTP routes that move a sign-in into an HttpOnly cookie
(``dashboard/session_routes.py``), so a reload or a new tab stays signed in. Served through
``app.py`` directly, sign-in still works but lives only in the tab.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# --- memory (issue 11): at most ARENAS glibc malloc arenas, set before Streamlit's threads ---
ARENAS = 2  # glibc's default is 8 per core; MALLOC_ARENA_MAX in the environment wins
MMAP_THRESHOLD = 32 * 1024 * 1024  # bytes; MALLOC_MMAP_THRESHOLD_ in the environment wins
JEMALLOC = "dirty_decay_ms:1000,muzzy_decay_ms:1000"  # polars' allocator; _RJEM_MALLOC_CONF wins
_M_ARENA_MAX = -8  # mallopt's parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3


def bound_malloc_arenas() -> None:
    """Streamlit runs each session's script in a thread of its own and glibc gives threads
    arenas of their own (up to 16 on two cores), each keeping the pages its runs freed:
    bench/bench_page.py at 1M responses, RSS after every page in three languages, 935 MB
    with glibc's default, 518 MB with two arenas (MALLOC_ARENA_MAX=2), same numbers. glibc
    fixes its limit once more than 8 arenas exist, so this must run before the server's
    threads (here, at start-up); set MALLOC_ARENA_MAX=2 in the environment where possible.

    Blocks under MMAP_THRESHOLD bytes (a page's arrays and frames) are reused from the heap,
    and polars' allocator (jemalloc) keeps freed pages for a second before handing them back:
    a filter change allocates and frees the same sizes again and again, and mapping each one
    afresh (glibc's threshold fixed at 64 KB, jemalloc purging at once, as before) cost page
    faults and zeroing: under the 50-session load at 10M, 66-69 -> 56-61 ms of CPU a rerun
    and p95 2.0-2.6 -> 0.5-1.2 s, while RSS after every page in three languages stayed
    484 -> 488 MB (bench/bench_page.py). The fixed threshold also stops glibc raising it
    past 32 MB. No-op off glibc."""
    import ctypes
    import ctypes.util
    import os

    # read when polars starts (later: the warm-up's imports)
    os.environ.setdefault("_RJEM_MALLOC_CONF", JEMALLOC)
    settings = {_M_ARENA_MAX: ("MALLOC_ARENA_MAX", ARENAS),
                _M_MMAP_THRESHOLD: ("MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD)}  # fmt: skip
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        for parameter, (variable, value) in settings.items():
            if not os.environ.get(variable):  # else the operator's, applied by glibc at start
                libc.mallopt(parameter, value)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to bound
        return


bound_malloc_arenas()
# --- end memory ---------------------------------------------------------------------------


def single_threaded_libraries() -> None:
    """One BLAS thread and one polars thread per process, read when numpy loads OpenBLAS and
    when polars is imported (later: the warm-up's imports). Parallelism here is many sessions,
    not one product: on two shared cores a Drivers fit's n x p product took 114-189 ms with
    OpenBLAS's threads fighting the other sessions' runs and 17 ms single-threaded, and polars'
    pool made each of a page's many small frame operations cost 30-60% more CPU (handing work
    to the pool and back) under the 50-session load (issue 11). The operator's setting wins."""
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("POLARS_MAX_THREADS", "1")


single_threaded_libraries()

import contextlib  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402

import streamlit as st  # noqa: E402

from dashboard.session_routes import routes  # noqa: E402

# --- launch (issue 11): the first visitor's imports and data prepared at server start ---------
_LOG = logging.getLogger("senim.serve")
_warmed = threading.Event()  # set once the warm-up thread has started (one per process)
_start_lock = threading.Lock()


def warm_up() -> None:
    """What the first visitor's runs would otherwise do one after the other, done while the
    browser loads the page and the user signs in (bench/bench_launch.py): the app's imports,
    the engine (schema check), and the summary store's snapshot of the current data version
    in the app's own caches (``dashboard.data``), with the Overview's default layout of it.

    The engine comes first: its schema upgrade is the database's own work (after a migration,
    SQLite's foreign-key check reads every row: minutes at 10M responses with the file not in
    the page cache), done beside the first run's imports. Safe beside the first runs: Python's
    import locks make a run wait for a module this thread is importing (the project's imports
    have no cycles, so neither waits for the other); app.py imports pandas first, so its
    plotly never meets a half-imported one (app.py's note); the caches compute a key once (a
    run asking for the same key waits for this thread's value). Harmless when the database is
    down or empty: whatever fails is logged and left to the runs, which report it as they
    always do (a failed cache call stores nothing)."""
    try:
        from dashboard import data

        data.engine()
        import pandas  # noqa: F401  (then the sign-in page's and the Overview's imports)

        from dashboard import signin_page  # noqa: F401
        from dashboard.views import overview  # noqa: F401  (plotly and the charts)

        data.warm()
        from dashboard import heap

        heap.settle("warm-up")  # what lives on now is frozen: the first run's garbage pass skips it
    except Exception:  # whatever it was, the first run meets it again and shows it
        _LOG.warning("warm-up stopped; the first visit does the rest", exc_info=True)


def start_warm_up() -> None:
    """Start ``warm_up`` in a daemon thread, once per process."""
    with _start_lock:
        if _warmed.is_set():
            return
        _warmed.set()
    threading.Thread(target=warm_up, name="senim-warm-up", daemon=True).start()


@contextlib.asynccontextmanager
async def _lifespan(_app):
    start_warm_up()  # when the server starts (not when a test imports this module)
    yield


# --- end launch -------------------------------------------------------------------------------

app = st.App(str(Path(__file__).with_name("app.py")), routes=routes(), lifespan=_lifespan)
