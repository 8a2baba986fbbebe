"""Who is using the app (UI side): sign-in, the session's user, and server-side role checks.

- ``current_user() -> SessionUser | None``: the signed-in user of this browser session (expired
  sessions count as signed out); when sign-in is not required, an anonymous ``viewer``.
- ``require_role(role) -> SessionUser``: checked at the top of a page on every run, server side;
  shows a translated "not allowed" message and stops the page when the user lacks the role.
- ``login_view()``: the sign-in page; ``logout_button()``: a sidebar button.
Session state ``"senim_user"`` holds ``{"username", "role", "expires_at" (epoch seconds)}``; tests
may set it directly to act as a user. With an ``[auth]`` section in secrets, sign-in goes through
the identity provider (``st.login``) and the role comes from the e-mail's account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from dashboard.data import engine
from dashboard.i18n import t
from queries import auth, settings

ROLE_ORDER = ("viewer", "analyst", "staff", "admin")
SESSION_KEY = "senim_user"


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: str


def has_role(user: SessionUser | None, role: str) -> bool:
    """Whether ``user`` has ``role`` or a higher one."""
    return user is not None and ROLE_ORDER.index(user.role) >= ROLE_ORDER.index(role)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, AttributeError):
        return False
    except Exception:  # no secrets file at all
        return False


def _start_session(username: str, role: str) -> None:
    st.session_state[SESSION_KEY] = {
        "username": username, "role": role,
        "expires_at": time.time() + settings.session_minutes() * 60,
    }  # fmt: skip


def current_user() -> SessionUser | None:
    """The user of this browser session, or None when signed out."""
    stored = st.session_state.get(SESSION_KEY)
    if stored and stored.get("expires_at", 0) > time.time() and stored.get("role") in ROLE_ORDER:
        return SessionUser(stored["username"], stored["role"])
    if stored:
        st.session_state.pop(SESSION_KEY, None)  # expired
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        account = auth.user_for_email(engine(), str(st.user.get("email", "")))
        if account is not None:
            _start_session(account.username, account.role)
            return SessionUser(account.username, account.role)
    if not settings.require_login():
        return SessionUser("anonymous", "viewer")
    return None


def require_role(role: str) -> SessionUser:
    """The current user if they have ``role``; otherwise a message and the page stops."""
    user = current_user()
    if not has_role(user, role):
        st.error(t("auth.not_allowed"), icon=":material/lock:")
        st.stop()
    return user


def login_view() -> None:
    """The sign-in page: the identity provider's button, or the local account form."""
    st.title(t("auth.sign_in_title"))
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            st.error(t("auth.unknown_email"))
            st.button(t("auth.sign_out"), on_click=st.logout)
        else:
            st.button(t("auth.sign_in_provider"), on_click=st.login, type="primary")
        return
    pending = st.session_state.get("senim_change_password")
    if pending:
        _change_password_form(pending)
        return
    with st.form("login", border=True):
        username = st.text_input(t("auth.username"), max_chars=64)
        password = st.text_input(t("auth.password"), type="password", max_chars=256)
        submitted = st.form_submit_button(t("auth.sign_in"), type="primary")
    if submitted:
        try:
            user = auth.authenticate(engine(), username, password)
        except auth.AuthError as exc:
            st.error(t(f"auth.error_{exc.reason}", minutes=exc.minutes))
            return
        if user.must_change_password:
            st.session_state["senim_change_password"] = user.username
            st.rerun()
        _start_session(user.username, user.role)
        st.rerun()


def _change_password_form(username: str) -> None:
    st.info(t("auth.must_change"))
    with st.form("change_password"):
        first = st.text_input(t("auth.new_password"), type="password", max_chars=256)
        second = st.text_input(t("auth.repeat_password"), type="password", max_chars=256)
        submitted = st.form_submit_button(t("auth.save_password"), type="primary")
    if not submitted:
        return
    if first != second:
        st.error(t("auth.passwords_differ"))
        return
    if len(first) < auth.MIN_PASSWORD:
        st.error(t("auth.password_short", n=auth.MIN_PASSWORD))
        return
    auth.set_password(engine(), username, first, actor=username)
    role = auth.list_users(engine()).filter(username=username).get_column("role").item()
    st.session_state.pop("senim_change_password", None)
    _start_session(username, role)
    st.rerun()


def logout_button() -> None:
    """A sidebar button that ends the session."""
    user = current_user()
    if user is None or user.username == "anonymous":
        return
    st.sidebar.caption(t("auth.signed_in_as", user=user.username, role=t(f"auth.role_{user.role}")))
    if st.sidebar.button(t("auth.sign_out"), key="logout"):
        st.session_state.pop(SESSION_KEY, None)
        if _oidc_configured():
            st.logout()
        st.rerun()
