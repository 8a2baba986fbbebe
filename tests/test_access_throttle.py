"""Sign-in throttling (issue 13, finding 6): no user-name enumeration, progressive delays instead
of locking the owner out, per-address and global counters. The clock is injected (no sleeps)."""

from __future__ import annotations

import datetime as dt

import pytest

from queries.access import accounts as auth
from queries.access import signin, throttle
from queries.access.audit import list_events
from tests.access_helpers import fast_hashing  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
GOOD = "marat-password-1"


def at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


def outcome(engine, name: str, password: str, *, when=NOW, address="10.0.0.1"):
    """("ok", 0) or (reason, seconds) of one sign-in attempt."""
    try:
        signin.authenticate(engine, name, password, address=address, now=when)
    except auth.AuthError as exc:
        return exc.reason, exc.seconds
    return "ok", 0


def test_unknown_and_real_names_get_the_same_answers_and_delays(engine):
    auth.create_user(engine, "marat", GOOD, role="staff")
    real = [outcome(engine, "marat", "guess-guess-1") for _ in range(6)]
    unknown = [outcome(engine, "ghost", "guess-guess-1") for _ in range(6)]
    assert real == unknown  # nothing tells the names apart
    assert real[:5] == [("bad_credentials", 0)] * 5
    assert real[5] == ("throttled", throttle.LIMITS["pair"].base)
    # Case and spaces do not give a fresh counter.
    assert outcome(engine, " MARAT ", "guess-guess-1")[0] == "throttled"


def test_the_owner_waits_out_a_delay_instead_of_being_locked(engine):
    auth.create_user(engine, "marat", GOOD, role="staff")
    for _ in range(5):
        assert outcome(engine, "marat", "guess-guess-1")[0] == "bad_credentials"
    # Right now even the right password waits (it is not even checked)...
    assert outcome(engine, "marat", GOOD, when=at(1)) == ("throttled", 29)
    # ...hammering during the delay does not lengthen it...
    for second in range(2, 20):
        assert outcome(engine, "marat", "guess-guess-1", when=at(second))[0] == "throttled"
    # ...and once it has passed the right password works and clears the name's counters.
    assert outcome(engine, "marat", GOOD, when=at(30)) == ("ok", 0)
    assert outcome(engine, "marat", "guess-guess-1", when=at(31)) == ("bad_credentials", 0)


def test_delays_grow_and_a_guesser_elsewhere_barely_delays_the_owner(engine):
    auth.create_user(engine, "marat", GOOD, role="staff")
    when, delays = 0.0, []
    for _ in range(8):
        reason, _seconds = outcome(engine, "marat", "guess", when=at(when), address="203.0.113.9")
        assert reason == "bad_credentials"
        with engine.connect() as conn:
            wait = throttle.wait_seconds(conn, name="marat", address="203.0.113.9", now=at(when))
        delays.append(wait)
        when += wait
    assert delays == [0, 0, 0, 0, 30, 60, 120, 240]
    # The owner at their own address is not held by the stranger's counter.
    assert outcome(engine, "marat", GOOD, when=at(when - 1), address="10.0.0.7") == ("ok", 0)


def test_one_address_trying_many_names_is_slowed(engine, monkeypatch):
    monkeypatch.setitem(throttle.LIMITS, "address", throttle.Limit(free=4, base=10, cap=900))
    for i in range(4):
        assert outcome(engine, f"name{i}", "guess", address="198.51.100.5")[0] == "bad_credentials"
    assert outcome(engine, "name9", "guess", address="198.51.100.5") == ("throttled", 10)
    assert outcome(engine, "name9", "guess", address="198.51.100.6")[0] == "bad_credentials"


def test_a_spray_across_addresses_hits_the_global_counter(engine, monkeypatch):
    monkeypatch.setitem(throttle.LIMITS, "all", throttle.Limit(free=3, base=1, cap=60))
    auth.create_user(engine, "marat", GOOD, role="staff")
    for i in range(3):
        assert outcome(engine, f"user{i}", "guess", address=f"192.0.2.{i}")[0] == "bad_credentials"
    assert outcome(engine, "marat", GOOD, address="192.0.2.99") == ("throttled", 1)
    assert outcome(engine, "marat", GOOD, when=at(1), address="192.0.2.99") == ("ok", 0)


def test_counters_forget_after_an_hour_and_are_audited(engine):
    for minute in range(0, 5 * 61, 61):  # five failures, each more than an hour apart
        when = NOW + dt.timedelta(minutes=minute)
        assert outcome(engine, "ghost", "guess", when=when)[0] == "bad_credentials"
    failures = list_events(engine, action="sign_in_failed")
    assert failures.height == 5
    assert '"address": "10.0.0.1"' in failures.item(0, "detail")


@pytest.mark.parametrize("failures, expected", [(4, 0), (5, 30), (8, 240), (40, 900)])
def test_limit_delay_doubles_up_to_the_cap(failures, expected):
    assert throttle.LIMITS["pair"].delay(failures) == expected
