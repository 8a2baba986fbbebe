"""Who is using the app (UI side). STUB — the auth engineer replaces the internals.

Interface the pages rely on (keep it):
- ``current_user() -> SessionUser | None``: the signed-in user of this browser session (expired
  sessions count as signed out); when sign-in is not required, an anonymous ``viewer``.
- ``require_role(role) -> SessionUser``: server-side check at the top of a page on every run;
  shows a translated "not allowed" message and calls ``st.stop()`` when the user lacks the role.
- ``has_role(user, role) -> bool``: role hierarchy viewer < analyst < staff < admin.
- ``login_view()``: the sign-in page body; ``logout_button()``: a sidebar button.
Session state key ``"senim_user"`` holds ``{"username", "role", "expires_at" (epoch seconds)}``;
tests may set it directly to act as a user.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from queries import settings

ROLE_ORDER = ("viewer", "analyst", "staff", "admin")
SESSION_KEY = "senim_user"


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: str
    anonymous: bool = False


def has_role(user: SessionUser | None, role: str) -> bool:
    if user is None:
        return False
    return ROLE_ORDER.index(user.role) >= ROLE_ORDER.index(role)


def current_user() -> SessionUser | None:
    info = st.session_state.get(SESSION_KEY)
    if info and info.get("expires_at", 0) > time.time():
        return SessionUser(info["username"], info["role"])
    if not settings.require_login():
        return SessionUser("anonymous", "viewer", anonymous=True)
    return None


def require_role(role: str) -> SessionUser:
    from dashboard.i18n import t

    user = current_user()
    if not has_role(user, role):
        st.error(t("auth.not_allowed"))
        st.stop()
    return user


def login_view() -> None:
    from dashboard.i18n import t

    st.info(t("auth.sign_in_required"))


def logout_button() -> None:
    if st.session_state.get(SESSION_KEY):
        from dashboard.i18n import t

        if st.sidebar.button(t("auth.sign_out")):
            st.session_state.pop(SESSION_KEY, None)
            st.rerun()
