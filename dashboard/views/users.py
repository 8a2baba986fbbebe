"""Users (admin): the accounts, and adding, re-roling, disabling and resetting them."""

from __future__ import annotations

import secrets

import polars as pl
import streamlit as st

from dashboard import auth
from dashboard.components.plain import escape_markdown as plain
from dashboard.components.table import data_table
from dashboard.data import engine
from dashboard.i18n import t
from queries.access import accounts as accounts
from queries.errors import SenimError
from queries.schema.access import ROLES

NOTICE = "users_notice"


def _role_name(role: str) -> str:
    return t(f"auth.role_{role}")


def _role_labels() -> dict[str, str]:
    # A plain mapping made during the run: the label does not depend on when it is called
    # (AppTest formats options outside the run, where the session language is unknown).
    return {role: _role_name(role) for role in ROLES}


def render() -> None:
    admin = auth.require_role("admin")
    st.title(t("users.title"))
    notice = st.session_state.pop(NOTICE, None)  # what the last action did, shown once
    if notice:
        st.success(notice)
    table = accounts.list_users(engine())
    shown = table.with_columns(pl.col("role").replace_strict(_role_labels()))
    data_table(
        shown.rename({c: t(f"users.col_{c}") for c in table.columns}),
        key="users",
        file_name="senim-users",
    )
    left, right = st.columns(2, gap="large")
    with left:
        _add_form(admin.username)
    with right:
        _change_panel(admin.username, table.get_column("username").to_list())


def _add_form(actor: str) -> None:
    with st.form("add_user", clear_on_submit=True):
        st.subheader(t("users.add_title"))
        name = st.text_input(t("auth.username"), max_chars=64, key="users_new_name")
        email = st.text_input(t("users.email"), max_chars=254, key="users_new_email")
        role = st.selectbox(
            t("users.role"), ROLES, format_func=_role_labels().get, key="users_new_role"
        )
        submitted = st.form_submit_button(t("users.add"), type="primary")
    if not submitted:
        return
    password = secrets.token_urlsafe(12)  # one-time: changed at first sign-in
    try:
        accounts.create_user(
            engine(),
            name,
            password,
            role=role,
            email=email or None,
            must_change_password=True,
            actor=actor,
        )
    except SenimError as exc:
        st.error(plain(exc))
        return
    # Rerun so the table and the pickers include the new account; the notice survives it.
    # User names and passwords are shown as typed, never as Markdown (issue 13).
    st.session_state[NOTICE] = t("users.added", user=plain(name.strip()), password=plain(password))
    st.rerun()


def _change_panel(actor: str, names: list[str]) -> None:
    st.subheader(t("users.change_title"))
    if not names:
        return
    who = st.selectbox(t("auth.username"), names, key="users_who")
    new_role = st.selectbox(
        t("users.role"), ROLES, key="users_role", format_func=_role_labels().get
    )
    c1, c2, c3, c4 = st.columns(4)
    try:
        if c1.button(t("users.set_role"), key="users_set_role"):
            accounts.set_role(engine(), who, new_role, actor=actor)
            st.session_state[NOTICE] = t(
                "users.role_set", user=plain(who), role=_role_name(new_role)
            )
            st.rerun()
        if c2.button(t("users.disable"), key="users_disable"):
            accounts.disable(engine(), who, actor=actor)
            st.session_state[NOTICE] = t("users.disabled_done", user=plain(who))
            st.rerun()
        if c3.button(t("users.enable"), key="users_enable"):
            accounts.enable(engine(), who, actor=actor)
            st.session_state[NOTICE] = t("users.enabled_done", user=plain(who))
            st.rerun()
        if c4.button(t("users.reset_password"), key="users_reset"):
            password = accounts.reset_password(engine(), who, actor=actor)
            st.session_state[NOTICE] = t(
                "users.reset_done", user=plain(who), password=plain(password)
            )
            st.rerun()
    except SenimError as exc:
        st.error(plain(exc))
    notice = st.session_state.pop("users_notice", None)
    if notice:
        st.success(notice)
