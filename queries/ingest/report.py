"""What happened to one uploaded file: the report a load or a check hands back (status, counts,
one error row per problem) and the rejected rows as a CSV."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from queries.export import to_csv_bytes
from queries.ingest.reading import ROW, RawTable
from queries.ingest.validate import ERROR_SCHEMA, Validation, empty_errors
from queries.vocab import UploadStatus

CHECKED_VALID = "valid"  # check_bytes only: nothing stored, no problem found


@dataclass(kw_only=True)
class IngestReport:
    """What happened to one file: status, counts and one error row per problem."""

    status: str  # an UploadStatus, or CHECKED_VALID for a check that found no problem
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
        frame = _clear_of(self.table.frame, ("row", "reason"))
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


def _clear_of(frame: pl.DataFrame, names: tuple[str, ...]) -> pl.DataFrame:
    """The file's own columns called like ours (``row``, ``reason``) renamed "<name> (in file)",
    so they stay data next to the real row number and reasons (issue 13, finding 10)."""
    renames: dict[str, str] = {}
    for name in names:
        if name in frame.columns:
            new = f"{name} (in file)"
            while new in frame.columns or new in renames.values():
                new += "'"
            renames[name] = new
    return frame.rename(renames)


def file_error(kind: str, message: str) -> IngestReport:
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
    return IngestReport(
        status=UploadStatus.REJECTED, kind=kind, errors=errors, message=message, error_count=1
    )


def summary(read: int, rejected: int, errors: int) -> str:
    if not errors:
        return f"{read:,} rows read, no problems found."
    return f"{read:,} rows read; {errors:,} problems in {rejected:,} rows."
