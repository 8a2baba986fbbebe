"""The audit log: who signed in, uploaded, rolled back or changed a role, and when."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from sqlalchemy import Connection, Engine, insert, select

from queries.schema import audit_log


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record(
    engine: Engine | None = None,
    *,
    actor: str,
    action: str,
    target: str = "",
    detail: dict | None = None,
    conn: Connection | None = None,
) -> None:
    """Append one event; inside ``conn``'s transaction when given (so it commits with the work)."""
    row = {
        "at": _now(),
        "actor": actor or "unknown",
        "action": action,
        "target": target,
        "detail": json.loads(json.dumps(detail or {}, default=str)),
    }
    if conn is not None:
        conn.execute(insert(audit_log), row)
        return
    assert engine is not None, "record() needs an engine or a connection"
    with engine.begin() as own:
        own.execute(insert(audit_log), row)


def list_events(
    engine: Engine, *, action: str | None = None, actor: str | None = None, limit: int = 5000
) -> pl.DataFrame:
    """The latest events first, optionally only one action or actor."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if action:
        query = query.where(audit_log.c.action == action)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    schema = {
        "id": pl.Int64,
        "at": pl.Datetime("us"),
        "actor": pl.String,
        "action": pl.String,
        "target": pl.String,
        "detail": pl.String,
    }
    return pl.DataFrame(
        [
            {
                **r,
                "at": r["at"].replace(tzinfo=None),
                "detail": json.dumps(r["detail"], ensure_ascii=False),
            }
            for r in rows
        ],
        schema=schema,
    )
