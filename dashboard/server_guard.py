"""Server-side guards on Streamlit's own endpoints, installed from the app process at start-up.

Streamlit decides two costly things before any script of ours runs (field notes, issue 13):

- ``PUT /_stcore/upload_file/<session>/<file>`` stores a file for any open session, signed in or
  not. Its first check is ``runtime.is_active_session(session_id)``, called before the body is
  read (Streamlit 1.67, ``web/server/starlette/starlette_routes.py``, ``_upload_put``). We wrap
  that method on the runtime instance so a session without a signed-in staff user counts as
  inactive: the request is refused (HTTP 400) without reading the body.
- A deferred download (``st.download_button(data=callable)``) is made when a session sends a
  ``deferred_file`` request with the file's id; Streamlit's handler does not ask which session
  sends it (``runtime/backend_operation_handler.py``, ``DeferredFileHandler.handle``). We wrap it:
  only the session the id was issued to, still signed in with the download role, gets the file.
- The ``clear_cache`` BackMsg empties ``st.cache_data``/``st.cache_resource`` for every user
  (``runtime/app_session.py``, ``AppSession._handle_clear_cache_request``). We wrap that method on
  the class: only an admin's session may clear the caches; others are ignored and logged.

Who is signed in where: every script run calls ``note_session(user)``, which records the
session's user (from ``dashboard.auth``) in a process-wide table keyed on Streamlit's session id.
An entry lives the idle timeout (``SENIM_IDLE_MINUTES``, capped by ``SENIM_SESSION_MINUTES``)
after the session's last run, so a tab left open does not keep upload rights; signing out,
expiry or a disabled account removes it at the next run.

``server.maxUploadSize`` is 1 MB in ``.streamlit/config.toml`` (the window between server start
and the first script run, when these guards are not installed yet) and is raised here to
``SENIM_MAX_UPLOAD_MB``. The patched names are checked at install: on a Streamlit without them the
app refuses to start (fail closed) instead of running unguarded. Pinned: requirements.txt.

Also here: ``check_slot``, at most one upload check or load per user and ``SENIM_MAX_CHECKS`` in
the whole process at a time (each may hold a few times the file's size in memory).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import streamlit as st
from streamlit import config

from dashboard import auth
from queries import settings
from queries.vocab import Role

TESTED_STREAMLIT = "1.67.0"
UPLOAD_ROLE = Role.STAFF
CLEAR_CACHE_ROLE = Role.ADMIN
DOWNLOAD_ROLE = Role.ANALYST  # tables' CSV/xlsx (dashboard/components/table.py)
_LOG = logging.getLogger("senim.server_guard")
_lock = threading.Lock()
_installed = False


@dataclass(frozen=True)
class _Seen:
    user: auth.SessionUser
    until: float  # time.monotonic() after which the entry no longer counts


_sessions: dict[str, _Seen] = {}


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def note_session(user: auth.SessionUser | None) -> None:
    """Record who is signed in in this script run's session (None: nobody)."""
    session_id = _session_id()
    if session_id is None:
        return
    now = time.monotonic()
    with _lock:
        for stale in [sid for sid, seen in _sessions.items() if seen.until <= now]:
            del _sessions[stale]
        if user is None or user.username == "anonymous":
            _sessions.pop(session_id, None)
        else:
            minutes = min(settings.idle_minutes(), settings.session_minutes())
            _sessions[session_id] = _Seen(user, now + minutes * 60)


def session_allows(session_id: str, role: str) -> bool:
    """Whether the session's recorded user (still valid) has ``role`` or a higher one."""
    with _lock:
        seen = _sessions.get(session_id)
    return seen is not None and seen.until > time.monotonic() and auth.has_role(seen.user, role)


def forget_all() -> None:
    """Drop every recorded session (tests)."""
    with _lock:
        _sessions.clear()


def upload_limit_mib() -> int:
    """``SENIM_MAX_UPLOAD_MB`` (10^6 bytes) in Streamlit's unit (MiB), rounded up."""
    return math.ceil(settings.max_upload_mb() * 1_000_000 / 1_048_576)


def _guard_uploads() -> None:
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest and bare-mode runs have no HTTP server
        return
    runtime = Runtime.instance()
    original = runtime.is_active_session
    if getattr(original, "__senim_guard__", False):
        return

    def is_active_session(session_id: str) -> bool:
        # Only the upload route calls this (1.67); the body is not read when it says False.
        if not original(session_id):
            return False
        if session_allows(session_id, UPLOAD_ROLE):
            return True
        _LOG.warning("upload refused: session %s has no signed-in staff user", session_id[:8])
        return False

    is_active_session.__senim_guard__ = True  # type: ignore[attr-defined]
    runtime.is_active_session = is_active_session  # type: ignore[method-assign]


def _guard_clear_cache() -> None:
    from streamlit.runtime.app_session import AppSession

    original = AppSession._handle_clear_cache_request
    if getattr(original, "__senim_guard__", False):
        return

    def _handle_clear_cache_request(self: AppSession) -> None:
        if session_allows(self.id, CLEAR_CACHE_ROLE):
            original(self)
            return
        _LOG.warning("clear_cache refused: session %s is not an admin's", self.id[:8])

    _handle_clear_cache_request.__senim_guard__ = True  # type: ignore[attr-defined]
    AppSession._handle_clear_cache_request = _handle_clear_cache_request  # type: ignore[method-assign]


def _deferred_owner(file_id: str) -> str | None:
    """The session a deferred file's id was issued to (None: unknown id)."""
    from streamlit.runtime import Runtime

    entry = Runtime.instance().media_file_mgr._deferred_callables.get(file_id)
    return None if entry is None else entry.get("session_id")


def _guard_deferred_files() -> None:
    from streamlit.proto.ForwardMsg_pb2 import BackendOperationResponse
    from streamlit.runtime import Runtime
    from streamlit.runtime.backend_operation_handler import DeferredFileHandler

    if not Runtime.exists():  # AppTest runs deferred files itself, with no request to check
        return
    original = DeferredFileHandler.handle
    if getattr(original, "__senim_guard__", False):
        return

    async def handle(self, request, session_id: str):
        file_id = request.deferred_file.file_id
        if _deferred_owner(file_id) == session_id and session_allows(session_id, DOWNLOAD_ROLE):
            return await original(self, request, session_id)
        _LOG.warning("download refused: session %s asked for a file not its own or without the "
                     "download role", session_id[:8])  # fmt: skip
        return BackendOperationResponse(
            request_id=request.request_id, error_msg="Failed to generate file for download"
        )

    handle.__senim_guard__ = True  # type: ignore[attr-defined]
    DeferredFileHandler.handle = handle  # type: ignore[method-assign]


def _check_streamlit() -> None:
    from streamlit.runtime import Runtime
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.backend_operation_handler import DeferredFileHandler
    from streamlit.runtime.media_file_manager import MediaFileManager

    missing = [
        name
        for owner, name in (
            (Runtime, "is_active_session"),
            (AppSession, "_handle_clear_cache_request"),
            (DeferredFileHandler, "handle"),
        )
        if not callable(getattr(owner, name, None))
    ]
    if Runtime.exists() and not isinstance(
        getattr(Runtime.instance().media_file_mgr, "_deferred_callables", None), dict
    ):
        missing.append(f"{MediaFileManager.__name__}._deferred_callables")
    if missing:
        raise RuntimeError(
            f"Senim's server guard was written for Streamlit {TESTED_STREAMLIT}; this Streamlit "
            f"({st.__version__}) lacks {', '.join(missing)}. Refusing to run unguarded."
        )
    if st.__version__ != TESTED_STREAMLIT:
        _LOG.warning("server guard tested on Streamlit %s, running %s", TESTED_STREAMLIT,
                     st.__version__)  # fmt: skip


def install() -> None:
    """Install the guards once per process (idempotent; cheap on later runs)."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        _check_streamlit()
        config.set_option("server.maxUploadSize", upload_limit_mib(), "SENIM_MAX_UPLOAD_MB")
        _guard_uploads()
        _guard_clear_cache()
        _guard_deferred_files()
        _installed = True


class Busy(Exception):
    """No check slot free: ``mine`` when this user already has one running."""

    def __init__(self, *, mine: bool) -> None:
        super().__init__("busy")
        self.mine = mine


_running: dict[str, int] = {}


@contextlib.contextmanager
def check_slot(username: str) -> Iterator[None]:
    """Hold one of the process's check slots for ``username`` or raise ``Busy`` at once."""
    with _lock:
        if _running.get(username):
            raise Busy(mine=True)
        if sum(_running.values()) >= settings.max_checks():
            raise Busy(mine=False)
        _running[username] = 1
    try:
        yield
    finally:
        with _lock:
            _running.pop(username, None)
