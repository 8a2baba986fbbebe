"""Local accounts: hashing, rate limit, roles, audit, the users CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from queries import auth
from queries.audit import list_events
from queries.errors import SenimError
from queries.schema import users

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def test_password_is_stored_hashed_and_checked(engine):
    auth.create_user(engine, "aigerim", "correct horse battery", role="analyst")
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert "correct horse" not in stored and stored.startswith("$argon2")
    user = auth.authenticate(engine, "aigerim", "correct horse battery", now=NOW)
    assert (user.username, user.role) == ("aigerim", "analyst")
    with pytest.raises(auth.AuthError) as wrong:
        auth.authenticate(engine, "aigerim", "wrong password!", now=NOW)
    assert wrong.value.reason == "bad_credentials"
    with pytest.raises(auth.AuthError) as unknown:
        auth.authenticate(engine, "nobody", "whatever-123", now=NOW)
    assert unknown.value.reason == "bad_credentials"


def test_five_failures_lock_the_account_for_fifteen_minutes(engine):
    auth.create_user(engine, "marat", "a-good-password", role="staff")
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.authenticate(engine, "marat", "guess-guess", now=NOW)
    with pytest.raises(auth.AuthError) as locked:
        auth.authenticate(engine, "marat", "a-good-password", now=NOW + dt.timedelta(minutes=5))
    assert locked.value.reason == "locked" and locked.value.minutes == 10
    user = auth.authenticate(engine, "marat", "a-good-password", now=NOW + dt.timedelta(minutes=16))
    assert user.role == "staff"


def test_roles_disable_and_audit(engine):
    auth.create_user(engine, "dana", "dana-password-1", role="viewer", actor="admin")
    auth.set_role(engine, "dana", "staff", actor="admin")
    auth.disable(engine, "dana", actor="admin")
    with pytest.raises(auth.AuthError) as disabled:
        auth.authenticate(engine, "dana", "dana-password-1", now=NOW)
    assert disabled.value.reason == "disabled"
    auth.enable(engine, "dana", actor="admin")
    assert auth.authenticate(engine, "dana", "dana-password-1", now=NOW).role == "staff"
    actions = list_events(engine).get_column("action").to_list()
    assert actions[:5] == [
        "sign_in",
        "user_enabled",
        "user_disabled",
        "role_changed",
        "user_created",
    ]
    with pytest.raises(SenimError, match="Unknown role"):
        auth.set_role(engine, "dana", "king")
    with pytest.raises(SenimError, match="no user"):
        auth.disable(engine, "ghost")


def test_demo_admin_once_with_a_forced_password_change(engine):
    password = auth.ensure_demo_admin(engine)
    assert password and len(password) >= 12
    assert auth.ensure_demo_admin(engine) is None
    user = auth.authenticate(engine, "admin", password, now=NOW)
    assert user.role == "admin" and user.must_change_password


def test_users_cli_reads_the_password_from_stdin(db_url):
    def cli(*args, stdin=None):
        return subprocess.run(
            [sys.executable, "-m", "queries", "users", *args, "--db", db_url],
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    added = cli("add", "staff1", "--role", "staff", stdin="a-long-password\n")
    assert added.returncode == 0, added.stderr
    listed = cli("list")
    assert "staff1" in listed.stdout and "staff" in listed.stdout
    assert cli("set-role", "staff1", "analyst").returncode == 0
    assert cli("disable", "staff1").returncode == 0
    short = cli("add", "x", "--role", "staff", stdin="short\n")
    assert short.returncode == 2 and "at least" in short.stderr
    from queries.db import make_engine

    engine = make_engine(db_url)
    row = auth.list_users(engine).row(0, named=True)
    assert (row["username"], row["role"], row["disabled"]) == ("staff1", "analyst", True)
