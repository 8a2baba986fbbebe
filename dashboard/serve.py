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
_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


def bound_malloc_arenas() -> None:
    """Streamlit runs each session's script in a thread of its own and glibc gives threads
    arenas of their own (up to 16 on two cores), each keeping the pages its runs freed:
    bench/bench_page.py at 1M responses, RSS after every page in three languages, 935 MB
    with glibc's default, 518 MB with two arenas (MALLOC_ARENA_MAX=2), same numbers. glibc
    fixes its limit once more than 8 arenas exist, so this must run before the server's
    threads (here, at start-up); set MALLOC_ARENA_MAX=2 in the environment where possible.
    No-op off glibc."""
    import ctypes
    import ctypes.util
    import os

    # polars' own allocator (jemalloc) hands freed pages back after 1 s instead of 10 s
    # (same bench at 10M with two arenas: 678 -> 631 MB); read when polars starts
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")
    if os.environ.get("MALLOC_ARENA_MAX"):
        return  # the operator's own setting, applied by glibc at start-up
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_ARENA_MAX, ARENAS)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to bound
        return


bound_malloc_arenas()
# --- end memory ---------------------------------------------------------------------------

import streamlit as st  # noqa: E402

from dashboard.session_routes import routes  # noqa: E402

app = st.App(str(Path(__file__).with_name("app.py")), routes=routes())
