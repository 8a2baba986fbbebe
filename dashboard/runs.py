"""At most ``settings.page_runs()`` page runs compute at once in this process (issue 11).

Streamlit runs every session's script in a thread of its own, and those threads share one
interpreter lock. Fifty sessions changing filters at once ran ~50 scripts side by side, each
handing the lock to the next every few milliseconds (and polars and numpy calls releasing and
asking for it again): ~120 ms of server CPU per rerun on two cores, against ~60 ms for one user
alone, and every run in memory at once. With two at a time the others wait without using the
CPU: ~80-90 ms a rerun, more reruns a second, a lower peak. The upload page is not held here:
an upload check may take minutes and has its own limit (``server_guard.check_slot``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from queries import settings

_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_active = 0


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    with _lock:
        if _slots is None:  # read once per process, at the first page run
            _slots = threading.BoundedSemaphore(settings.page_runs())
        return _slots


class Slot:
    """A held page-run slot; ``give_back`` returns it before the run ends (at most once)."""

    def __init__(self, slots: threading.BoundedSemaphore) -> None:
        self._slots, self._held = slots, True

    def give_back(self) -> None:
        global _active
        with _lock:
            if not self._held:
                return
            self._held = False
            _active -= 1
        self._slots.release()


@contextlib.contextmanager
def page_run() -> Iterator[Slot]:
    """Hold one of the process's page-run slots for the block (waits for one if all are taken);
    given back however the block ends (``st.stop``, ``st.rerun``, an exception)."""
    global _active
    slots = _semaphore()
    slots.acquire()
    with _lock:
        _active += 1
    slot = Slot(slots)
    try:
        yield slot
    finally:
        slot.give_back()


def active() -> int:
    """How many page runs hold a slot now (for tests)."""
    return _active
