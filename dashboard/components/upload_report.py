"""An upload's error report: messages in the session's language, the table (row, column, value,
message), and the whole report as a CSV download. ``CheckSummary`` is what the Upload page keeps
of a check in the session: counts, the error rows and a ten-row preview, never the parsed file
(issue 13: four kept checks of a 100 MB file held 2.9 GB per open tab)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import streamlit as st

from dashboard.components.table import CSV, download
from dashboard.i18n import fmt_number, has_key, t
from queries.export import to_csv_bytes
from queries.ingest.pipeline import IngestReport
from queries.ingest.reading import ROW

SHOWN_ROWS = 2_000  # the grid shows the first problems; the CSV holds them all
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class CheckSummary:
    """The small part of a check that the page needs again on the next click."""

    status: str
    readable: bool  # False: not a table at all (``message`` says why)
    rows_read: int
    rows_rejected: int
    error_count: int
    errors: pl.DataFrame  # at most MAX_REPORTED_ERRORS rows (validation caps them)
    message: str
    preview: pl.DataFrame | None  # first rows as read; None when only the header was read
    encoding: str = ""
    delimiter: str = ""
    unknown_columns: tuple[str, ...] = ()

    @property
    def file_wide(self) -> bool:
        return bool((self.errors.get_column("row") == 0).any())


def summarise(report: IngestReport) -> CheckSummary:
    """A check's report without the parsed table and clean rows it carries."""
    table = report.table
    preview = None
    if table is not None and table.frame.height:
        preview = table.frame.drop(ROW).head(PREVIEW_ROWS)
    unknown = report.validation.unknown_columns if report.validation else ()
    return CheckSummary(
        status=str(report.status),
        readable=table is not None,
        rows_read=report.rows_read,
        rows_rejected=report.rows_rejected,
        error_count=report.error_count,
        errors=report.errors,
        message=report.message,
        preview=preview,
        encoding=table.encoding if table is not None else "",
        delimiter=table.delimiter if table is not None else "",
        unknown_columns=tuple(unknown),
    )


def translated_message(code: str | None, params: str | None, message: str) -> str:
    """The message in the session's language when the catalogue has its code, else the English
    ``message`` (also when the parameters do not fit the translation)."""
    key = f"validation.{code}"
    if not code or not has_key(key):
        return message
    try:
        values = json.loads(params) if params else {}
        if not isinstance(values, dict):
            return message
        return t(key, **{k: "" if v is None else v for k, v in values.items()})
    except (ValueError, KeyError, IndexError, TypeError):
        return message


def translated_errors(errors: pl.DataFrame) -> pl.DataFrame:
    """The errors as the table staff read: translated headers and messages, in file order.
    Each distinct (code, params) is translated once, so a file with 100,000 problems is cheap."""
    names = [t("upload.col_row"), t("upload.col_column"), t("upload.col_value")]
    message_name = t("upload.col_message")
    distinct = errors.select("code", "params", "message").unique(maintain_order=True)
    texts = distinct.with_columns(
        pl.Series(
            "_text",
            [translated_message(c, p, m) for c, p, m in distinct.iter_rows()],
            dtype=pl.String,
        )
    )
    joined = errors.join(texts, on=["code", "params", "message"], how="left", nulls_equal=True)
    return joined.select(
        pl.col("row").alias(names[0]),
        pl.col("column").alias(names[1]),
        pl.col("value").alias(names[2]),
        pl.col("_text").alias(message_name),
    )


def error_report(report: CheckSummary, *, key: str) -> None:
    """The problems found, one row each, with a CSV download of every one of them."""
    if report.errors.is_empty():
        return
    count = max(report.error_count, report.errors.height)
    st.error(t("upload.problems", count=fmt_number(count), rows=fmt_number(report.rows_rejected)))
    table = translated_errors(report.errors)
    st.dataframe(table.head(SHOWN_ROWS), hide_index=True, width="stretch", key=f"{key}_table")
    if count > SHOWN_ROWS:
        st.caption(t("upload.more_problems", n=fmt_number(count - min(SHOWN_ROWS, table.height))))
    download(
        t("upload.errors_csv"),
        to_csv_bytes(table),
        "senim-upload-errors.csv",
        CSV,
        key=f"{key}_csv",
        rows=table.height,
        icon=":material/download:",
    )
