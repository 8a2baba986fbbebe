"""Sign-in, roles and the admin pages through AppTest, on both databases with real accounts;
sessions (server-side, resumed from the cookie), delays, one-time passwords and the identity
provider's verified sign-in (issue 13)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.i18n import translate
from queries.access import accounts as auth
from queries.access import sessions, signin
from queries.access.audit import list_events, record
from queries.db import make_engine
from tests.access_helpers import CLIENT, ISSUER, FakeProvider, fast_hashing  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60
FAR = 4_102_444_800  # 2100-01-01


def run_script(name: str) -> None:
    """What AppTest runs: ``login`` mimics the entry point (sign-in page until signed in)."""
    import importlib
    import os
    import sys

    sys.path.insert(0, os.getcwd())
    import streamlit as st

    from dashboard import auth as ui_auth
    from dashboard import signin_page

    if name == "login":
        user = ui_auth.current_user()
        if user is None:
            signin_page.login_view()
        else:
            st.markdown(f"signed in: {user.username} {user.role}")
        return
    importlib.import_module(f"dashboard.views.{name}").render()


@pytest.fixture
def accounts(db_url, monkeypatch):
    monkeypatch.setenv("SENIM_DATABASE_URL", db_url)
    monkeypatch.setenv("SENIM_REQUIRE_LOGIN", "1")
    monkeypatch.setenv("SENIM_SESSION_MINUTES", "30")
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    st.cache_data.clear()
    engine = make_engine(db_url)
    auth.create_user(engine, "boss", "boss-password-1", role="admin", email="boss@gov.kz")
    auth.create_user(engine, "leader", "leader-password", role="viewer")
    yield engine
    engine.dispose()


def app(name: str, lang: str = "en", user: dict | None = None) -> AppTest:
    at = AppTest.from_function(run_script, args=(name,), default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    if user:
        at.session_state["senim_user"] = {**user, "expires_at": FAR}
    return at.run()


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def test_the_login_page_signs_a_real_user_in(accounts):
    at = app("login")
    assert not at.exception
    assert at.title[0].value == translate("auth.sign_in_title", "en")
    before = time.time()
    sign_in(at, "leader", "leader-password")
    assert not at.exception
    session = at.session_state["senim_user"]
    assert (session["username"], session["role"]) == ("leader", "viewer")
    assert before + 30 * 60 <= session["expires_at"] <= time.time() + 30 * 60
    assert at.markdown[0].value == "signed in: leader viewer"
    assert list_events(accounts, action="sign_in").item(0, "target") == "leader"
    # A server-side session backs the tab; its end is fixed at sign-in (no sliding).
    assert sessions.check(accounts, session_id=session["sid"]).username == "leader"
    at.run()
    assert at.session_state["senim_user"]["expires_at"] == session["expires_at"]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_wrong_password_shows_the_message_and_signs_nobody_in(accounts, lang):
    at = sign_in(app("login", lang), "leader", "not-the-password")
    assert not at.exception
    assert [e.value for e in at.error] == [translate("auth.error_bad_credentials", lang)]
    assert "senim_user" not in at.session_state
    assert list_events(accounts, action="sign_in_failed").item(0, "target") == "leader"


def throttled_messages(lang: str = "en") -> set[str]:
    return {translate("access.error_throttled", lang, seconds=n) for n in range(1, 31)}


def test_delayed_and_disabled_accounts_say_so_alike_for_unknown_names(accounts):
    for name in ("leader", "ghost"):
        for _ in range(5):
            with pytest.raises(auth.AuthError):
                signin.authenticate(accounts, name, "guess-guess", address="local")
    # The right password waits out the delay; an unknown name gets the very same answer.
    at = sign_in(app("login"), "leader", "leader-password")
    assert at.error[0].value in throttled_messages()
    assert "senim_user" not in at.session_state
    at = sign_in(app("login"), "ghost", "leader-password")
    assert at.error[0].value in throttled_messages()
    auth.create_user(accounts, "gone", "gone-password", role="viewer")
    auth.disable(accounts, "gone", actor="boss")
    at = sign_in(app("login"), "gone", "gone-password")
    assert at.error[0].value == translate("auth.error_disabled", "en")
    assert "senim_user" not in at.session_state
    at = sign_in(app("login"), "", "")
    assert at.error[0].value == translate("auth.fill_both", "en")


def test_a_one_time_password_must_be_replaced_before_the_app_opens(accounts):
    one_time = auth.reset_password(accounts, "leader", actor="boss")
    at = sign_in(app("login"), "leader", one_time)
    assert not at.exception and "senim_user" not in at.session_state
    assert at.info[0].value == translate("auth.must_change", "en")
    at.text_input(key="new_password").input(one_time)
    at.text_input(key="repeat_password").input(one_time)
    at.button[0].click().run()
    assert at.error[0].value == translate("access.password_not_new", "en")
    assert "senim_user" not in at.session_state
    at.text_input(key="new_password").input("my-own-password")
    at.text_input(key="repeat_password").input("my-own-passwort")
    at.button[0].click().run()
    assert at.error[0].value == translate("auth.passwords_differ", "en")
    at.text_input(key="new_password").input("my-own-password")
    at.text_input(key="repeat_password").input("my-own-password")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["senim_user"]["username"] == "leader"
    assert not signin.authenticate(accounts, "leader", "my-own-password").must_change_password


def test_an_expired_session_signs_out(accounts):
    at = AppTest.from_function(run_script, args=("login",), default_timeout=TIMEOUT)
    at.session_state["senim_user"] = {"username": "leader", "role": "viewer", "expires_at": 1}
    at.run()
    assert "senim_user" not in at.session_state
    assert at.info[0].value == translate("auth.session_expired", "kk")  # the default language


def test_an_idle_session_signs_out(accounts, monkeypatch):
    monkeypatch.setenv("SENIM_IDLE_MINUTES", "60")
    at = AppTest.from_function(run_script, args=("login",), default_timeout=TIMEOUT)
    idle = time.time() - 61 * 60
    at.session_state["senim_user"] = {
        "username": "leader", "role": "viewer", "expires_at": FAR, "last_seen": idle,
    }  # fmt: skip
    at.run()
    assert "senim_user" not in at.session_state


def test_a_reload_resumes_the_session_from_the_cookie_until_sign_out(accounts, monkeypatch):
    from dashboard import auth as ui_auth

    session_id, code = sessions.open_session(accounts, username="leader", method="password")
    token, _ = sessions.redeem_handoff(accounts, code=code)
    monkeypatch.setattr(ui_auth, "_cookie_token", lambda: token)
    at = app("login")  # a new tab: empty session state, only the cookie
    assert at.markdown[0].value == "signed in: leader viewer"
    assert at.session_state["senim_user"]["sid"] == session_id
    sessions.revoke(accounts, session_id=session_id)  # signed out in another tab
    at.run()
    assert "senim_user" not in at.session_state
    assert app("login").title[0].value == translate("auth.sign_in_title", "en")


def test_disabling_ends_an_open_tab_at_once(accounts):
    at = sign_in(app("login"), "leader", "leader-password")
    sid = at.session_state["senim_user"]["sid"]
    auth.disable(accounts, "leader", actor="boss")
    assert sessions.check(accounts, session_id=sid) is None
    at.run()
    assert "senim_user" not in at.session_state


def test_disabling_or_demoting_takes_effect_at_the_next_run(accounts):
    at = app("users", user={"username": "boss", "role": "admin"})
    assert not at.error and len(at.dataframe) == 1
    auth.create_user(accounts, "boss2", "boss2-password", role="admin")
    auth.set_role(accounts, "boss", "analyst", actor="boss2")
    at.run()
    assert at.error[0].value == translate("auth.not_allowed", "en")
    assert at.session_state["senim_user"]["role"] == "analyst"
    auth.disable(accounts, "leader", actor="boss2")
    at = app("login", user={"username": "leader", "role": "viewer"})
    assert "senim_user" not in at.session_state
    assert at.title[0].value == translate("auth.sign_in_title", "en")


@pytest.mark.parametrize("page", ["users", "audit"])
@pytest.mark.parametrize("role", ["viewer", "analyst", "staff"])
def test_only_admins_open_the_users_and_audit_pages(accounts, page, role):
    at = app(page, user={"username": "leader", "role": role})
    assert not at.exception
    assert [e.value for e in at.error] == [translate("auth.not_allowed", "en")]
    assert len(at.dataframe) == 0 and len(at.text_input) == 0


def test_nobody_signed_in_is_refused_too(accounts):
    at = app("users")
    assert [e.value for e in at.error] == [translate("auth.not_allowed", "en")]


def test_admin_lists_adds_and_changes_users(accounts):
    at = app("users", user={"username": "boss", "role": "admin"})
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["User"]) == ["boss", "leader"]
    assert list(table["Role"]) == ["admin", "viewer"]
    at.text_input(key="users_new_name").input("aliya")
    at.text_input(key="users_new_email").input("aliya@gov.kz")
    at.selectbox(key="users_new_role").select("staff")
    next(b for b in at.button if b.label == translate("users.add", "en")).click().run()
    assert not at.exception
    message = at.success[0].value
    one_time = re.sub(r"\\(.)", r"\1", message.rsplit(": ", 1)[1])  # shown Markdown-escaped
    user = signin.authenticate(accounts, "aliya", one_time)
    assert (user.role, user.must_change_password) == ("staff", True)
    at.selectbox(key="users_who").select("aliya")
    at.selectbox(key="users_role").select("analyst")
    at.button(key="users_set_role").click().run()
    assert auth.get_user(accounts, "aliya").role == "analyst"
    assert at.success[0].value == translate("users.role_set", "en", user="aliya", role="analyst")
    at.button(key="users_disable").click().run()
    assert auth.get_user(accounts, "aliya").disabled
    at.selectbox(key="users_who").select("boss")
    at.button(key="users_disable").click().run()
    assert "last active administrator" in at.error[0].value
    assert not auth.get_user(accounts, "boss").disabled
    actions = list_events(accounts, actor="boss").get_column("action").to_list()
    assert actions == ["user_disabled", "role_changed", "user_created"]


def test_admin_reads_and_filters_the_audit_log(accounts):
    record(accounts, actor="staff1", action="upload", target="wave.csv", detail={"rows": 40})
    with pytest.raises(auth.AuthError):
        signin.authenticate(accounts, "leader", "wrong-password")
    at = app("audit", user={"username": "boss", "role": "admin"})
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Action"][:2]) == [
        translate("audit.action_sign_in_failed", "en"),
        translate("audit.action_upload", "en"),
    ]
    at.multiselect(key="audit_actions").select("upload").run()
    table = at.dataframe[0].value
    assert list(table["Target"]) == ["wave.csv"]
    assert len(at.get("download_button")) == 2
    at.text_input(key="audit_actor").input("nobody").run()
    assert at.info[0].value == translate("audit.none", "en")


@pytest.fixture(scope="module")
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def idp(accounts, provider, monkeypatch) -> FakeProvider:
    """The fake provider allowed by the setting, its keys served instead of the network's."""
    from queries.access import oidc

    monkeypatch.setenv("SENIM_OIDC_ISSUERS", ISSUER)
    monkeypatch.setattr(oidc, "provider_keys", lambda url: provider.jwks)
    return provider


def oidc_app(user: dict) -> AppTest:
    at = AppTest.from_function(run_script, args=("login",), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-cookie-secret",
        "client_id": CLIENT,
        "client_secret": "secret",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
        "expose_tokens": "id",
    }
    at.user = user
    return at.run()


def provider_user(idp: FakeProvider, **claims) -> dict:
    """What st.user holds after the provider's callback: the claims and the raw ID token."""
    token = idp.token(**claims)
    return {"is_logged_in": True, **claims, "tokens": {"id": token}}


def test_identity_provider_sign_in_needs_a_verified_bound_identity(accounts, idp):
    at = oidc_app(provider_user(idp, sub="b-1", email="boss@gov.kz", email_verified=True))
    assert not at.exception
    assert at.markdown[0].value == "signed in: boss admin"
    event = list_events(accounts, action="sign_in").row(0, named=True)
    assert (event["actor"], '"method": "oidc"' in event["detail"]) == ("boss", True)
    assert list_events(accounts, action="identity_bound").item(0, "target") == "boss"


def test_the_reviewed_takeover_is_refused(accounts, idp, provider):
    # BOSS@gov.kz, email_verified false: was mapped to the admin before.
    claims = {"sub": "x-9", "email": "BOSS@gov.kz", "email_verified": False}
    at = oidc_app(provider_user(idp, **claims))
    assert not at.exception and "senim_user" not in at.session_state
    assert at.error[0].value == translate("access.oidc_unverified_email", "en")
    # Verified but from an issuer that is not allowed (a claim in st.user is not enough).
    foreign = provider_user(idp, iss="https://evil.example/", **{**claims, "email_verified": True})
    at = oidc_app(foreign)
    assert at.error[0].value == translate("access.oidc_foreign_issuer", "en")
    # A forged st.user without a valid token.
    at = oidc_app({"is_logged_in": True, "email": "boss@gov.kz", "email_verified": True})
    assert at.error[0].value == translate("access.oidc_invalid_token", "en")
    assert list_events(accounts, action="sign_in").is_empty()


def test_identity_provider_user_without_an_account_is_not_let_in(accounts, idp):
    claims = {"sub": "s-1", "email": "stranger@example.com", "email_verified": True}
    at = oidc_app(provider_user(idp, **claims))
    assert not at.exception and "senim_user" not in at.session_state
    assert at.error[0].value == translate("access.oidc_no_account", "en")
    auth.create_user(accounts, "gone", None, role="staff", email="gone@gov.kz")
    auth.disable(accounts, "gone", actor="boss")
    at = oidc_app(provider_user(idp, sub="g-1", email="gone@gov.kz", email_verified=True))
    assert at.error[0].value == translate("access.oidc_disabled", "en")


def test_identity_provider_signed_out_sees_only_the_provider_button(accounts):
    at = oidc_app({"is_logged_in": False})
    assert [b.label for b in at.button] == [translate("auth.sign_in_provider", "en")]
    assert len(at.text_input) == 0


def test_every_label_built_at_run_time_is_translated():
    from dashboard.i18n import LANGUAGES, catalogue
    from dashboard.views.audit import ACTIONS
    from queries.access.audit import EVENT_COLUMNS

    keys = [f"audit.action_{a}" for a in ACTIONS]
    keys += [f"audit.col_{c}" for c in EVENT_COLUMNS]
    keys += [f"users.col_{c}" for c in auth.USER_COLUMNS]
    keys += [f"auth.role_{r}" for r in auth.ROLES]
    missing = [k for k in keys if set(catalogue().get(k, {})) != set(LANGUAGES)]
    assert missing == []


def test_user_names_are_never_rendered_as_markdown(accounts):
    at = app("users", user={"username": "boss", "role": "admin"})
    hostile = "![t](http://x.invalid/leak.png)"
    at.text_input(key="users_new_name").input(hostile)
    next(b for b in at.button if b.label == translate("users.add", "en")).click().run()
    assert not at.exception
    shown = at.success[0].value
    assert hostile not in shown and "http://" not in shown  # no image, no link
    assert auth.get_user(accounts, hostile) is not None  # the account is named as typed
