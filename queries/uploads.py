"""The upload log: start and finish an upload's record, detect interrupted loads, list uploads,
and roll one back whole."""

from __future__ import annotations

import datetime as dt
import json
import os

import polars as pl
from sqlalchemy import Connection, Engine, delete, insert, select, update

from queries import audit
from queries.errors import SenimError
from queries.schema import (
    ngo_activity,
    proposals,
    responses,
    row_history,
    survey_waves,
    trust_scores,
    uploads,
)

DONE = ("loaded", "partial")
TABLE_OF = {"ngo": ngo_activity, "proposals": proposals}
KEYS_OF = {"ngo": ("region_code", "period"), "proposals": ("source", "proposal_id")}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_interrupted(engine: Engine) -> int:
    """Uploads left 'loading' by a process that no longer exists become 'interrupted'.
    (Their data was never committed: the load is one transaction.)"""
    with engine.begin() as conn:
        rows = conn.execute(
            select(uploads.c.id, uploads.c.pid).where(uploads.c.status == "loading")
        ).all()
        dead = [row.id for row in rows if not _pid_alive(row.pid)]
        if dead:
            conn.execute(
                update(uploads)
                .where(uploads.c.id.in_(dead))
                .values(
                    status="interrupted",
                    message="The loading process stopped before it finished; nothing was stored.",
                )
            )
    return len(dead)


def start_upload(engine: Engine, **values: object) -> int:
    """Record an upload (committed at once, so even a killed load leaves its trace)."""
    with engine.begin() as conn:
        result = conn.execute(insert(uploads).values(uploaded_at=now(), pid=os.getpid(), **values))
        return int(result.inserted_primary_key[0])


def finish_upload(conn: Connection, upload_id: int, **values: object) -> None:
    """Set an upload's final status and counts (inside the load's transaction)."""
    conn.execute(update(uploads).where(uploads.c.id == upload_id).values(**values))


def loaded_with_same_content(engine: Engine, kind: str, sha256: str) -> int | None:
    """The id of a loaded, not rolled-back upload of identical bytes, if any."""
    with engine.connect() as conn:
        return conn.execute(
            select(uploads.c.id)
            .where(uploads.c.kind == kind, uploads.c.sha256 == sha256, uploads.c.status.in_(DONE))
            .order_by(uploads.c.id)
            .limit(1)
        ).scalar()


def list_uploads(engine: Engine) -> pl.DataFrame:
    """Every upload, newest first, with its counts and status."""
    mark_interrupted(engine)
    query = select(uploads).order_by(uploads.c.id.desc())
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    schema = {
        "id": pl.Int64,
        "kind": pl.String,
        "file_name": pl.String,
        "sha256": pl.String,
        "uploaded_by": pl.String,
        "uploaded_at": pl.Datetime("us"),
        "source": pl.String,
        "wave": pl.String,
        "status": pl.String,
        "rows_read": pl.Int64,
        "rows_loaded": pl.Int64,
        "rows_rejected": pl.Int64,
        "rows_new": pl.Int64,
        "rows_updated": pl.Int64,
        "rows_unchanged": pl.Int64,
        "message": pl.String,
        "pid": pl.Int64,
        "rolled_back_at": pl.Datetime("us"),
        "rolled_back_by": pl.String,
    }
    naive = [
        {k: (v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v) for k, v in r.items()}
        for r in rows
    ]
    return pl.DataFrame(naive, schema=schema)


def _restore(conn: Connection, kind: str, upload_id: int) -> int:
    table, keys = TABLE_OF[kind], KEYS_OF[kind]
    entries = conn.execute(
        select(row_history.c.row_key, row_history.c.previous).where(
            row_history.c.upload_id == upload_id
        )
    ).all()
    for entry in entries:
        key = json.loads(entry.row_key)
        where = [table.c[k] == key[k] for k in keys]
        current = conn.execute(select(table.c.id, table.c.upload_id).where(*where)).first()
        if current is not None and current.upload_id != upload_id:
            raise SenimError(
                f"Upload {upload_id} cannot be rolled back: upload {current.upload_id} changed the "
                f"same row ({', '.join(str(key[k]) for k in keys)}) later; roll that back first."
            )
        if entry.previous is None:
            conn.execute(delete(table).where(*where))
        else:
            previous = dict(entry.previous)
            for name in ("submitted_on", "answered_on", "implemented_on"):
                if previous.get(name):
                    previous[name] = dt.date.fromisoformat(previous[name])
            conn.execute(update(table).where(*where).values(**previous))
    conn.execute(delete(row_history).where(row_history.c.upload_id == upload_id))
    return len(entries)


def rollback(engine: Engine, upload_id: int, *, by: str) -> str:
    """Remove one upload's rows whole (restoring what it replaced); returns a summary."""
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        lock(conn)
        row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).mappings().first()
        if row is None:
            raise SenimError(f"There is no upload {upload_id}.")
        if row["status"] == "rolled_back":
            raise SenimError(f"Upload {upload_id} was already rolled back.")
        if row["status"] not in DONE:
            raise SenimError(
                f"Upload {upload_id} has status '{row['status']}': it stored nothing to roll back."
            )
        if row["kind"] == "survey":
            ids = select(responses.c.id).where(responses.c.upload_id == upload_id)
            conn.execute(delete(trust_scores).where(trust_scores.c.response_id.in_(ids)))
            removed = conn.execute(
                delete(responses).where(responses.c.upload_id == upload_id)
            ).rowcount
            used = select(responses.c.wave_id).distinct()
            conn.execute(delete(survey_waves).where(survey_waves.c.id.not_in(used)))
        else:
            removed = _restore(conn, row["kind"], upload_id)
        conn.execute(
            update(uploads)
            .where(uploads.c.id == upload_id)
            .values(status="rolled_back", rolled_back_at=now(), rolled_back_by=by)
        )
        audit.record(
            actor=by,
            action="rollback",
            target=f"upload {upload_id}",
            detail={"kind": row["kind"], "file_name": row["file_name"], "rows": removed},
            conn=conn,
        )
    return f"Upload {upload_id} ({row['file_name']}) rolled back: {removed:,} rows undone."


INGEST_LOCK = (
    7_355_608  # one application-wide lock id: uploads and rollbacks queue, never interleave
)


def lock(conn: Connection) -> None:
    """Serialise writers: BEGIN IMMEDIATE does it on SQLite, an advisory lock on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({INGEST_LOCK})")
