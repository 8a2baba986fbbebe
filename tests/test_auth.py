"""Local accounts on both databases: hashing, concurrent guesses, roles, disable/enable,
passwords and the first admin (delays: test_access_throttle.py; one-time passwords and
sessions: test_access_sessions.py; identity provider: test_access_oidc.py)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from queries.access import accounts as auth
from queries.access import passwords, signin
from queries.access.audit import list_events
from queries.errors import SenimError
from queries.schema.access import users

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
GOOD = "correct horse battery"


def refusal(engine, name: str, password: str, now: dt.datetime = NOW) -> auth.AuthError:
    with pytest.raises(auth.AuthError) as caught:
        signin.authenticate(engine, name, password, now=now)
    return caught.value


def test_password_is_stored_hashed_and_checked(engine):
    auth.create_user(engine, "aigerim", GOOD, role="analyst", email="Aigerim@Gov.kz")
    auth.create_user(engine, "berik", GOOD, role="viewer")
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") and GOOD not in h for h in stored)
    assert stored[0] != stored[1]  # salted: the same password hashes differently
    user = signin.authenticate(engine, "aigerim", GOOD, now=NOW)
    assert (user.username, user.role, user.email) == ("aigerim", "analyst", "Aigerim@Gov.kz")
    assert refusal(engine, "aigerim", "wrong password!").reason == "bad_credentials"
    unknown = refusal(engine, "nobody", "whatever-123")
    assert unknown.reason == "bad_credentials" and str(unknown) == "Wrong user name or password."
    last = auth.list_users(engine).filter(username="aigerim").row(0, named=True)
    assert last["last_login_at"] == NOW.replace(tzinfo=None)


def test_concurrent_guesses_are_judged_one_at_a_time(engine, db_url):
    from queries.db import make_engine

    auth.create_user(engine, "timur", "a-good-password", role="viewer")
    other = make_engine(db_url)  # another process's view of the same database
    try:
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(
                pool.map(
                    lambda e: _try(e, "timur", "guess-guess"), [engine, other] * 4 + [engine] * 2
                )
            )
        # 10 guesses at once: exactly the five free ones are judged, the rest meet the delay.
        assert outcomes.count("bad_credentials") == 5
        assert outcomes.count("throttled") == 5
        assert refusal(other, "timur", "a-good-password").reason == "throttled"
    finally:
        other.dispose()


def _try(engine, name: str, password: str) -> str:
    try:
        signin.authenticate(engine, name, password, now=NOW)
    except auth.AuthError as exc:
        return exc.reason
    return "ok"


def test_disabled_user_is_refused_only_with_the_right_password(engine):
    auth.create_user(engine, "dana", "dana-password-1", role="viewer", actor="boss")
    auth.create_user(engine, "boss", "boss-password-1", role="admin")
    auth.disable(engine, "dana", actor="boss")
    assert refusal(engine, "dana", "dana-password-1").reason == "disabled"
    assert refusal(engine, "dana", "not-her-password").reason == "bad_credentials"
    auth.enable(engine, "dana", actor="boss")
    assert signin.authenticate(engine, "dana", "dana-password-1", now=NOW).role == "viewer"


def test_roles_change_and_every_change_is_audited(engine):
    auth.create_user(engine, "boss", "boss-password-1", role="admin")
    auth.create_user(engine, "dana", "dana-password-1", role="viewer", actor="boss")
    auth.set_role(engine, "dana", "staff", actor="boss")
    auth.disable(engine, "dana", actor="boss")
    auth.enable(engine, "dana", actor="boss")
    signin.authenticate(engine, "dana", "dana-password-1", now=NOW)
    events = list_events(engine, actor="boss")
    assert events.get_column("action").to_list() == [
        "user_enabled",
        "user_disabled",
        "role_changed",
        "user_created",
    ]
    assert set(events.get_column("target")) == {"dana"}
    assert '"previous": "viewer"' in events.filter(action="role_changed").item(0, "detail")
    assert list_events(engine, action="sign_in").item(0, "actor") == "dana"
    assert auth.get_user(engine, "dana").role == "staff"


def test_bad_input_gives_clear_errors(engine):
    auth.create_user(engine, "boss", "boss-password-1", role="admin", email="boss@gov.kz")
    cases = [
        (lambda: auth.set_role(engine, "boss", "king"), "Unknown role 'king'"),
        (lambda: auth.disable(engine, "ghost"), "no user named 'ghost'"),
        (lambda: auth.create_user(engine, "boss", "another-password", role="viewer"), "exists"),
        (lambda: auth.create_user(engine, "x", "short", role="viewer"), "at least 10"),
        (lambda: auth.create_user(engine, "a b", "long-enough-pw", role="viewer"), "spaces"),
        (lambda: auth.create_user(engine, "", "long-enough-pw"), "1 to 64"),
        (lambda: auth.create_user(engine, "e", "long-enough-pw", email="nope"), "e-mail"),
        (lambda: auth.create_user(engine, "e", "long-enough-pw", email="BOSS@gov.kz"), "belongs"),
        # The install must keep an administrator who can sign in.
        (lambda: auth.set_role(engine, "boss", "viewer"), "last active administrator"),
        (lambda: auth.disable(engine, "boss"), "last active administrator"),
    ]
    for call, message in cases:
        with pytest.raises(SenimError, match=message):
            call()
    assert auth.list_users(engine).height == 1


def test_reset_and_change_password(engine):
    auth.create_user(engine, "aliya", "first-password", role="analyst")
    one_time = auth.reset_password(engine, "aliya", actor="boss")
    assert refusal(engine, "aliya", "first-password").reason == "bad_credentials"
    assert signin.authenticate(engine, "aliya", one_time).must_change_password
    with pytest.raises(auth.AuthError):
        passwords.change_password(engine, "aliya", "not-the-one-time", "brand-new-password")
    with pytest.raises(SenimError, match="differ"):
        passwords.change_password(engine, "aliya", one_time, one_time)
    passwords.change_password(engine, "aliya", one_time, "brand-new-password")
    user = signin.authenticate(engine, "aliya", "brand-new-password")
    assert not user.must_change_password
    assert list_events(engine, action="password_set").item(0, "actor") == "aliya"


def test_a_local_sign_in_needs_a_local_password(engine):
    auth.create_user(engine, "oidc1", None, role="staff", email="oidc1@gov.kz")
    # An identity-provider-only account has no password to sign in with locally.
    assert refusal(engine, "oidc1", "anything-at-all").reason == "bad_credentials"


def test_demo_admin_once_with_a_forced_password_change(engine):
    password = auth.ensure_demo_admin(engine)
    assert password and len(password) >= 12
    assert auth.ensure_demo_admin(engine) is None
    user = signin.authenticate(engine, "admin", password)
    assert user.role == "admin" and user.must_change_password
    assert list_events(engine, action="user_created").item(0, "actor") == "setup"


def test_demo_admin_revives_an_existing_admin_account_when_no_admin_is_active(engine):
    auth.create_user(engine, "admin", "old-admin-password", role="viewer")
    password = auth.ensure_demo_admin(engine)
    user = signin.authenticate(engine, "admin", password)
    assert (user.role, user.must_change_password) == ("admin", True)
    assert refusal(engine, "admin", "old-admin-password").reason == "bad_credentials"
