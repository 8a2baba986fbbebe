"""Who is using the app (UI side): the session's user and server-side role checks.

- ``current_user() -> SessionUser | None``: the signed-in user of this browser session (ended
  sessions count as signed out); when sign-in is not required, an anonymous ``viewer``.
- ``require_role(role) -> SessionUser``: checked at the top of a page on every run, server side;
  shows a translated "not allowed" message and stops the page when the user lacks the role.
- The sign-in page and the sidebar's sign-out button: ``dashboard.signin_page``.

Sessions (issue 13, docs/security.md): signing in opens a server-side session
(``queries.access.sessions``): absolute end ``SENIM_SESSION_MINUTES`` after sign-in, idle end
``SENIM_IDLE_MINUTES`` after the last click. Served through ``dashboard/serve.py`` the browser is
then sent once through ``/senim/session`` which puts the session's token into an HttpOnly,
Secure, SameSite=Strict cookie; a reload or a new tab resumes the session from that cookie.
Sign-out and disabling the account revoke the session in the database at once.

Session state ``"senim_user"`` holds ``{"username", "role", "expires_at" (epoch seconds),
"sid"}``. Tests may set it directly (without ``sid``) to act as a user; ``expires_at`` is then the
absolute end and ``"last_seen"`` (epoch seconds, optional) the idle clock. With an ``[auth]``
section in secrets, sign-in goes through the identity provider (``st.login``), and the ID token
is verified and bound to an account by ``queries.access.oidc``.

On every run the account is looked up again, so disabling a user or changing their role takes
effect at their next click. Once per run (issue 11): ``app.main`` checks inside
``checked_for_this_run()`` and every ``current_user()`` of that run reuses its answer; the
answer is dropped when the run ends (also by ``st.stop``/``st.rerun``) and when the run signs in
or out, so a later run, a callback or a fragment rerun always asks the database again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import streamlit as st

from dashboard import session_routes
from dashboard.data import engine
from dashboard.i18n import t
from queries import settings
from queries.access import accounts as auth
from queries.access import oidc, sessions
from queries.errors import DatabaseUnavailable
from queries.vocab import Role, values

ROLES = values(Role)
SESSION_KEY = "senim_user"
EXPIRED_KEY = "senim_session_expired"
OIDC_REFUSED_KEY = "senim_oidc_refused"  # the reason the provider's identity was refused


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: str


def has_role(user: SessionUser | None, role: str) -> bool:
    """Whether ``user`` has ``role`` or a higher one."""
    return user is not None and user.role in ROLES and Role(user.role).allows(role)


def oidc_configured() -> bool:
    """Whether sign-in goes through the identity provider (an ``[auth]`` section in secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all, or an unreadable one: local accounts
        return False


def _oidc_signed_in() -> bool:
    return oidc_configured() and bool(getattr(st.user, "is_logged_in", False))


def redirect(url: str) -> None:
    """Send the browser to ``url`` (the message ``st.login`` uses for its own redirect)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    message = ForwardMsg()
    message.auth_redirect.url = url
    ctx.enqueue(message)


def here() -> str:
    """This page's path and query, to come back to after the cookie hand-off."""
    path = urlsplit(st.context.url or "/").path or "/"
    query = urlencode(st.query_params.to_dict())
    return session_routes.safe_next(f"{path}?{query}" if query else path)


def start_session(*, username: str, role: str, method: str) -> None:
    """Open a server-side session for a user who just signed in (and move it into the cookie
    when served through ``serve.py``)."""
    _forget_run_user()
    sid, code = sessions.open_session(engine(), username=username, method=method)
    st.session_state[SESSION_KEY] = {
        "username": username,
        "role": role,
        "sid": sid,
        "expires_at": time.time() + settings.session_minutes() * 60,
    }
    st.session_state.pop(EXPIRED_KEY, None)
    if session_routes.mounted:  # move the session into the HttpOnly cookie (one round trip)
        redirect(f"{session_routes.SESSION_PATH}?code={code}&next={quote(here(), safe='')}")
        # end this run here, as st.login does: a rerun started now could reach the browser
        # before the redirect and leave it on the sign-in form
        st.stop()


def end_session(*, expired: bool = False) -> None:
    """Sign this tab out and revoke its server-side session (``expired``: say so on the sign-in
    page)."""
    _forget_run_user()
    stored = st.session_state.pop(SESSION_KEY, None)
    if isinstance(stored, dict) and stored.get("sid") is not None:
        with contextlib.suppress(DatabaseUnavailable):
            sessions.revoke(engine(), session_id=int(stored["sid"]))
    if expired:
        st.session_state[EXPIRED_KEY] = True


def _session_alive(stored: dict) -> bool:
    """Whether the stored session is still open (server-side row, or the test shape)."""
    if stored.get("sid") is not None:
        try:
            return sessions.check(engine(), session_id=int(stored["sid"])) is not None
        except DatabaseUnavailable:
            return True  # database down: pages show their own notice; keep the session
    now = time.time()
    last_seen = float(stored.get("last_seen", now))
    if float(stored.get("expires_at", 0)) <= now or last_seen + settings.idle_minutes() * 60 <= now:
        return False
    stored["last_seen"] = now
    return True


def _checked(stored: dict) -> SessionUser | None:
    """The session's user after looking the account up again (None: disabled meanwhile)."""
    username, role = str(stored.get("username", "")), stored.get("role")
    try:
        account = auth.get_user(engine(), username)
    except DatabaseUnavailable:
        account = None  # database down: pages show their own notice; keep the session
    else:
        if account is None or account.disabled:
            return None
    if account is not None:
        role = account.role
    if role not in ROLES:
        return None
    stored.update(role=role)
    return SessionUser(username, role)


def _cookie_token() -> str:
    """The session cookie sent with this tab's websocket (HttpOnly: never seen by scripts)."""
    value = st.context.cookies.get(session_routes.COOKIE)
    return value if isinstance(value, str) else ""  # AppTest has no real cookies


def _from_cookie() -> SessionUser | None:
    """A session carried by the cookie (a reload, a new tab), adopted by this tab."""
    token = _cookie_token()
    if not token:
        return None
    try:
        found = sessions.resume(engine(), token=token)
    except DatabaseUnavailable:
        return None
    if found is None:
        return None
    stored = {
        "username": found.username,
        "role": None,
        "sid": found.id,
        "expires_at": found.expires_at.timestamp(),
    }
    user = _checked(stored)
    if user is not None:
        st.session_state[SESSION_KEY] = stored
    return user


def _from_provider() -> SessionUser | None:
    """The identity provider's user, verified and bound (``queries.access.oidc``)."""
    if st.session_state.get(OIDC_REFUSED_KEY) or not _oidc_signed_in():
        return None
    try:
        identity = oidc.verify_id_token(
            str(st.user.tokens.get("id") or ""),
            jwks=oidc.provider_keys(_auth_setting("server_metadata_url")),
            issuers=settings.oidc_issuers(),
            audience=_auth_setting("client_id"),
        )
        account = oidc.sign_in(engine(), identity, issuers=settings.oidc_issuers())
    except oidc.OidcError as exc:
        st.session_state[OIDC_REFUSED_KEY] = exc.reason
        return None
    start_session(username=account.username, role=account.role, method="oidc")
    return SessionUser(account.username, account.role)


def _auth_setting(name: str) -> str:
    """A value of the ``[auth]`` secrets (the default provider, else the first named one)."""
    section = st.secrets["auth"]
    if name in section:
        return str(section[name])
    for value in section.values():
        if hasattr(value, "get") and value.get(name):
            return str(value[name])
    return ""


# --- one check per run (issue 11): five callers each asked the database (session row, account,
# activity stamp) on every rerun; keyed on the browser session, present only while app.main runs
_RUN_USERS: dict[str, SessionUser | None] = {}


def _session_key() -> str | None:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.session_id


def _forget_run_user() -> None:
    key = _session_key()
    if key is not None:
        _RUN_USERS.pop(key, None)


@contextlib.contextmanager
def checked_for_this_run() -> Iterator[SessionUser | None]:
    """The session's user, checked against the database now; inside the block
    ``current_user()`` returns the same answer without asking again."""
    key = _session_key()
    user = _check_user()
    if key is not None:
        _RUN_USERS[key] = user
    try:
        yield user
    finally:
        if key is not None:
            _RUN_USERS.pop(key, None)


def current_user() -> SessionUser | None:
    """The user of this browser session, or None when signed out (checked once per run inside
    ``checked_for_this_run``, else at each call)."""
    key = _session_key()
    if key is not None and key in _RUN_USERS:
        return _RUN_USERS[key]
    return _check_user()


# --- end one check per run


def _check_user() -> SessionUser | None:
    """Ask the database: the stored session still open, the account still enabled."""
    stored = st.session_state.get(SESSION_KEY)
    if isinstance(stored, dict):
        if _session_alive(stored):
            user = _checked(stored)
            if user is not None:
                return user
            end_session()
        else:
            end_session(expired=True)
            if _oidc_signed_in():
                st.logout()  # the provider's cookie outlives our session; end it too
    user = _from_cookie() or _from_provider()
    if user is not None:
        return user
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
