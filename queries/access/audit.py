"""The audit log: who signed in, uploaded, rolled back or changed a role, and when.

``record`` is called by every module that changes something a reviewer may ask about later
(accounts, uploads, rollbacks); pass ``conn=`` to write the event in the caller's transaction,
so the event exists exactly when the change does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading

import polars as pl
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from queries.errors import DatabaseUnavailable
from queries.schema.access import audit_log

_LOG = logging.getLogger("senim.audit")

EVENT_COLUMNS = {
    "id": pl.Int64,
    "at": pl.Datetime("us"),  # naive UTC
    "actor": pl.String,
    "action": pl.String,
    "target": pl.String,
    "detail": pl.String,  # JSON text
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    """Naive UTC: SQLite hands back naive UTC, PostgreSQL aware times in its session zone."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _row(actor: str, action: str, target: str, detail: dict | None, at: dt.datetime) -> dict:
    if len(action) > 32:
        raise ValueError(f"audit action {action!r} is longer than 32 characters")
    return {
        "at": at,
        "actor": (actor or "unknown")[:200],
        "action": action,
        "target": target or "",
        # Round-trip through JSON so dates, paths etc. are stored as text on both databases.
        "detail": json.loads(json.dumps(detail or {}, default=str)),
    }


def record(
    engine: Engine | None = None,
    *,
    actor: str,
    action: str,
    target: str = "",
    detail: dict | None = None,
    conn: Connection | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one event; inside ``conn``'s transaction when given (so it commits with the work)."""
    row = _row(actor, action, target, detail, at or _now())
    if conn is not None:
        conn.execute(insert(audit_log), row)
        return
    if engine is None:
        raise ValueError("record() needs an engine or a connection")
    _write_with_pending(engine, row)


# Events that could not be written (the database was busy or failing, which is often the very
# thing being logged): kept in memory and written, with their own time, before the next event
# this process writes through an engine to the same database (never into another one).
_pending: dict[str, list[dict]] = {}
_pending_lock = threading.Lock()


def _write_with_pending(engine: Engine, row: dict) -> None:
    key = str(engine.url)
    with _pending_lock:
        rows = [*_pending.pop(key, []), row]
    try:
        with engine.begin() as own:
            own.execute(insert(audit_log), rows)
    except BaseException:
        with _pending_lock:  # the earlier events wait for the next write
            _pending[key] = [*rows[:-1], *_pending.get(key, [])]
        raise


def list_events(
    engine: Engine,
    *,
    action: str | None = None,
    actions: tuple[str, ...] = (),
    actor: str | None = None,
    target: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 5000,
) -> pl.DataFrame:
    """The latest events first (``EVENT_COLUMNS``), filtered by action(s), actor, target and a
    time window ``since <= at < until`` (aware or naive UTC)."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(max(1, limit))
    wanted = tuple(actions) + ((action,) if action else ())
    if wanted:
        query = query.where(audit_log.c.action.in_(wanted))
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if target:
        query = query.where(audit_log.c.target == target)
    if since is not None:
        query = query.where(audit_log.c.at >= _aware(since))
    if until is not None:
        query = query.where(audit_log.c.at < _aware(until))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return pl.DataFrame(
        [
            {
                **r,
                "at": _utc(r["at"]),
                "detail": json.dumps(r["detail"] or {}, ensure_ascii=False, sort_keys=True),
            }
            for r in rows
        ],
        schema=EVENT_COLUMNS,
    )


def _aware(value: dt.datetime) -> dt.datetime:
    # UTC components: SQLite stores the wall-clock text and compares it as text.
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def record_best_effort(
    engine: Engine, *, actor: str, action: str, target: str = "", detail: dict | None = None
) -> None:
    """``record`` for events that happen *because* the database is struggling (busy, a load
    that failed): never raises; an event that cannot be written now is written before the next
    one (and a warning is logged)."""
    at = _now()
    try:
        record(engine, actor=actor, action=action, target=target, detail=detail, at=at)
    except (SQLAlchemyError, DatabaseUnavailable) as exc:
        _LOG.warning("audit event %s %s %s kept for the next write: %s", action, actor, target, exc)
        with _pending_lock:
            _pending.setdefault(str(engine.url), []).append(_row(actor, action, target, detail, at))


def record_download(engine: Engine, *, actor: str, what: str, rows: int) -> None:
    """A table or file downloaded from the app (who, which table/file, how many rows)."""
    record(engine, actor=actor, action="download", target=what[:200], detail={"rows": int(rows)})


def os_actor() -> str:
    """The actor of a command-line change: ``cli:`` + the operating-system account running it,
    from the process's user id (not from $USER/$LOGNAME, which the caller can set to anything)."""
    try:
        import pwd

        return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except (ImportError, KeyError, OSError):  # no pwd module (Windows) or uid not in passwd
        uid = getattr(os, "getuid", lambda: None)()
        return f"cli:uid {uid}" if uid is not None else "cli"
