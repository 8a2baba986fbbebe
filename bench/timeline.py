"""Loaded by path inside a served process (bench/bench_launch.py): no module of this tree is
imported here, so the served tree's own modules are the ones wrapped."""

from __future__ import annotations

import functools
import importlib
import json
import os
import threading
import time

TIMELINE_ENV = "SENIM_BENCH_TIMELINE"
WRAPPED = {  # module -> functions whose calls go into the timeline
    "queries.db": ("init_db",),
    "queries.access.signin": ("authenticate",),
    "queries.summaries.memory": ("load_snapshot", "_raking", "overview_from_summaries"),
}


def install_timeline() -> None:
    """Inside the served process: each WRAPPED call's thread, start and end (epoch seconds)
    appended to the file named by SENIM_BENCH_TIMELINE, and when serve.py started loading."""
    path = os.environ[TIMELINE_ENV]
    lock = threading.Lock()

    def write(event: dict) -> None:
        with lock, open(path, "a") as out:
            out.write(json.dumps(event) + "\n")

    write({"name": "serve.py loading (python and streamlit imported)", "start": time.time()})
    for module_name, names in WRAPPED.items():
        module = importlib.import_module(module_name)
        for name in names:
            original = getattr(module, name)

            @functools.wraps(original)
            def wrapper(*args, _original=original, _name=name, **kwargs):
                started = time.time()
                try:
                    return _original(*args, **kwargs)
                finally:
                    write({"name": _name, "thread": threading.current_thread().name,
                           "start": started, "end": time.time()})  # fmt: skip

            setattr(module, name, wrapper)
