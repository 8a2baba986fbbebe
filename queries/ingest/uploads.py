"""The upload log: start and finish an upload's record, detect interrupted loads, list uploads,
and roll one back whole."""

from __future__ import annotations

import datetime as dt
import json
import os

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import OperationalError

from queries.access import audit
from queries.contract import Parser, contract
from queries.db import is_busy
from queries.errors import SenimError
from queries.schema.base import metadata
from queries.schema.data import (
    UPLOAD_KINDS,
    responses,
    row_history,
    survey_waves,
    trust_scores,
    uploads,
)
from queries.vocab import DONE_STATUSES, UploadKind, UploadStatus


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
    (Their data was never committed: the load is one transaction.) Best effort: when another
    upload holds the database, the next call does it."""
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                select(uploads.c.id, uploads.c.pid).where(uploads.c.status == UploadStatus.LOADING)
            ).all()
            dead = [row.id for row in rows if not _pid_alive(row.pid)]
            if dead:
                conn.execute(
                    update(uploads)
                    .where(uploads.c.id.in_(dead), uploads.c.status == UploadStatus.LOADING)
                    .values(status=UploadStatus.INTERRUPTED, message=INTERRUPTED, pid=None)
                )
                for upload_id in dead:  # issue 13: interrupted loads are in the audit log
                    audit.record(
                        actor="system",
                        action="upload_interrupted",
                        target=f"upload {upload_id}",
                        detail={"reason": INTERRUPTED},
                        conn=conn,
                    )
    except OperationalError as exc:
        if not is_busy(exc):
            raise
        return 0
    return len(dead)


INTERRUPTED = "The loading process stopped before it finished; nothing was stored."


def start_upload(engine: Engine, **values: object) -> int:
    """Record an upload (committed at once, so even a killed load leaves its trace)."""
    with engine.begin() as conn:
        values = {"uploaded_at": now(), "pid": os.getpid(), **values}
        result = conn.execute(insert(uploads).values(**values))
        return int(result.inserted_primary_key[0])


def finish_upload(conn: Connection, upload_id: int, **values: object) -> None:
    """Set an upload's final status and counts (inside the load's transaction)."""
    conn.execute(update(uploads).where(uploads.c.id == upload_id).values(**values))


def loaded_with_same_content(
    conn: Connection, kind: str, sha256: str, source: str | None, wave: str | None
) -> int | None:
    """The id of a loaded, not rolled-back upload of identical bytes, if any. The file-wide
    source and wave count too: the same file given another wave is other data."""
    return conn.execute(
        select(uploads.c.id)
        .where(
            uploads.c.kind == kind,
            uploads.c.sha256 == sha256,
            uploads.c.status.in_(DONE_STATUSES),
            uploads.c.source.is_(None) if source is None else uploads.c.source == source,
            uploads.c.wave.is_(None) if wave is None else uploads.c.wave == wave,
        )
        .order_by(uploads.c.id)
        .limit(1)
    ).scalar()


def abandon(engine: Engine, upload_id: int, status: str, message: str) -> None:
    """Close an upload whose load failed (its transaction was rolled back: nothing stored)."""
    try:
        with engine.begin() as conn:
            finish_upload(conn, upload_id, status=status, message=message, pid=None)
    except Exception:  # the database itself is gone; mark_interrupted will do it later
        pass


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
    """Undo an upload of a keyed kind (NGO, proposals, population) from its row_history: delete
    the rows it inserted, put back the values it replaced. Refused when a later upload changed
    one of those rows."""
    spec = contract(kind)
    table, keys = metadata.tables[spec.table], spec.key
    entries = conn.execute(
        select(row_history.c.row_key, row_history.c.previous).where(
            row_history.c.upload_id == upload_id
        )
    ).all()
    if not entries:
        return 0
    history = pl.DataFrame(
        [{**json.loads(e.row_key), "_entry": i} for i, e in enumerate(entries)],
        schema={**dict.fromkeys(keys, pl.String), "_entry": pl.Int64},
    )
    current = pl.DataFrame(
        conn.execute(select(table.c.id, table.c.upload_id, *(table.c[k] for k in keys))).all(),
        schema={"id": pl.Int64, "upload_id": pl.Int64, **{k: spec.column(k).dtype for k in keys}},
        orient="row",
    ).with_columns(pl.col(keys).cast(pl.String))  # as the history's JSON keys
    rows = history.join(current, on=list(keys), how="left").sort("_entry")
    later = rows.filter(pl.col("upload_id").is_not_null() & (pl.col("upload_id") != upload_id))
    if later.height:
        first = later.row(0, named=True)
        raise SenimError(
            f"Upload {upload_id} cannot be rolled back: upload {first['upload_id']} changed the "
            f"same row ({', '.join(str(first[k]) for k in keys)}) later; roll that back first."
        )
    dates = [c.name for c in spec.columns if c.parser is Parser.DATE]
    inserted, replaced = [], []
    for entry, row_id in rows.select("_entry", "id").iter_rows():
        previous = entries[entry].previous
        if row_id is None:
            continue  # already gone: nothing to undo
        if previous is None:
            inserted.append(row_id)
        else:
            values = dict(previous)
            for name in dates:
                if values.get(name):
                    values[name] = dt.date.fromisoformat(values[name])
            replaced.append({"_id": row_id, **{f"_{n}": v for n, v in values.items()}})
    for offset in range(0, len(inserted), 10_000):
        conn.execute(delete(table).where(table.c.id.in_(inserted[offset : offset + 10_000])))
    if replaced:
        # bind names must differ from the column names they set
        names = [n[1:] for n in replaced[0] if n != "_id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({n: bindparam(f"_{n}") for n in names})
        )
        conn.execute(statement, replaced)
    conn.execute(delete(row_history).where(row_history.c.upload_id == upload_id))
    return len(entries)


def rollback(engine: Engine, upload_id: int, *, by: str) -> str:
    """Remove one upload's rows whole (restoring what it replaced), in one transaction;
    returns a summary. Raises SenimError with the reason when it cannot."""
    try:
        return _rollback(engine, upload_id, by)
    except OperationalError as exc:
        if not is_busy(exc):
            raise
        raise SenimError(
            f"The database is busy with another upload; upload {upload_id} was not rolled back. "
            "Try again in a minute."
        ) from None


def _rollback(engine: Engine, upload_id: int, by: str) -> str:
    with engine.connect() as conn:
        kind = conn.execute(select(uploads.c.kind).where(uploads.c.id == upload_id)).scalar()
    if kind is None:
        raise SenimError(f"There is no upload {upload_id}.")
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        lock(conn, kind)
        row = conn.execute(select(uploads).where(uploads.c.id == upload_id)).mappings().one()
        if row["status"] == UploadStatus.ROLLED_BACK:
            raise SenimError(f"Upload {upload_id} was already rolled back.")
        if row["status"] == UploadStatus.LOADING:
            raise SenimError(f"Upload {upload_id} is still loading; roll it back once it is done.")
        if row["status"] not in DONE_STATUSES:
            raise SenimError(
                f"Upload {upload_id} has status '{row['status']}': it stored nothing to roll back."
            )
        if row["kind"] == "survey":
            # summary store (issue 11): the waves this upload touched, summed again below
            from queries.summaries.store import refresh_waves, upload_waves

            touched = upload_waves(conn, upload_id)
            ids = select(responses.c.id).where(responses.c.upload_id == upload_id)
            conn.execute(delete(trust_scores).where(trust_scores.c.response_id.in_(ids)))
            removed = conn.execute(
                delete(responses).where(responses.c.upload_id == upload_id)
            ).rowcount
            used = select(responses.c.wave_id).distinct()
            conn.execute(delete(survey_waves).where(survey_waves.c.id.not_in(used)))
            refresh_waves(conn, touched)  # same transaction: rows and sums change together
        else:
            removed = _restore(conn, row["kind"], upload_id)
            if row["kind"] == UploadKind.PROPOSALS:  # register summaries (issue 11), same txn
                from queries.summaries.register import refresh_register

                refresh_register(conn)
        conn.execute(
            update(uploads)
            .where(uploads.c.id == upload_id)
            .values(status=UploadStatus.ROLLED_BACK, rolled_back_at=now(), rolled_back_by=by)
        )
        audit.record(
            actor=by,
            action="rollback",
            target=f"upload {upload_id}",
            detail={"kind": row["kind"], "file_name": row["file_name"], "rows": removed},
            conn=conn,
        )
    return f"Upload {upload_id} ({row['file_name']}) rolled back: {removed:,} rows undone."


# One advisory lock per upload kind: loads and rollbacks of one kind queue, never interleave;
# different kinds touch different tables and may run side by side.
INGEST_LOCK = 7_355_600


def lock(conn: Connection, kind: str) -> None:
    """Serialise writers of ``kind``: BEGIN IMMEDIATE does it on SQLite (one writer at all),
    a transaction-scoped advisory lock on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        key = INGEST_LOCK + UPLOAD_KINDS.index(kind)
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({key})")
