"""A table exactly as shown, with CSV and Excel downloads of the same rows (formulas inert)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.i18n import t
from queries.export import to_csv_bytes, to_xlsx_bytes

ROW_PX = 35  # Streamlit's data grid row height


def data_table(
    frame: pl.DataFrame,
    *,
    key: str,
    file_name: str,
    height: int | None = None,
    allow_export: bool = True,
) -> None:
    """Show ``frame`` (columns already translated) and offer it as CSV and xlsx."""
    # A short table takes only its rows' height; a long one scrolls within ``height``.
    fitted = ROW_PX * (frame.height + 1) + 3
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key=f"{key}_table",
        height=min(height, fitted) if height else "auto",
        # Numbers need little room; the names get the rest, so no column is cut off.
        column_config={
            name: st.column_config.Column(width="small")
            for name, dtype in frame.schema.items()
            if dtype.is_numeric()
        },
    )
    if not allow_export:
        return
    left, right = st.columns(2)
    left.download_button(
        t("common.download_csv"),
        to_csv_bytes(frame),
        f"{file_name}.csv",
        "text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
    )
    right.download_button(
        t("common.download_xlsx"),
        to_xlsx_bytes(frame, file_name),
        f"{file_name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx",
        icon=":material/table_view:",
    )


def estimate_table(
    frame: pl.DataFrame, *, label_column: str, label, percent: bool = False
) -> pl.DataFrame:
    """An estimates frame as a readable table: name, estimate, CI, n (suppressed → text)."""
    scale = 100.0 if percent else 1.0
    rows = []
    for r in frame.iter_rows(named=True):
        hidden = r["suppressed"] or r["estimate"] is None
        rows.append(
            {
                t("common.col_name"): label(r[label_column]),
                t("common.col_estimate"): None if hidden else round(r["estimate"] * scale, 2),
                t("common.col_ci_low"): None if hidden else round(r["ci_low"] * scale, 2),
                t("common.col_ci_high"): None if hidden else round(r["ci_high"] * scale, 2),
                t("common.col_n"): r["n"],
                t("common.col_note"): t("common.too_few") if hidden else "",
            }
        )
    names = [
        t("common.col_name"),
        t("common.col_estimate"),
        t("common.col_ci_low"),
        t("common.col_ci_high"),
        t("common.col_n"),
        t("common.col_note"),
    ]
    types = [pl.String, pl.Float64, pl.Float64, pl.Float64, pl.Int64, pl.String]
    return pl.DataFrame(rows, schema=dict(zip(names, types, strict=True)))
