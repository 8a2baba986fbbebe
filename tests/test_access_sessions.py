"""Server-side sessions (issue 13, findings 9 and 11) and one-time passwords (finding 9): the
cookie token is stored only hashed, a hand-off code works once and briefly, sessions end at an
absolute cap and after idling, sign-out and disabling end them at once. Injected clock."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from queries.access import accounts as auth
from queries.access import passwords, sessions, signin
from queries.db import init_db, make_engine
from queries.schema.access import user_sessions
from tests.access_helpers import fast_hashing  # noqa: F401
from tests.conftest import sqlite_url

pytestmark = pytest.mark.usefixtures("fast_hashing")
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setenv("SENIM_SESSION_MINUTES", "480")
    monkeypatch.setenv("SENIM_IDLE_MINUTES", "60")


def signed_in(engine, username: str = "aliya", when: dt.datetime = NOW) -> tuple[int, str]:
    """(session id, cookie token) of a fresh sign-in whose code was redeemed at ``when``."""
    session_id, code = sessions.open_session(engine, username=username, method="password", now=when)
    token, _max_age = sessions.redeem_handoff(engine, code=code, now=when)
    return session_id, token


def test_the_token_resumes_the_session_and_only_its_hash_is_stored(engine, limits):
    session_id, token = signed_in(engine)
    found = sessions.resume(engine, token=token, now=at(5))
    assert (found.id, found.username, found.expires_at) == (session_id, "aliya", at(480))
    with engine.connect() as conn:
        stored = conn.execute(select(user_sessions)).mappings().one()
    assert token not in {str(v) for v in stored.values()}
    assert stored["token_hash"] == sessions.digest(token)
    assert sessions.resume(engine, token=token + "x", now=at(5)) is None
    assert sessions.resume(engine, token="", now=at(5)) is None


def test_a_handoff_code_works_once_and_briefly(engine, limits):
    _sid, code = sessions.open_session(engine, username="aliya", method="password", now=NOW)
    token, max_age = sessions.redeem_handoff(engine, code=code, now=at(0.5))
    assert max_age == int((480 - 0.5) * 60)
    assert sessions.redeem_handoff(engine, code=code, now=at(0.5)) is None  # used already
    _sid, late = sessions.open_session(engine, username="aliya", method="password", now=NOW)
    assert sessions.redeem_handoff(engine, code=late, now=at(1.1)) is None  # past 60 s
    assert sessions.redeem_handoff(engine, code="made-up", now=NOW) is None
    assert sessions.resume(engine, token=token, now=at(1)) is not None


def test_absolute_cap_from_sign_in_however_active(engine, limits):
    _sid, token = signed_in(engine)
    for minute in range(30, 480, 30):  # a click every half hour all day
        assert sessions.resume(engine, token=token, now=at(minute)) is not None
    assert sessions.resume(engine, token=token, now=at(480)) is None


def test_idle_timeout(engine, limits):
    session_id, token = signed_in(engine)
    assert sessions.resume(engine, token=token, now=at(59)) is not None
    assert sessions.check(engine, session_id=session_id, now=at(59 + 59)) is not None
    assert sessions.resume(engine, token=token, now=at(59 + 59 + 61)) is None


def test_sign_out_and_disabling_end_sessions_at_once(engine, limits):
    auth.create_user(engine, "boss", "boss-password-1", role="admin")
    auth.create_user(engine, "aliya", "aliya-password-1", role="analyst")
    first, token = signed_in(engine)
    _second, other_tab = signed_in(engine)
    sessions.revoke(engine, token=token, now=at(1))
    assert sessions.resume(engine, token=token, now=at(1)) is None
    assert sessions.check(engine, session_id=first, now=at(1)) is None
    assert sessions.resume(engine, token=other_tab, now=at(1)) is not None  # another browser
    auth.disable(engine, "aliya", actor="boss")
    assert sessions.resume(engine, token=other_tab, now=at(2)) is None


def test_a_password_reset_ends_the_users_sessions(engine, limits):
    auth.create_user(engine, "aliya", "aliya-password-1", role="analyst")
    _sid, token = signed_in(engine, when=dt.datetime.now(dt.UTC))
    auth.reset_password(engine, "aliya", actor="boss")
    assert sessions.resume(engine, token=token) is None


def test_one_time_passwords_expire_after_a_day(engine, monkeypatch):
    monkeypatch.setenv("SENIM_OTP_HOURS", "24")
    auth.create_user(engine, "aliya", "aliya-password-1", role="analyst")
    one_time = auth.reset_password(engine, "aliya", actor="boss", now=NOW)
    user = signin.authenticate(engine, "aliya", one_time, now=at(23 * 60))
    assert user.must_change_password
    with pytest.raises(auth.AuthError) as caught:
        signin.authenticate(engine, "aliya", one_time, now=at(24 * 60 + 1))
    assert caught.value.reason == "expired"
    with pytest.raises(auth.AuthError) as caught:
        passwords.replace_one_time_password(engine, "aliya", "my-own-password", now=at(24 * 60 + 1))
    assert caught.value.reason == "expired"


def test_a_one_time_password_cannot_be_kept_as_the_new_one(engine):
    auth.create_user(engine, "aliya", "aliya-password-1", role="analyst")
    one_time = auth.reset_password(engine, "aliya", actor="boss")
    with pytest.raises(auth.AuthError) as caught:
        passwords.replace_one_time_password(engine, "aliya", one_time)
    assert caught.value.reason == "reused"
    assert auth.get_user(engine, "aliya").must_change_password
    passwords.replace_one_time_password(engine, "aliya", "my-own-password")
    user = signin.authenticate(engine, "aliya", "my-own-password")
    assert not user.must_change_password
    # Nothing is pending any more: a second "replacement" is refused.
    with pytest.raises(auth.AuthError):
        passwords.replace_one_time_password(engine, "aliya", "yet-another-password")


def last_seen(engine, session_id: int) -> dt.datetime:
    with engine.connect() as conn:
        query = select(user_sessions.c.last_seen_at).where(user_sessions.c.id == session_id)
        return conn.execute(query).scalar_one()


def test_a_writer_holding_sqlite_does_not_hold_up_a_signed_in_rerun(tmp_path, limits):
    # An upload or a composite fill holds SQLite's writer lock for seconds: the activity stamp
    # is skipped then (the session is still valid), not queued behind it for up to a minute,
    # and made at the next rerun once the writer is done. Found by 50 websocket sessions.
    engine = make_engine(sqlite_url(tmp_path / "busy.db"))  # SQLite's database-wide lock
    init_db(engine)
    session_id, token = signed_in(engine)
    before = last_seen(engine, session_id)
    with engine.connect().execution_options(immediate=True) as writer, writer.begin():
        found = sessions.check(engine, session_id=session_id, now=at(10))
        assert found is not None and found.id == session_id
        assert sessions.resume(engine, token=token, now=at(10)) is not None
    assert last_seen(engine, session_id) == before  # skipped while the writer held the lock
    assert sessions.check(engine, session_id=session_id, now=at(11)) is not None
    assert last_seen(engine, session_id) > before  # made once it was free
