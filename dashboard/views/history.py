"""Upload history (staff): every upload with its counts, status, who and when; roll one back
after an explicit confirmation. UI only: ``list_uploads`` and ``rollback`` do the work.
File names, user names and messages are the users' text: shown in the table or escaped, never
as Markdown (issue 13, finding 8)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import auth
from dashboard.components.plain import escape_markdown
from dashboard.components.table import data_table
from dashboard.data import engine
from dashboard.i18n import fmt_date, t
from queries.errors import SenimError
from queries.ingest.pipeline import list_uploads, rollback
from queries.vocab import DONE_STATUSES

NOTICE_KEY = "history_notice"  # the outcome of a rollback, shown after the page reruns


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else fmt_date(value) + value.strftime(" %H:%M")


def history_table(uploads: pl.DataFrame) -> pl.DataFrame:
    """The upload log as staff read it: translated headers, kinds and statuses."""
    rolled = [
        "" if at is None else f"{_when(at)} · {by or ''}".strip(" ·")
        for at, by in uploads.select("rolled_back_at", "rolled_back_by").iter_rows()
    ]
    return pl.DataFrame(
        {
            t("history.col_id"): uploads.get_column("id"),
            t("history.col_when"): [_when(d) for d in uploads.get_column("uploaded_at")],
            t("history.col_who"): uploads.get_column("uploaded_by"),
            t("history.col_kind"): [t(f"upload.kind_{k}") for k in uploads.get_column("kind")],
            t("history.col_file"): uploads.get_column("file_name"),
            t("history.col_status"): [
                t(f"history.status_{s}") for s in uploads.get_column("status")
            ],
            t("history.col_read"): uploads.get_column("rows_read"),
            t("history.col_loaded"): uploads.get_column("rows_loaded"),
            t("history.col_rejected"): uploads.get_column("rows_rejected"),
            t("history.col_rolled_back"): rolled,
            t("history.col_message"): uploads.get_column("message"),
        }
    )


def render() -> None:
    user = auth.require_role("staff")
    st.title(t("history.title"))
    st.caption(t("history.subtitle"))
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is not None:
        st.success(t("history.rolled_back", id=notice["id"]))
        st.caption(escape_markdown(notice["summary"]))
    uploads = list_uploads(engine())
    if uploads.is_empty():
        st.info(t("history.empty"))
        return
    data_table(history_table(uploads), key="history", file_name="senim-uploads", height=420)
    _rollback_form(uploads, user.username)


def _rollback_form(uploads: pl.DataFrame, username: str) -> None:
    """Pick an upload, tick the confirmation, press the button; the reason shows if refused."""
    st.subheader(t("history.rollback_title"))
    can_undo = uploads.filter(pl.col("status").is_in(DONE_STATUSES))
    if can_undo.is_empty():
        st.caption(t("history.nothing_to_undo"))
        return
    ids = can_undo.get_column("id").to_list()
    labels = {
        r["id"]: f"{r['id']} · {r['file_name']} · {_when(r['uploaded_at'])} · {r['uploaded_by']}"
        for r in can_undo.iter_rows(named=True)
    }
    chosen = st.selectbox(t("history.pick"), ids, format_func=labels.get, key="rollback_id")
    # One confirmation per upload: if the list changes under the user (another staff member
    # rolled the chosen one back), the selection moves and the new one starts unconfirmed.
    confirm_key = f"rollback_confirm_{chosen}"
    confirm = st.checkbox(t("history.confirm", id=chosen), key=confirm_key)
    clicked = st.button(
        t("history.rollback"), type="primary", disabled=not confirm, key="rollback_go"
    )
    if clicked and confirm:
        try:
            summary = rollback(engine(), int(chosen), by=username)
        except SenimError as exc:
            st.error(t("history.refused", reason=escape_markdown(exc)))
            return
        # The confirmation is for one upload only; the notice survives the rerun that
        # refreshes the table (and, through the data version, every chart).
        st.session_state.pop(confirm_key, None)
        st.session_state[NOTICE_KEY] = {"id": int(chosen), "summary": summary}
        st.rerun()
