"""Load one uploaded file: read, validate, check against the database, write in one transaction.

All or nothing by default; ``keep_valid`` loads the valid rows and hands back the rejected ones.
Identical bytes already loaded change nothing. Every attempt is in the upload log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Engine

from queries import audit, store
from queries.csvfile import ROW, RawTable, read_table
from queries.errors import InputFileError
from queries.export import to_csv_bytes
from queries.messages import render
from queries.uploads import (
    finish_upload,
    list_uploads,
    loaded_with_same_content,
    lock,
    mark_interrupted,
    rollback,
    start_upload,
)
from queries.validate import ERROR_SCHEMA, Validation, empty_errors, validate

__all__ = ["IngestReport", "check_bytes", "ingest_bytes", "list_uploads", "rollback"]


@dataclass
class IngestReport:
    """What happened to one file: status, counts and one error row per problem."""

    status: str  # loaded | unchanged | rejected | partial | valid (check only)
    kind: str
    upload_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    errors: pl.DataFrame = field(default_factory=empty_errors)
    message: str = ""
    error_count: int = 0
    table: RawTable | None = field(default=None, repr=False)
    validation: Validation | None = field(default=None, repr=False)

    def rejected_csv(self) -> bytes:
        """The rejected rows as they were in the file, with a ``reason`` column; formulas
        neutralised so the file is safe to open in Excel."""
        if self.table is None or self.errors.is_empty():
            return to_csv_bytes(pl.DataFrame({"reason": []}, schema={"reason": pl.String}))
        reasons = (
            self.errors.filter(pl.col("row") > 0)
            .group_by("row", maintain_order=True)
            .agg(
                reason=pl.concat_str(pl.col("column"), pl.lit(": "), pl.col("message")).str.join(
                    "; "
                )
            )
        )
        file_wide = self.errors.filter(pl.col("row") == 0).get_column("message").to_list()
        frame = self.table.frame
        if file_wide:
            rows = frame.with_columns(reason=pl.lit("; ".join(file_wide)))
        else:
            rows = frame.join(reasons, left_on=ROW, right_on="row", how="inner")
        rows = rows.rename({ROW: "row"}).select("row", "reason", pl.exclude("row", "reason"))
        return to_csv_bytes(rows)

    def to_json(self) -> dict:
        """The command line's ``--json`` object."""
        return {
            "status": self.status,
            "kind": self.kind,
            "upload_id": self.upload_id,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rows_new": self.rows_new,
            "rows_updated": self.rows_updated,
            "rows_unchanged": self.rows_unchanged,
            "message": self.message,
            "error_count": self.error_count,
            "errors": self.errors.select("row", "column", "value", "message").to_dicts(),
        }


def _file_error(kind: str, message: str) -> IngestReport:
    errors = pl.DataFrame(
        [
            {
                "row": 0,
                "column": "",
                "value": "",
                "message": message,
                "code": "unreadable",
                "params": json.dumps({"reason": message}, ensure_ascii=False),
            }
        ],
        schema=ERROR_SCHEMA,
    )
    return IngestReport("rejected", kind, errors=errors, message=message, error_count=1)


def _prepare(kind, content, file_name, source, wave, header_map, max_bytes):
    table = read_table(content, file_name, max_bytes=max_bytes)
    return table, validate(kind, table, source=source, wave=wave, header_map=header_map)


def _database_errors(conn, validation: Validation) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Survey respondents already stored by an earlier upload: errors, and the rows to drop."""
    clean = validation.clean
    if validation.kind != "survey" or clean.is_empty():
        return empty_errors(), clean.clear()
    ids = store.existing_wave_ids(conn)
    keyed = clean.join(ids, on=["source", "wave"], how="inner")
    stored = store.stored_respondents(conn, ids)
    clash = keyed.join(stored, on=["wave_id", "respondent_id"], how="inner")
    if clash.is_empty():
        return empty_errors(), clash
    rows = []
    for row in clash.head(10_000).iter_rows(named=True):
        params = {
            "value": row["respondent_id"],
            "upload_id": row["stored_by"],
            "key": f"{row['source']} / {row['wave']}",
            "column": "respondent_id",
        }
        rows.append(
            {
                "row": row[ROW],
                "column": "respondent_id",
                "value": row["respondent_id"],
                "message": render("duplicate_in_database", params),
                "code": "duplicate_in_database",
                "params": json.dumps(params),
            }
        )
    return pl.DataFrame(rows, schema=ERROR_SCHEMA), clash


def check_bytes(
    engine: Engine,
    kind: str,
    content: bytes,
    file_name: str,
    *,
    source=None,
    wave=None,
    header_map=None,
    max_bytes: int | None = None,
) -> IngestReport:
    """Validate a file against the contract and the database without writing anything."""
    try:
        table, validation = _prepare(kind, content, file_name, source, wave, header_map, max_bytes)
    except InputFileError as exc:
        return _file_error(kind, str(exc))
    with engine.connect() as conn:
        db_errors, _clash = _database_errors(conn, validation)
    errors = pl.concat([validation.errors, db_errors]).sort("row", maintain_order=True)
    count = validation.error_count + db_errors.height
    bad_rows = errors.filter(pl.col("row") > 0).get_column("row").n_unique()
    rejected = validation.rows_read if (errors.get_column("row") == 0).any() else bad_rows
    return IngestReport(
        "valid" if count == 0 else "rejected",
        kind,
        None,
        validation.rows_read,
        0,
        rejected,
        errors=errors,
        error_count=count,
        table=table,
        message=_summary(validation.rows_read, rejected, count),
        validation=validation,
    )


def _summary(read: int, rejected: int, errors: int) -> str:
    if not errors:
        return f"{read:,} rows read, no problems found."
    return f"{read:,} rows read; {errors:,} problems in {rejected:,} rows."


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
    """Load a file into the database (see the module docstring for the rules)."""
    say = progress or (lambda fraction, stage: None)
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
    same = loaded_with_same_content(engine, kind, sha)
    if same is not None:
        message = f"This file was already loaded as upload {same}; nothing changed."
        upload_id = start_upload(engine, **base, status="unchanged", message=message)
        return IngestReport("unchanged", kind, upload_id, message=message)
    say(0.02, "reading")
    report = check_bytes(
        engine,
        kind,
        content,
        file_name,
        source=source,
        wave=wave,
        header_map=header_map,
        max_bytes=max_bytes,
    )
    say(0.1, "validated")
    table = report.table
    if report.error_count and (not keep_valid or (report.errors.get_column("row") == 0).any()):
        report.upload_id = start_upload(
            engine,
            **base,
            status="rejected",
            rows_read=report.rows_read,
            rows_rejected=report.rows_rejected,
            message=report.message,
        )
        _audit(engine, uploaded_by, report, file_name)
        return report
    upload_id = start_upload(engine, **base, status="loading", rows_read=report.rows_read)
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        lock(conn)
        validation = report.validation  # the contract checks do not depend on the database
        db_errors, clash = _database_errors(conn, validation)  # again, under the lock
        clean = validation.clean
        if not clash.is_empty():
            clean = clean.filter(~pl.col(ROW).is_in(clash.get_column(ROW).implode()))
        errors = pl.concat([validation.errors, db_errors]).sort("row", maintain_order=True)
        count = validation.error_count + db_errors.height
        rejected = errors.filter(pl.col("row") > 0).get_column("row").n_unique()
        if count and not keep_valid:
            conn.rollback()
            report = IngestReport(
                "rejected",
                kind,
                upload_id,
                validation.rows_read,
                0,
                rejected,
                errors=errors,
                error_count=count,
                table=table,
                message=_summary(validation.rows_read, rejected, count),
            )
            with engine.begin() as done:
                finish_upload(
                    done,
                    upload_id,
                    status="rejected",
                    rows_rejected=rejected,
                    message=report.message,
                )
            _audit(engine, uploaded_by, report, file_name)
            return report
        new = updated = unchanged = 0
        if kind == "survey":
            new = store.insert_survey(conn, upload_id, clean, say)
        elif kind == "ngo":
            new, updated, unchanged = store.upsert_ngo(conn, upload_id, clean)
        else:
            new, updated, unchanged = store.upsert_proposals(conn, upload_id, clean)
        status = "partial" if count else "loaded"
        loaded = new + updated + unchanged
        message = f"{loaded:,} of {validation.rows_read:,} rows loaded"
        if kind != "survey":
            message += f" ({new:,} new, {updated:,} updated, {unchanged:,} unchanged)"
        message += f"; {rejected:,} rows rejected." if count else "."
        finish_upload(
            conn,
            upload_id,
            status=status,
            rows_loaded=loaded,
            rows_rejected=rejected,
            rows_new=new,
            rows_updated=updated,
            rows_unchanged=unchanged,
            message=message,
            pid=None,
        )
        report = IngestReport(
            status,
            kind,
            upload_id,
            validation.rows_read,
            loaded,
            rejected,
            new,
            updated,
            unchanged,
            errors,
            message,
            count,
            table,
        )
        _audit(engine, uploaded_by, report, file_name, conn=conn)
        say(0.97, "committing")  # everything written, not yet committed
    say(1.0, "done")
    return report


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
