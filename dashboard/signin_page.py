"""The sign-in page (the local account form, or the identity provider's button), the form that
replaces a one-time password before the app opens, and the sidebar's sign-out button. Who is
signed in, and the sessions behind it: ``dashboard.auth``."""

from __future__ import annotations

import contextlib
import time
from urllib.parse import quote

import streamlit as st

from dashboard import auth, session_routes
from dashboard.components.plain import escape_markdown
from dashboard.data import engine
from dashboard.i18n import t
from queries import settings
from queries.access import accounts, audit, passwords, signin
from queries.access.common import MIN_PASSWORD, AuthError
from queries.errors import DatabaseUnavailable, SenimError

PENDING_KEY = "senim_change_password"  # {"username", "expires_at"} after a one-time password
PENDING_SECONDS = 600
ERROR_KEYS = {
    "bad_credentials": "auth.error_bad_credentials",
    "disabled": "auth.error_disabled",
    "throttled": "access.error_throttled",
    "expired": "access.error_expired",
    "reused": "access.password_not_new",
}


def client_address() -> str:
    """The client's address for sign-in throttling: the last ``X-Forwarded-For`` hop behind a
    trusted proxy (setting), else the websocket peer; "local" on loopback."""
    if settings.trust_forwarded_for():
        forwarded = st.context.headers.get("X-Forwarded-For")
        hops = [hop.strip() for hop in str(forwarded or "").split(",") if hop.strip()]
        if hops:
            return hops[-1][:200]
    address = st.context.ip_address
    return address if isinstance(address, str) and address else "local"


def login_view() -> None:
    """The sign-in page: the identity provider's button, or the local account form."""
    st.title(t("auth.sign_in_title"))
    if st.session_state.get(auth.EXPIRED_KEY):
        st.info(t("auth.session_expired"), icon=":material/timer_off:")
    if auth.oidc_configured():
        _provider_view()
        return
    pending = st.session_state.get(PENDING_KEY)
    if isinstance(pending, dict) and pending.get("expires_at", 0) > time.time():
        _change_password_form(str(pending["username"]))
        return
    st.session_state.pop(PENDING_KEY, None)
    with st.form("login", border=True):
        username = st.text_input(t("auth.username"), max_chars=64, key="login_username")
        password = st.text_input(
            t("auth.password"), type="password", max_chars=256, key="login_password"
        )
        submitted = st.form_submit_button(t("auth.sign_in"), type="primary")
    if not submitted:
        return
    if not username.strip() or not password:
        st.error(t("auth.fill_both"))
        return
    try:
        user = signin.authenticate(engine(), username, password, address=client_address())
    except AuthError as exc:
        key = ERROR_KEYS.get(exc.reason, "auth.error_bad_credentials")
        st.error(t(key, seconds=exc.seconds), icon=":material/error:")
        return
    if user.must_change_password:
        st.session_state[PENDING_KEY] = {
            "username": user.username,
            "expires_at": time.time() + PENDING_SECONDS,
        }
        st.rerun()
    auth.start_session(username=user.username, role=user.role, method="password")
    st.rerun()


def _provider_view() -> None:
    refused = st.session_state.get(auth.OIDC_REFUSED_KEY)
    if getattr(st.user, "is_logged_in", False) and refused:
        st.error(t(f"access.oidc_{refused}"), icon=":material/error:")
        st.button(t("auth.sign_out"), on_click=_provider_sign_out)
    else:
        st.button(t("auth.sign_in_provider"), on_click=st.login, type="primary")


def _provider_sign_out() -> None:
    st.session_state.pop(auth.OIDC_REFUSED_KEY, None)
    st.logout()


def _change_password_form(username: str) -> None:
    """After a one-time password: the user must choose their own before the app opens."""
    st.info(t("auth.must_change"), icon=":material/key:")
    with st.form("change_password"):
        first = st.text_input(
            t("auth.new_password"), type="password", max_chars=256, key="new_password"
        )
        second = st.text_input(
            t("auth.repeat_password"), type="password", max_chars=256, key="repeat_password"
        )
        submitted = st.form_submit_button(t("auth.save_password"), type="primary")
    if not submitted:
        return
    if first != second:
        st.error(t("auth.passwords_differ"))
        return
    if len(first) < MIN_PASSWORD:
        st.error(t("auth.password_short", n=MIN_PASSWORD))
        return
    try:
        passwords.replace_one_time_password(engine(), username, first)
        account = accounts.get_user(engine(), username)
    except AuthError as exc:
        st.error(t(ERROR_KEYS.get(exc.reason, "auth.error_bad_credentials")))
        return
    except SenimError as exc:
        st.error(escape_markdown(exc))
        return
    st.session_state.pop(PENDING_KEY, None)
    if account is None or account.disabled:
        st.error(t("auth.error_disabled"))
        return
    auth.start_session(username=username, role=account.role, method="password")
    st.rerun()


def logout_button() -> None:
    """A sidebar line with the user and role, and a button that ends the session."""
    user = auth.current_user()
    if user is None or user.username == "anonymous":
        return
    # st.text, not caption: a user name is never rendered as Markdown
    st.sidebar.text(t("auth.signed_in_as", user=user.username, role=t(f"auth.role_{user.role}")))
    if st.sidebar.button(t("auth.sign_out"), key="logout", icon=":material/logout:"):
        with contextlib.suppress(DatabaseUnavailable):  # signing out works with the database down
            audit.record(engine(), actor=user.username, action="sign_out", target=user.username)
        auth.end_session()  # revokes the server-side session at once
        if auth.oidc_configured():
            st.logout()
        elif session_routes.mounted:
            # ...and drop the cookie from the browser, back to this page's sign-in form
            auth.redirect(f"{session_routes.SIGNOUT_PATH}?next={quote(auth.here(), safe='')}")
            st.stop()
        st.rerun()
