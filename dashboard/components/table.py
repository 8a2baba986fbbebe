"""A table exactly as shown, with CSV and Excel downloads of the same rows (formulas inert).

Downloads (issue 13, findings 4 and 7): Streamlit's own grid download is off
(``client.disableDataExport``); every download goes through ``download`` here: the formula-safe
exporter (``queries.export``), offered from the analyst role up, each one written to the audit
log (who, which file, how many rows).

Tables' files are made only when clicked (issue 11: a CSV and a workbook per table were written on
every rerun, ~20% of a Regions filter change at 10M): ``st.download_button`` gets a callable,
which Streamlit runs on its own thread when the browser asks for the file (a ``deferred_file``
backend operation naming the id sent with this run's button). Server side, at that moment, the
session that was shown the button must still be signed in with ``DOWNLOAD_ROLE``
(``server_guard.session_allows``: signed out, expired or demoted since, it gets nothing); the
audit entry is written then, once per file actually made."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import polars as pl
import pyarrow as pa
import streamlit as st

from dashboard import auth, server_guard
from dashboard.data import engine
from dashboard.i18n import t
from queries.access import audit
from queries.errors import SenimError
from queries.export import to_csv_bytes, to_xlsx_bytes

ROW_PX = 35  # Streamlit's data grid row height
DOWNLOAD_ROLE = server_guard.DOWNLOAD_ROLE
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_LOG = logging.getLogger("senim.downloads")


def may_download() -> bool:
    """Whether this session's user may download tables (analyst or higher)."""
    return auth.has_role(auth.current_user(), DOWNLOAD_ROLE)


def _audited(file_name: str, rows: int) -> None:
    user = auth.current_user()
    _record(engine(), user.username if user else "", file_name, rows)


def _record(db, actor: str, file_name: str, rows: int) -> None:
    with contextlib.suppress(SenimError):  # a download never fails because the log cannot write
        audit.record_download(db, actor=actor, what=file_name, rows=rows)


class DownloadRefused(Exception):
    """A file asked for by a session that may no longer download (nothing is made)."""


def _on_click(make: Callable[[], bytes], file_name: str, rows: int) -> Callable[[], bytes]:
    """``make`` wrapped for Streamlit's thread: the role checked and the download audited when
    the file is asked for. What it needs of this run (session, user, engine) is taken now: the
    callable runs outside any script run."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    session = ctx.session_id if ctx is not None else ""
    user = auth.current_user()
    actor = user.username if user else ""
    db = engine()
    server_guard.note_session(user)  # the table the check reads (app.main records it too)

    def made() -> bytes:
        if not server_guard.session_allows(session, DOWNLOAD_ROLE):
            _LOG.warning("download refused: session %s may not download", session[:8])
            raise DownloadRefused(file_name)
        data = make()
        _record(db, actor, file_name, rows)
        return data

    return made


def download(
    label: str,
    data: bytes | Callable[[], bytes],
    file_name: str,
    mime: str,
    *,
    key: str,
    rows: int,
    icon: str,
    container=st,
) -> None:
    """A download button whose download is written to the audit log (``rows``: what it holds).
    ``data`` as bytes: sent with the page, audited at the click's rerun; as a callable: made
    only when clicked, for a session still allowed to download (no rerun)."""
    if callable(data):
        container.download_button(label, _on_click(data, file_name, rows), file_name, mime,
                                   key=key, icon=icon, on_click="ignore")  # fmt: skip
        return
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
    for label, suffix, make, mime, icon, column in (
        ("common.download_csv", "csv", lambda: to_csv_bytes(frame), CSV, "download", left),
        ("common.download_xlsx", "xlsx", lambda: to_xlsx_bytes(frame, file_name), XLSX,
         "table_view", right),
    ):  # fmt: skip
        download(t(label), make, f"{file_name}.{suffix}", mime, key=f"{key}_{suffix}",
                 rows=frame.height, icon=f":material/{icon}:", container=column)  # fmt: skip


def estimate_table(
    frame: pl.DataFrame, *, label_column: str, label, percent: bool = False
) -> pl.DataFrame:
    """An estimates frame as a readable table: name, estimate, CI, n (suppressed → text)."""
    scale = 100.0 if percent else 1.0
    # each text translated once, not once a row (issue 11)
    names = [t(f"common.col_{c}") for c in ("name", "estimate", "ci_low", "ci_high", "n", "note")]
    too_few = t("common.too_few")
    rows = []
    for key, est, low, high, n, suppressed in frame.select(
        label_column, "estimate", "ci_low", "ci_high", "n", "suppressed"
    ).iter_rows():
        hidden = suppressed or est is None
        numbers = [None] * 3 if hidden else [round(v * scale, 2) for v in (est, low, high)]
        rows.append((label(key), *numbers, n, too_few if hidden else ""))
    types = [pl.String, pl.Float64, pl.Float64, pl.Float64, pl.Int64, pl.String]
    return pl.DataFrame(rows, schema=dict(zip(names, types, strict=True)), orient="row")
