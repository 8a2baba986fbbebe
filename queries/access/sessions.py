"""Server-side sign-in sessions: what lets a reload or a new tab stay signed in.

A session row is created at sign-in with an absolute end (``settings.session_minutes()`` from
sign-in, never extended) and an idle timeout (``settings.idle_minutes()`` since the last
activity). The browser gets a random 256-bit token in an HttpOnly cookie; the database keeps only
its SHA-256, so a leaked database or backup cannot be replayed as a cookie.

The token reaches the cookie through a one-time *handoff code*: sign-in happens inside
Streamlit's websocket, which cannot set cookies, so the script sends the browser to a small HTTP
route (``dashboard/session_routes.py``) with the code; that route redeems it (once, within
``HANDOFF_SECONDS``), creates the token and sets the cookie. Sign-out and disabling an account
revoke the row at once, whatever cookie a browser still holds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import OperationalError

from queries import settings
from queries.access.common import aware as _aware
from queries.db import is_busy, without_waiting
from queries.schema.access import user_sessions

HANDOFF_SECONDS = 60
TOUCH_SECONDS = 30  # last_seen_at is written at most this often (one write per click is waste)


@dataclass(frozen=True)
class Session:
    """A valid session: whose it is, and when it ends at the latest."""

    id: int
    username: str
    method: str
    expires_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(secret: str) -> str:
    """What is stored of a token or code: its SHA-256 (hex)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(
    engine: Engine, *, username: str, method: str, now: dt.datetime | None = None
) -> tuple[int, str]:
    """A new session for a user who just signed in: (its id, the one-time handoff code)."""
    now = now or _now()
    code = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        session_id = conn.execute(
            insert(user_sessions).values(
                username=username,
                method=method,
                handoff_hash=digest(code),
                handoff_expires_at=now + dt.timedelta(seconds=HANDOFF_SECONDS),
                created_at=now,
                expires_at=now + dt.timedelta(minutes=settings.session_minutes()),
                last_seen_at=now,
            )
        ).inserted_primary_key[0]
    return int(session_id), code


def redeem_handoff(
    engine: Engine, *, code: str, now: dt.datetime | None = None
) -> tuple[str, int] | None:
    """The cookie token and its lifetime in seconds for a fresh handoff code; None when the code
    is unknown, used already, expired, or its session has ended. A code works once."""
    now = now or _now()
    if not code or len(code) > 200:
        return None
    token = secrets.token_urlsafe(32)
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        row = conn.execute(
            select(user_sessions)
            .where(user_sessions.c.handoff_hash == digest(code))
            .with_for_update()
        ).first()
        if row is None:
            return None
        # Burn the code whatever happens next: a second use must fail.
        values = {"handoff_hash": None, "handoff_expires_at": None}
        fresh = _aware(row.handoff_expires_at) > now and _valid(row, now)
        if fresh:
            values["token_hash"] = digest(token)
        conn.execute(update(user_sessions).where(user_sessions.c.id == row.id).values(**values))
    if not fresh:
        return None
    return token, max(1, int((_aware(row.expires_at) - now).total_seconds()))


def _valid(row, now: dt.datetime) -> bool:
    idle = dt.timedelta(minutes=settings.idle_minutes())
    return (
        row.revoked_at is None
        and _aware(row.expires_at) > now
        and _aware(row.last_seen_at) + idle > now
    )


def _use(engine: Engine, row, now: dt.datetime) -> Session | None:
    if row is None or not _valid(row, now):
        return None
    if (now - _aware(row.last_seen_at)).total_seconds() >= TOUCH_SECONDS:
        _touch(engine, row.id, now)
    return Session(row.id, row.username, row.method, _aware(row.expires_at))


def _touch(engine: Engine, session_id: int, now: dt.datetime) -> None:
    """Stamp the session's activity in a transaction of its own, skipped when SQLite's writer
    lock is taken. Reading and then writing in one transaction fails at once under WAL when
    another write commits in between, and waiting would hold every signed-in rerun behind an
    upload or a cache fill for as long as they write; the idle timeout counts in minutes, so a
    stamp missed now is made at the next rerun."""
    try:
        with engine.connect() as conn, without_waiting(conn), conn.begin():
            conn.execute(
                update(user_sessions).where(user_sessions.c.id == session_id)
                .values(last_seen_at=now)
            )  # fmt: skip
    except OperationalError as exc:
        if not is_busy(exc):
            raise


def resume(engine: Engine, *, token: str, now: dt.datetime | None = None) -> Session | None:
    """The session a cookie token belongs to, if still valid (counts as activity)."""
    if not token or len(token) > 200:
        return None
    now = now or _now()
    with engine.connect() as conn:
        row = conn.execute(
            select(user_sessions).where(user_sessions.c.token_hash == digest(token))
        ).first()
    return _use(engine, row, now)


def check(engine: Engine, *, session_id: int, now: dt.datetime | None = None) -> Session | None:
    """The session by id (a tab that signed in itself), if still valid (counts as activity)."""
    now = now or _now()
    with engine.connect() as conn:
        row = conn.execute(select(user_sessions).where(user_sessions.c.id == session_id)).first()
    return _use(engine, row, now)


def revoke(
    engine: Engine,
    *,
    session_id: int | None = None,
    token: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """End one session (sign-out), found by id or by its cookie token."""
    if session_id is None and not token:
        return
    where = (
        user_sessions.c.id == session_id
        if session_id is not None
        else user_sessions.c.token_hash == digest(token or "")
    )
    with engine.begin() as conn:
        conn.execute(
            update(user_sessions)
            .where(where, user_sessions.c.revoked_at.is_(None))
            .values(revoked_at=now or _now(), handoff_hash=None)
        )


def revoke_user(conn: Connection, *, username: str, now: dt.datetime | None = None) -> int:
    """End every session of a user (disabled, password reset) inside the caller's transaction;
    how many were still open."""
    result = conn.execute(
        update(user_sessions)
        .where(user_sessions.c.username == username, user_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now or _now(), handoff_hash=None)
    )
    return result.rowcount or 0
