"""Upload history (staff): every upload with its counts and status; roll one back."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import auth
from dashboard.components.table import data_table
from dashboard.data import engine
from dashboard.i18n import fmt_date, t
from queries.errors import SenimError
from queries.uploads import list_uploads, rollback


def render() -> None:
    user = auth.require_role("staff")
    st.title(t("history.title"))
    uploads = list_uploads(engine())
    if uploads.is_empty():
        st.info(t("history.empty"))
        return
    shown = pl.DataFrame(
        {
            t("history.col_id"): uploads.get_column("id"),
            t("history.col_when"): [
                fmt_date(d) + d.strftime(" %H:%M") for d in uploads.get_column("uploaded_at")
            ],
            t("history.col_who"): uploads.get_column("uploaded_by"),
            t("history.col_kind"): [t(f"upload.kind_{k}") for k in uploads.get_column("kind")],
            t("history.col_file"): uploads.get_column("file_name"),
            t("history.col_status"): [
                t(f"history.status_{s}") for s in uploads.get_column("status")
            ],
            t("history.col_read"): uploads.get_column("rows_read"),
            t("history.col_loaded"): uploads.get_column("rows_loaded"),
            t("history.col_rejected"): uploads.get_column("rows_rejected"),
            t("history.col_message"): uploads.get_column("message"),
        }
    )
    data_table(shown, key="history", file_name="senim-uploads", height=420)

    st.subheader(t("history.rollback_title"))
    can_undo = uploads.filter(pl.col("status").is_in(["loaded", "partial"]))
    if can_undo.is_empty():
        st.caption(t("history.nothing_to_undo"))
        return
    ids = can_undo.get_column("id").to_list()
    names = dict(zip(ids, can_undo.get_column("file_name").to_list(), strict=True))
    chosen = st.selectbox(
        t("history.pick"), ids, format_func=lambda i: f"{i} · {names[i]}", key="rollback_id"
    )
    confirm = st.checkbox(t("history.confirm", id=chosen), key="rollback_confirm")
    if st.button(t("history.rollback"), type="primary", disabled=not confirm, key="rollback_go"):
        try:
            rollback(engine(), int(chosen), by=user.username)
        except SenimError as exc:
            st.error(t("history.refused", reason=str(exc)))
            return
        st.session_state.pop("rollback_confirm", None)
        st.success(t("history.rolled_back", id=chosen))
        st.rerun()
