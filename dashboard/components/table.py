"""A table exactly as shown, with CSV and Excel downloads of the same rows (formulas inert).

Downloads (issue 13, findings 4 and 7): Streamlit's own grid download is off
(``client.disableDataExport``); every download goes through ``download`` here: the formula-safe
exporter (``queries.export``), offered from the analyst role up, each one written to the audit
log (who, which file, how many rows)."""

from __future__ import annotations

import contextlib

import polars as pl
import pyarrow as pa
import streamlit as st

from dashboard import auth
from dashboard.data import engine
from dashboard.i18n import t
from queries.access import audit
from queries.errors import SenimError
from queries.export import to_csv_bytes, to_xlsx_bytes
from queries.vocab import Role

ROW_PX = 35  # Streamlit's data grid row height
DOWNLOAD_ROLE = Role.ANALYST
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_download() -> bool:
    """Whether this session's user may download tables (analyst or higher)."""
    return auth.has_role(auth.current_user(), DOWNLOAD_ROLE)


def _audited(file_name: str, rows: int) -> None:
    user = auth.current_user()
    with contextlib.suppress(SenimError):  # a download never fails because the log cannot write
        audit.record_download(
            engine(), actor=user.username if user else "", what=file_name, rows=rows
        )


def download(
    label: str,
    data: bytes,
    file_name: str,
    mime: str,
    *,
    key: str,
    rows: int,
    icon: str,
    container=st,
) -> None:
    """A download button whose click is written to the audit log (``rows``: what it holds)."""
    container.download_button(
        label,
        data,
        file_name,
        mime,
        key=key,
        icon=icon,
        on_click=_audited,
        args=(file_name, rows),
    )


def as_arrow(frame: pl.DataFrame) -> pa.Table:
    """``frame`` as the Arrow table ``st.dataframe`` sends as is (issue 11: a polars frame went
    polars -> pandas -> Arrow on every rerun, ~0.4 ms more a table); text as plain ``string``,
    the type the pandas route gave the browser."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    fields = [pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
              for f in table.schema]  # fmt: skip
    return table.cast(pa.schema(fields))


# scale (issue 11): the workbook was written again on every rerun of every page with tables
# (~5 ms a small table, four on Regions). Keyed on the CSV of the same rows plus the column
# types, which together fix every cell of the workbook; the frame itself is never a key (the
# field notes: polars arguments are hashed from a shortened printout).
@st.cache_data(max_entries=200, show_spinner=False)
def _xlsx(csv: bytes, schema: str, sheet: str, _frame: pl.DataFrame) -> bytes:
    return to_xlsx_bytes(_frame, sheet)


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
        as_arrow(frame),
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
    if not allow_export or not may_download():  # viewers see the table, not the files
        return
    left, right = st.columns(2)
    rows = frame.height
    csv = to_csv_bytes(frame)
    download(
        t("common.download_csv"),
        csv,
        f"{file_name}.csv",
        CSV,
        key=f"{key}_csv",
        rows=rows,
        icon=":material/download:",
        container=left,
    )
    download(
        t("common.download_xlsx"),
        _xlsx(csv, str(frame.schema), file_name, frame),
        f"{file_name}.xlsx",
        XLSX,
        key=f"{key}_xlsx",
        rows=rows,
        icon=":material/table_view:",
        container=right,
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
