"""Who is using the app (UI side): sign-in, the session's user, and server-side role checks.

- ``current_user() -> SessionUser | None``: the signed-in user of this browser session (expired
  sessions count as signed out); when sign-in is not required, an anonymous ``viewer``.
- ``require_role(role) -> SessionUser``: checked at the top of a page on every run, server side;
  shows a translated "not allowed" message and stops the page when the user lacks the role.
- ``login_view()``: the sign-in page; ``logout_button()``: a sidebar button.
Session state ``"senim_user"`` holds ``{"username", "role", "expires_at" (epoch seconds)}``; tests
may set it directly to act as a user. With an ``[auth]`` section in secrets, sign-in goes through
the identity provider (``st.login``) and the role comes from the e-mail's account.

On every run the account is looked up again, so disabling a user or changing their role takes
effect at their next click, not at the end of their session; each run also pushes the expiry
forward (the session ends after ``settings.session_minutes()`` without activity).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard.data import engine
from dashboard.i18n import t
from queries import settings
from queries.access import accounts as auth
from queries.access import audit
from queries.errors import SenimError

ROLE_ORDER = ("viewer", "analyst", "staff", "admin")
SESSION_KEY = "senim_user"
PENDING_KEY = "senim_change_password"  # {"username", "expires_at"} after a one-time password
EXPIRED_KEY = "senim_session_expired"
PENDING_SECONDS = 600


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: str


def has_role(user: SessionUser | None, role: str) -> bool:
    """Whether ``user`` has ``role`` or a higher one."""
    return (
        user is not None
        and user.role in ROLE_ORDER
        and ROLE_ORDER.index(user.role) >= ROLE_ORDER.index(role)
    )


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all, or an unreadable one: local accounts
        return False


def _oidc_signed_in() -> bool:
    return _oidc_configured() and bool(getattr(st.user, "is_logged_in", False))


def _start_session(username: str, role: str) -> None:
    st.session_state[SESSION_KEY] = {
        "username": username,
        "role": role,
        "expires_at": time.time() + settings.session_minutes() * 60,
    }
    st.session_state.pop(EXPIRED_KEY, None)


def _end_session(expired: bool = False) -> None:
    st.session_state.pop(SESSION_KEY, None)
    if expired:
        st.session_state[EXPIRED_KEY] = True


def _checked(stored: dict) -> SessionUser | None:
    """The session's user after looking the account up again (None: disabled meanwhile)."""
    username, role = str(stored.get("username", "")), stored.get("role")
    try:
        account = auth.get_user(engine(), username)
    except SQLAlchemyError:
        account = None  # database down: pages show their own notice; keep the session
    else:
        if account is not None and account.disabled:
            return None
    if account is not None:
        role = account.role
    if role not in ROLE_ORDER:
        return None
    # Sliding expiry: activity keeps the session alive.
    stored.update(role=role, expires_at=time.time() + settings.session_minutes() * 60)
    return SessionUser(username, role)


def current_user() -> SessionUser | None:
    """The user of this browser session, or None when signed out."""
    stored = st.session_state.get(SESSION_KEY)
    if isinstance(stored, dict):
        if float(stored.get("expires_at", 0)) > time.time():
            user = _checked(stored)
            if user is not None:
                return user
            _end_session()
        else:
            _end_session(expired=True)
            if _oidc_signed_in():
                st.logout()  # the provider's cookie outlives our session; end it too
    if _oidc_signed_in():
        email = str(st.user.get("email") or "")
        account = auth.user_for_email(engine(), email)
        if account is not None:
            audit.record(
                engine(),
                actor=account.username,
                action="sign_in",
                target=account.username,
                detail={"method": "oidc", "email": email},
            )
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
    if st.session_state.get(EXPIRED_KEY):
        st.info(t("auth.session_expired"), icon=":material/timer_off:")
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            st.error(t("auth.unknown_email"))
            st.button(t("auth.sign_out"), on_click=st.logout)
        else:
            st.button(t("auth.sign_in_provider"), on_click=st.login, type="primary")
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
        user = auth.authenticate(engine(), username, password)
    except auth.AuthError as exc:
        st.error(t(f"auth.error_{exc.reason}", minutes=exc.minutes), icon=":material/error:")
        return
    if user.must_change_password:
        st.session_state[PENDING_KEY] = {
            "username": user.username,
            "expires_at": time.time() + PENDING_SECONDS,
        }
        st.rerun()
    _start_session(user.username, user.role)
    st.rerun()


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
    if len(first) < auth.MIN_PASSWORD:
        st.error(t("auth.password_short", n=auth.MIN_PASSWORD))
        return
    try:
        auth.set_password(engine(), username, first, actor=username)
        account = auth.get_user(engine(), username)
    except SenimError as exc:
        st.error(str(exc))
        return
    st.session_state.pop(PENDING_KEY, None)
    if account is None or account.disabled:
        st.error(t("auth.error_disabled"))
        return
    _start_session(username, account.role)
    st.rerun()


def logout_button() -> None:
    """A sidebar line with the user and role, and a button that ends the session."""
    user = current_user()
    if user is None or user.username == "anonymous":
        return
    st.sidebar.caption(t("auth.signed_in_as", user=user.username, role=t(f"auth.role_{user.role}")))
    if st.sidebar.button(t("auth.sign_out"), key="logout", icon=":material/logout:"):
        with contextlib.suppress(SQLAlchemyError):  # signing out works with the database down
            audit.record(engine(), actor=user.username, action="sign_out", target=user.username)
        _end_session()
        if _oidc_configured():
            st.logout()
        st.rerun()
