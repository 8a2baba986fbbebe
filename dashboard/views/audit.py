"""Audit log (admin): sign-ins, uploads, rollbacks, role changes."""

from __future__ import annotations

import streamlit as st

from dashboard import auth
from dashboard.components.table import data_table
from dashboard.data import engine
from dashboard.i18n import t
from queries.audit import list_events

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "upload",
    "rollback",
    "user_created",
    "role_changed",
    "user_disabled",
    "user_enabled",
    "password_set",
)


def render() -> None:
    auth.require_role("admin")
    st.title(t("audit.title"))
    action = st.selectbox(
        t("audit.action"),
        ACTIONS,
        index=None,
        key="audit_action",
        format_func=lambda a: t(f"audit.action_{a}"),
        placeholder=t("filters.all"),
    )
    events = list_events(engine(), action=action)
    data_table(
        events.rename({c: t(f"audit.col_{c}") for c in events.columns}),
        key="audit",
        file_name="senim-audit",
        height=520,
    )
