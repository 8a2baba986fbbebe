"""Sign-in, roles and the admin pages through AppTest, on both databases with real accounts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.i18n import translate
from queries.access import accounts as auth
from queries.access.audit import list_events, record
from queries.db import make_engine

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

    if name == "login":
        user = ui_auth.current_user()
        if user is None:
            ui_auth.login_view()
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


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_wrong_password_shows_the_message_and_signs_nobody_in(accounts, lang):
    at = sign_in(app("login", lang), "leader", "not-the-password")
    assert not at.exception
    assert [e.value for e in at.error] == [translate("auth.error_bad_credentials", lang)]
    assert "senim_user" not in at.session_state
    assert list_events(accounts, action="sign_in_failed").item(0, "target") == "leader"


def test_locked_and_disabled_accounts_say_so(accounts):
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises(auth.AuthError):
            auth.authenticate(accounts, "leader", "guess-guess")
    at = sign_in(app("login"), "leader", "leader-password")
    assert at.error[0].value == translate("auth.error_locked", "en", minutes=15)
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
    at.text_input(key="new_password").input("my-own-password")
    at.text_input(key="repeat_password").input("my-own-passwort")
    at.button[0].click().run()
    assert at.error[0].value == translate("auth.passwords_differ", "en")
    at.text_input(key="new_password").input("my-own-password")
    at.text_input(key="repeat_password").input("my-own-password")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["senim_user"]["username"] == "leader"
    assert not auth.authenticate(accounts, "leader", "my-own-password").must_change_password


def test_an_expired_session_signs_out(accounts):
    at = AppTest.from_function(run_script, args=("login",), default_timeout=TIMEOUT)
    at.session_state["senim_user"] = {"username": "leader", "role": "viewer", "expires_at": 1}
    at.run()
    assert "senim_user" not in at.session_state
    assert at.info[0].value == translate("auth.session_expired", "kk")  # the default language


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
    one_time = message.rsplit(": ", 1)[1]
    user = auth.authenticate(accounts, "aliya", one_time)
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
        auth.authenticate(accounts, "leader", "wrong-password")
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


def oidc_app(user: dict) -> AppTest:
    at = AppTest.from_function(run_script, args=("login",), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-cookie-secret",
        "client_id": "senim",
        "client_secret": "secret",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
    at.user = user
    return at.run()


def test_identity_provider_sign_in_takes_the_role_from_the_email(accounts):
    at = oidc_app({"is_logged_in": True, "email": "BOSS@gov.kz", "name": "Boss"})
    assert not at.exception
    assert at.markdown[0].value == "signed in: boss admin"
    event = list_events(accounts, action="sign_in").row(0, named=True)
    assert (event["actor"], '"method": "oidc"' in event["detail"]) == ("boss", True)


def test_identity_provider_user_without_an_account_is_not_let_in(accounts):
    at = oidc_app({"is_logged_in": True, "email": "stranger@example.com"})
    assert not at.exception and "senim_user" not in at.session_state
    assert at.error[0].value == translate("auth.unknown_email", "en")
    auth.disable(accounts, "leader", actor="boss")
    auth.create_user(accounts, "gone", None, role="staff", email="gone@gov.kz")
    auth.disable(accounts, "gone", actor="boss")
    at = oidc_app({"is_logged_in": True, "email": "gone@gov.kz"})
    assert at.error[0].value == translate("auth.unknown_email", "en")


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
