"""Users (admin): accounts and roles."""

from __future__ import annotations

import secrets

import streamlit as st

from dashboard import auth
from dashboard.components.table import data_table
from dashboard.data import engine
from dashboard.i18n import t
from queries import auth as accounts
from queries.errors import SenimError
from queries.schema import ROLES


def render() -> None:
    admin = auth.require_role("admin")
    st.title(t("users.title"))
    table = accounts.list_users(engine())
    data_table(
        table.rename({c: t(f"users.col_{c}") for c in table.columns}),
        key="users",
        file_name="senim-users",
    )
    names = table.get_column("username").to_list()
    left, right = st.columns(2, gap="large")
    with left, st.form("add_user", clear_on_submit=True):
        st.subheader(t("users.add_title"))
        name = st.text_input(t("auth.username"), max_chars=64)
        email = st.text_input(t("users.email"), max_chars=254)
        role = st.selectbox(t("users.role"), ROLES, format_func=lambda r: t(f"auth.role_{r}"))
        if st.form_submit_button(t("users.add"), type="primary"):
            password = secrets.token_urlsafe(12)
            try:
                accounts.create_user(
                    engine(),
                    name,
                    password,
                    role=role,
                    email=email or None,
                    must_change_password=True,
                    actor=admin.username,
                )
                st.success(t("users.added", user=name, password=password))
            except SenimError as exc:
                st.error(str(exc))
    with right:
        st.subheader(t("users.change_title"))
        if not names:
            return
        who = st.selectbox(t("auth.username"), names, key="users_who")
        new_role = st.selectbox(
            t("users.role"), ROLES, key="users_role", format_func=lambda r: t(f"auth.role_{r}")
        )
        c1, c2, c3 = st.columns(3)
        try:
            if c1.button(t("users.set_role"), key="users_set_role"):
                accounts.set_role(engine(), who, new_role, actor=admin.username)
                st.rerun()
            if c2.button(t("users.disable"), key="users_disable"):
                accounts.disable(engine(), who, actor=admin.username)
                st.rerun()
            if c3.button(t("users.enable"), key="users_enable"):
                accounts.enable(engine(), who, actor=admin.username)
                st.rerun()
        except SenimError as exc:
            st.error(str(exc))
