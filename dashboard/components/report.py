"""An upload's error report: translated messages, the table, and its CSV download."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from dashboard.components.table import data_table
from dashboard.i18n import has_key, t
from queries.ingest import IngestReport


def translated_message(code: str, params: str, message: str) -> str:
    """The message in the session's language when the catalogue has its code."""
    key = f"validation.{code}"
    if not has_key(key):
        return message
    try:
        values = json.loads(params) if params else {}
        return t(key, **{k: "" if v is None else v for k, v in values.items()})
    except (ValueError, KeyError, IndexError):
        return message


def error_report(report: IngestReport, key: str) -> None:
    """The problems found, one row each, with a CSV download of the same table."""
    if report.errors.is_empty():
        return
    st.error(t("upload.problems", count=report.error_count, rows=report.rows_rejected))
    shown = report.errors.head(2_000)
    table = pl.DataFrame(
        {
            t("upload.col_row"): shown.get_column("row"),
            t("upload.col_column"): shown.get_column("column"),
            t("upload.col_value"): shown.get_column("value"),
            t("upload.col_message"): [
                translated_message(c, p, m)
                for c, p, m in shown.select("code", "params", "message").iter_rows()
            ],
        }
    )
    data_table(table, key=key, file_name="senim-upload-errors", height=300)
    if report.error_count > shown.height:
        st.caption(t("upload.more_problems", n=report.error_count - shown.height))
