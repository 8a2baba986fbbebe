"""Who is using the app (UI side): sign-in, the session's user, and server-side role checks.

- ``current_user() -> SessionUser | None``: the signed-in user of this browser session (ended
  sessions count as signed out); when sign-in is not required, an anonymous ``viewer``.
- ``require_role(role) -> SessionUser``: checked at the top of a page on every run, server side;
  shows a translated "not allowed" message and stops the page when the user lacks the role.
- ``login_view()``: the sign-in page; ``logout_button()``: a sidebar button.

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
from dashboard.components.plain import escape_markdown
from dashboard.data import engine
from dashboard.i18n import t
from queries import settings
from queries.access import accounts as auth
from queries.access import audit, oidc, passwords, sessions, signin
from queries.access.common import MIN_PASSWORD
from queries.errors import DatabaseUnavailable, SenimError
from queries.vocab import Role, values

ROLES = values(Role)
SESSION_KEY = "senim_user"
PENDING_KEY = "senim_change_password"  # {"username", "expires_at"} after a one-time password
EXPIRED_KEY = "senim_session_expired"
OIDC_REFUSED_KEY = "senim_oidc_refused"  # the reason the provider's identity was refused
PENDING_SECONDS = 600
ERROR_KEYS = {
    "bad_credentials": "auth.error_bad_credentials",
    "disabled": "auth.error_disabled",
    "throttled": "access.error_throttled",
    "expired": "access.error_expired",
    "reused": "access.password_not_new",
}


@dataclass(frozen=True)
class SessionUser:
    username: str
    role: str


def has_role(user: SessionUser | None, role: str) -> bool:
    """Whether ``user`` has ``role`` or a higher one."""
    return user is not None and user.role in ROLES and Role(user.role).allows(role)


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


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all, or an unreadable one: local accounts
        return False


def _oidc_signed_in() -> bool:
    return _oidc_configured() and bool(getattr(st.user, "is_logged_in", False))


def _redirect(url: str) -> None:
    """Send the browser to ``url`` (the message ``st.login`` uses for its own redirect)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return
    message = ForwardMsg()
    message.auth_redirect.url = url
    ctx.enqueue(message)


def _here() -> str:
    """This page's path and query, to come back to after the cookie hand-off."""
    path = urlsplit(st.context.url or "/").path or "/"
    query = urlencode(st.query_params.to_dict())
    return session_routes.safe_next(f"{path}?{query}" if query else path)


def _start_session(username: str, role: str, method: str) -> None:
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
        _redirect(f"{session_routes.SESSION_PATH}?code={code}&next={quote(_here(), safe='')}")
        # end this run here, as st.login does: a rerun started now could reach the browser
        # before the redirect and leave it on the sign-in form
        st.stop()


def _end_session(expired: bool = False) -> None:
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
    _start_session(account.username, account.role, "oidc")
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
            _end_session()
        else:
            _end_session(expired=True)
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


def login_view() -> None:
    """The sign-in page: the identity provider's button, or the local account form."""
    st.title(t("auth.sign_in_title"))
    if st.session_state.get(EXPIRED_KEY):
        st.info(t("auth.session_expired"), icon=":material/timer_off:")
    if _oidc_configured():
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
    except auth.AuthError as exc:
        key = ERROR_KEYS.get(exc.reason, "auth.error_bad_credentials")
        st.error(t(key, seconds=exc.seconds), icon=":material/error:")
        return
    if user.must_change_password:
        st.session_state[PENDING_KEY] = {
            "username": user.username,
            "expires_at": time.time() + PENDING_SECONDS,
        }
        st.rerun()
    _start_session(user.username, user.role, "password")
    st.rerun()


def _provider_view() -> None:
    refused = st.session_state.get(OIDC_REFUSED_KEY)
    if getattr(st.user, "is_logged_in", False) and refused:
        st.error(t(f"access.oidc_{refused}"), icon=":material/error:")
        st.button(t("auth.sign_out"), on_click=_provider_sign_out)
    else:
        st.button(t("auth.sign_in_provider"), on_click=st.login, type="primary")


def _provider_sign_out() -> None:
    st.session_state.pop(OIDC_REFUSED_KEY, None)
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
        account = auth.get_user(engine(), username)
    except auth.AuthError as exc:
        st.error(t(ERROR_KEYS.get(exc.reason, "auth.error_bad_credentials")))
        return
    except SenimError as exc:
        st.error(escape_markdown(exc))
        return
    st.session_state.pop(PENDING_KEY, None)
    if account is None or account.disabled:
        st.error(t("auth.error_disabled"))
        return
    _start_session(username, account.role, "password")
    st.rerun()


def logout_button() -> None:
    """A sidebar line with the user and role, and a button that ends the session."""
    user = current_user()
    if user is None or user.username == "anonymous":
        return
    # st.text, not caption: a user name is never rendered as Markdown
    st.sidebar.text(t("auth.signed_in_as", user=user.username, role=t(f"auth.role_{user.role}")))
    if st.sidebar.button(t("auth.sign_out"), key="logout", icon=":material/logout:"):
        with contextlib.suppress(DatabaseUnavailable):  # signing out works with the database down
            audit.record(engine(), actor=user.username, action="sign_out", target=user.username)
        _end_session()  # revokes the server-side session at once
        if _oidc_configured():
            st.logout()
        elif session_routes.mounted:
            # ...and drop the cookie from the browser, back to this page's sign-in form
            _redirect(f"{session_routes.SIGNOUT_PATH}?next={quote(_here(), safe='')}")
            st.stop()
        st.rerun()
