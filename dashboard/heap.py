"""The long-lived heap kept out of the garbage collector's way (scale, issue 11).

A full collection walks every object the process holds: the imported libraries (plotly,
pandas, polars, statsmodels) and the boundary GeoJSON (nested lists of coordinates) alone took
~250 ms a pass on this machine. Streamlit runs one after every script run unless
``runner.postScriptGC`` is off (it is, in .streamlit/config.toml: under the 50-session load its
cost grew with the caches to 10% of the server's CPU); Python's own collector still makes
such passes as the heap grows. ``settle`` moves what is alive after a page's first run into the
permanent generation (``gc.freeze``), so those passes walk only what was created since; objects
in it are still freed when no longer referenced, only reference cycles among them are never
collected (they stay in memory, once per page). Once per page and process: a page's first run
imports its modules (e.g. the Drivers' model code).
"""

from __future__ import annotations

import gc
import threading

from dashboard.components.regionmap import load_geometry

_settled: set[str] = set()
_lock = threading.Lock()


def settle(page: str) -> None:
    """After the first run of ``page`` in this process: load the map's geometry (whichever
    page first needs it), collect once, and freeze what is alive."""
    if page in _settled:
        return
    with _lock:
        if page in _settled:
            return
        load_geometry()
        gc.collect()  # garbage made so far is collected, not frozen
        gc.freeze()
        _settled.add(page)


def settled_pages() -> frozenset[str]:
    """The pages whose first run has been settled in this process (for tests)."""
    return frozenset(_settled)
