"""Audit log (admin): sign-ins, uploads, rollbacks, account changes; filter and download."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import auth
from dashboard.components.table import data_table
from dashboard.data import engine
from dashboard.i18n import t
from queries.access.audit import list_events

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "upload",
    "rollback",
    "user_created",
    "role_changed",
    "user_disabled",
    "user_enabled",
    "password_set",
    # issue 13: provider binding, re-uploads, refusals, failed loads, downloads
    "identity_bound",
    "upload_unchanged",
    "upload_busy",
    "upload_interrupted",
    "download",
)
LIMIT = 5000


def _action_name(action: str) -> str:
    return t(f"audit.action_{action}") if action in ACTIONS else action


def _labels() -> dict[str, str]:
    # Fixed during the run: AppTest formats options outside it, where the language is unknown.
    return {a: _action_name(a) for a in ACTIONS}


def render() -> None:
    auth.require_role("admin")
    st.title(t("audit.title"))
    c1, c2, c3 = st.columns([2, 1, 1])
    chosen = c1.multiselect(
        t("audit.action"),
        ACTIONS,
        key="audit_actions",
        format_func=_labels().get,
        placeholder=t("filters.all"),
    )
    actor = c2.text_input(t("audit.actor"), max_chars=200, key="audit_actor").strip()
    today = dt.datetime.now(dt.UTC).date()
    period = c3.date_input(
        t("audit.period"),
        value=(today - dt.timedelta(days=30), today),
        max_value=today,
        key="audit_period",
        format="DD.MM.YYYY",
    )
    since, until = _window(period)
    events = list_events(
        engine(), actions=tuple(chosen), actor=actor or None, since=since, until=until, limit=LIMIT
    )
    if events.height == LIMIT:
        st.caption(t("audit.truncated", n=LIMIT))
    if events.is_empty():
        st.info(t("audit.none"), icon=":material/search_off:")
        return
    # a dict, not a Python callback inside polars (see queries.survey.design.p_values)
    names = {action: _action_name(action) for action in events.get_column("action").unique()}
    shown = events.with_columns(pl.col("action").replace_strict(names, return_dtype=pl.String))
    data_table(
        shown.rename({c: t(f"audit.col_{c}") for c in events.columns}),
        key="audit",
        file_name="senim-audit",
        height=520,
    )


def _window(period) -> tuple[dt.datetime | None, dt.datetime | None]:
    """UTC instants [first day 00:00, day after the last day 00:00) from the date picker."""
    days = tuple(period) if isinstance(period, tuple | list) else (period,)
    days = tuple(d for d in days if d is not None)
    if not days:
        return None, None
    start = dt.datetime.combine(days[0], dt.time(), dt.UTC)
    end = dt.datetime.combine(days[-1], dt.time(), dt.UTC) + dt.timedelta(days=1)
    return start, end
