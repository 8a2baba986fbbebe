"""An upload's error report: messages in the session's language, the table (row, column, value,
message), and the whole report as a CSV download."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from dashboard.i18n import fmt_number, has_key, t
from queries.export import to_csv_bytes
from queries.ingest.pipeline import IngestReport

SHOWN_ROWS = 2_000  # the grid shows the first problems; the CSV holds them all


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


def error_report(report: IngestReport, *, key: str) -> None:
    """The problems found, one row each, with a CSV download of every one of them."""
    if report.errors.is_empty():
        return
    count = max(report.error_count, report.errors.height)
    st.error(t("upload.problems", count=fmt_number(count), rows=fmt_number(report.rows_rejected)))
    table = translated_errors(report.errors)
    st.dataframe(table.head(SHOWN_ROWS), hide_index=True, width="stretch", key=f"{key}_table")
    if count > SHOWN_ROWS:
        st.caption(t("upload.more_problems", n=fmt_number(count - min(SHOWN_ROWS, table.height))))
    st.download_button(
        t("upload.errors_csv"),
        to_csv_bytes(table),
        "senim-upload-errors.csv",
        "text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
    )
