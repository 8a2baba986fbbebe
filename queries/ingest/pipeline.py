"""Load one uploaded file: read, validate, check against the database, write in one transaction.

All or nothing by default; ``keep_valid`` loads the valid rows and hands back the rejected ones.
Identical bytes already loaded change nothing. Every attempt is in the upload log.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import polars as pl
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from queries import settings
from queries.access import audit
from queries.db import checkpoint_after, is_busy
from queries.errors import InputFileError
from queries.ingest import store
from queries.ingest.duplicates import database_duplicates
from queries.ingest.reading import ROW, read_header, read_table
from queries.ingest.report import CHECKED_VALID, IngestReport, file_error, summary
from queries.ingest.uploads import (
    abandon,
    finish_upload,
    list_uploads,
    loaded_with_same_content,
    lock,
    mark_interrupted,
    rollback,
    start_upload,
)
from queries.ingest.validate import Validation, validate
from queries.summaries.ahead import scratch_detached, started_early
from queries.vocab import Stage, UploadKind, UploadStatus

__all__ = ["IngestReport", "check_bytes", "ingest_bytes", "list_uploads", "rollback"]


def _prepare(kind, content, file_name, source, wave, header_map, max_bytes, say):
    # --- issue 13: the header alone decides missing/duplicate columns; refuse those before a
    # single row is parsed, and refuse more rows than the setting allows (access hardening).
    header = read_header(content, file_name, max_bytes=max_bytes)
    early = validate(kind, header, source=source, wave=wave, header_map=header_map)
    # The header-only table has no rows by construction: "no data rows" is not a finding here.
    header_errors = early.errors.filter((pl.col("row") == 0) & (pl.col("code") != "no_rows"))
    if not header_errors.is_empty():
        return header, replace(early, errors=header_errors, error_count=header_errors.height)
    max_rows = settings.max_upload_rows()
    table = read_table(content, file_name, max_bytes=max_bytes, max_rows=max_rows)
    # --- end issue 13
    say(0.04, Stage.READING)
    validation = validate(kind, table, source=source, wave=wave, header_map=header_map)
    say(0.08, Stage.VALIDATING)
    return table, validation


def _checked(validation: Validation, db_errors: pl.DataFrame) -> tuple[pl.DataFrame, int, int]:
    """All errors (contract + database), their count, and the number of rejected rows."""
    errors = pl.concat([validation.errors, db_errors]).sort("row", maintain_order=True)
    count = validation.error_count + db_errors.height
    if (errors.get_column("row") == 0).any():
        return errors, count, validation.rows_read  # a file-wide problem rejects every row
    return errors, count, errors.filter(pl.col("row") > 0).get_column("row").n_unique()


def check_bytes(
    engine: Engine,
    kind: str,
    content: bytes,
    file_name: str,
    *,
    source: str | None = None,
    wave: str | None = None,
    header_map: dict[str, str] | None = None,
    max_bytes: int | None = None,
    progress: store.Progress | None = None,
) -> IngestReport:
    """Validate a file against the contract and the database without writing anything."""
    say = progress or _silent
    try:
        table, validation = _prepare(
            kind, content, file_name, source, wave, header_map, max_bytes, say
        )
    except InputFileError as exc:
        return file_error(kind, str(exc))
    with engine.connect() as conn:
        db_errors, _clash = database_duplicates(conn, validation)
    say(0.1, Stage.CHECKING)
    errors, count, rejected = _checked(validation, db_errors)
    return IngestReport(
        status=CHECKED_VALID if count == 0 else UploadStatus.REJECTED,
        kind=kind,
        rows_read=validation.rows_read,
        rows_rejected=rejected,
        errors=errors,
        error_count=count,
        table=table,
        message=summary(validation.rows_read, rejected, count),
        validation=validation,
    )


def _silent(fraction: float, stage: str) -> None:
    pass


BUSY = (
    "The database is busy with another upload; nothing was loaded from this file. "
    "Try again in a minute."
)


def ingest_bytes(
    engine: Engine,
    kind: str,
    content: bytes,
    file_name: str,
    *,
    source: str | None = None,
    wave: str | None = None,
    keep_valid: bool = False,
    uploaded_by: str = "cli",
    header_map: dict[str, str] | None = None,
    progress: store.Progress | None = None,
    max_bytes: int | None = None,
) -> IngestReport:
    """Load a file into the database (see the module docstring for the rules).

    The upload's log row is committed first (status 'loading', with this process's id), then
    the data and the final status are written in ONE transaction: a crash leaves nothing but
    the log row, which becomes 'interrupted'."""
    say = progress or _silent
    say(0.0, Stage.READING)
    sha = hashlib.sha256(content).hexdigest()
    mark_interrupted(engine)
    base = {
        "kind": kind,
        "file_name": file_name[:255],
        "sha256": sha,
        "uploaded_by": uploaded_by,
        "source": source,
        "wave": wave,
    }
    if (unchanged := _unchanged(engine, base)) is not None:
        return unchanged
    # a large SQLite survey file starts its summing helper now (queries.summaries.ahead)
    with started_early(engine.dialect.name, kind, len(content)):
        report = check_bytes(
            engine,
            kind,
            content,
            file_name,
            source=source,
            wave=wave,
            header_map=header_map,
            max_bytes=max_bytes,
            progress=say,
        )
        file_wide = (report.errors.get_column("row") == 0).any()
        if report.error_count and (not keep_valid or file_wide):
            # the same file may have finished loading meanwhile: its rows are then "duplicates"
            return _unchanged(engine, base) or _rejected(engine, base, report, file_name)
        try:
            upload_id = start_upload(
                engine, **base, status=UploadStatus.LOADING, rows_read=report.rows_read
            )
        except OperationalError as exc:
            if not is_busy(exc):
                raise
            report.status, report.message = UploadStatus.REJECTED, BUSY
            _audit_trouble(engine, uploaded_by, "upload_busy", None, file_name, BUSY)  # issue 13
            return report
        try:
            with (
                engine.connect().execution_options(immediate=True) as conn,
                store.references_checked_once(conn, kind),
                scratch_detached(conn),
                checkpoint_after(conn),
                conn.begin(),
            ):
                report = _load(conn, upload_id, report, keep_valid, base, say)
                _audit(engine, uploaded_by, report, file_name, conn=conn)
                say(0.98, Stage.FINISHING)
        except OperationalError as exc:
            if not is_busy(exc):
                abandon(engine, upload_id, UploadStatus.INTERRUPTED, f"The load failed: {exc.orig}")
                _audit_trouble(
                    engine, uploaded_by, "upload_interrupted", upload_id, file_name, exc.orig
                )
                raise
            abandon(engine, upload_id, UploadStatus.REJECTED, BUSY)
            _audit_trouble(engine, uploaded_by, "upload_busy", upload_id, file_name, BUSY)
            report.status, report.upload_id, report.message = UploadStatus.REJECTED, upload_id, BUSY
            report.rows_loaded = report.rows_new = report.rows_updated = report.rows_unchanged = 0
            return report
        except BaseException as exc:
            # e.g. a thread of the web app: the process lives on, so mark the row here
            abandon(engine, upload_id, UploadStatus.INTERRUPTED, f"The load failed: {exc}")
            _audit_trouble(engine, uploaded_by, "upload_interrupted", upload_id, file_name, exc)
            raise
        say(1.0, Stage.COMMITTING)
        return report


def _unchanged(engine: Engine, base: dict) -> IngestReport | None:
    """An 'unchanged' report (and log row) when identical bytes are already loaded."""
    with engine.connect() as conn:
        same = loaded_with_same_content(
            conn, base["kind"], base["sha256"], base["source"], base["wave"]
        )
    if same is None:
        return None
    message = _same_message(same)
    upload_id = start_upload(
        engine, **base, status=UploadStatus.UNCHANGED, message=message, pid=None
    )
    audit.record(  # issue 13: identical re-uploads are logged too
        engine,
        actor=base["uploaded_by"],
        action="upload_unchanged",
        target=f"upload {upload_id}",
        detail={"kind": base["kind"], "file_name": base["file_name"], "same_as": same},
    )
    return IngestReport(
        status=UploadStatus.UNCHANGED, kind=base["kind"], upload_id=upload_id, message=message
    )


def _same_message(upload_id: int) -> str:
    return f"This file was already loaded as upload {upload_id}; nothing changed."


def _rejected(engine: Engine, base: dict, report: IngestReport, file_name: str) -> IngestReport:
    """Log a rejected file (nothing stored) and return its report."""
    report.status = UploadStatus.REJECTED
    report.upload_id = start_upload(
        engine,
        **base,
        status=UploadStatus.REJECTED,
        rows_read=report.rows_read,
        rows_rejected=report.rows_rejected,
        message=report.message,
        pid=None,
    )
    _audit(engine, base["uploaded_by"], report, file_name)
    return report


def _load(
    conn: Connection,
    upload_id: int,
    report: IngestReport,
    keep_valid: bool,
    base: dict,
    say: store.Progress,
) -> IngestReport:
    """Inside the load transaction, holding the writer lock: check the database again (another
    upload may have finished meanwhile), write the rows, set the upload's final status."""
    kind, validation = report.kind, report.validation
    lock(conn, kind)
    same = loaded_with_same_content(conn, kind, base["sha256"], base["source"], base["wave"])
    if same is not None:  # an identical file finished loading while this one waited
        return _finished_unchanged(conn, upload_id, report, same)
    db_errors, clash = database_duplicates(conn, validation)
    errors, count, rejected = _checked(validation, db_errors)
    if count and not keep_valid:
        return _finished_rejected(conn, upload_id, report, errors, count, rejected)
    clean = validation.clean
    if not clash.is_empty():
        clean = clean.filter(~pl.col(ROW).is_in(clash.get_column(ROW).implode()))
    new, updated, unchanged = _store_rows(conn, kind, upload_id, clean, say)
    return _finished_loaded(
        conn,
        upload_id,
        report,
        errors=errors,
        count=count,
        rejected=rejected,
        counts=(new, updated, unchanged),
    )


def _store_rows(conn, kind: str, upload_id: int, clean: pl.DataFrame, say) -> tuple[int, int, int]:
    """Write the valid rows; (new, updated, unchanged) — survey rows are always new."""
    if kind == UploadKind.SURVEY:
        return store.insert_survey(conn, upload_id, clean, say), 0, 0
    return store.upsert_kind(conn, upload_id, clean, kind)


def _finished_unchanged(conn, upload_id: int, report: IngestReport, same: int) -> IngestReport:
    message = _same_message(same)
    finish_upload(conn, upload_id, status=UploadStatus.UNCHANGED, message=message, pid=None)
    return IngestReport(
        status=UploadStatus.UNCHANGED,
        kind=report.kind,
        upload_id=upload_id,
        rows_read=report.validation.rows_read,
        message=message,
    )


def _finished_rejected(conn, upload_id, report, errors, count, rejected) -> IngestReport:
    message = summary(report.validation.rows_read, rejected, count)
    finish_upload(
        conn,
        upload_id,
        status=UploadStatus.REJECTED,
        rows_rejected=rejected,
        message=message,
        pid=None,
    )
    return IngestReport(
        status=UploadStatus.REJECTED,
        kind=report.kind,
        upload_id=upload_id,
        rows_read=report.validation.rows_read,
        rows_rejected=rejected,
        errors=errors,
        error_count=count,
        table=report.table,
        message=message,
    )


def _finished_loaded(conn, upload_id, report, *, errors, count, rejected, counts) -> IngestReport:
    new, updated, unchanged = counts
    read = report.validation.rows_read
    loaded = new + updated + unchanged
    message = f"{loaded:,} of {read:,} rows loaded"
    if report.kind != UploadKind.SURVEY:
        message += f" ({new:,} new, {updated:,} updated, {unchanged:,} unchanged)"
    message += f"; {rejected:,} rows rejected." if count else "."
    status = UploadStatus.PARTIAL if count else UploadStatus.LOADED
    tally = {
        "rows_loaded": loaded,
        "rows_rejected": rejected,
        "rows_new": new,
        "rows_updated": updated,
        "rows_unchanged": unchanged,
    }
    finish_upload(conn, upload_id, status=status, message=message, pid=None, **tally)
    return IngestReport(
        status=status,
        kind=report.kind,
        upload_id=upload_id,
        rows_read=read,
        errors=errors,
        message=message,
        error_count=count,
        table=report.table,
        **tally,
    )


def _audit(engine, actor, report: IngestReport, file_name: str, conn=None) -> None:
    detail = {
        "kind": report.kind,
        "file_name": file_name,
        "status": report.status,
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
    }
    target = f"upload {report.upload_id}"
    if conn is not None:
        audit.record(actor=actor, action="upload", target=target, detail=detail, conn=conn)
    else:
        audit.record(engine, actor=actor, action="upload", target=target, detail=detail)


# --- audit of refusals and failures (issue 13) ---
def _audit_trouble(engine, actor, action: str, upload_id, file_name: str, why) -> None:
    """A busy-database refusal or an interrupted load: logged best effort (the database may be
    the very thing that is failing)."""
    target = f"upload {upload_id}" if upload_id is not None else file_name[:200]
    detail = {"file_name": file_name, "reason": str(why)[:500]}
    audit.record_best_effort(engine, actor=actor, action=action, target=target, detail=detail)


# --- end audit of refusals and failures ---
