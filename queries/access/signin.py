"""Sign-in with a local password: argon2 checks (at most ``MAX_CONCURRENT_HASHES`` at a time,
each costs 64 MiB), progressive delays kept in the database (``throttle``), and the audit row of
every attempt, written in the same transaction as the counters it changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, select, update

from queries.access import audit, throttle
from queries.access.changes import write_connection
from queries.access.common import AuthError, User
from queries.access.common import aware as _aware
from queries.access.common import utc_now as _now
from queries.access.hashing import dummy_hash, verify_password
from queries.schema.access import users


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    *,
    address: str = "local",
    now: dt.datetime | None = None,
) -> User:
    """The user for a correct password; AuthError otherwise.

    Unknown names get the same answer, the same counters and the same hashing work as real ones
    (no enumeration). Failures start progressive delays (``throttle``) rather than locking the
    owner out: once a delay has passed, the right password works. ``address`` is the client's
    (for the per-address counters).
    """
    now = (now or _now()).astimezone(dt.UTC)
    name = username.strip()[:64]
    with engine.connect() as conn:
        wait = throttle.wait_seconds(conn, name=name, address=address, now=now)
        stored = conn.execute(
            select(users.c.password_hash).where(users.c.username == name)
        ).scalar_one_or_none()
    # Hash outside the write transaction (argon2 is slow and the lock should be short), and not
    # at all while a delay runs: the same for every name.
    skipped = bool(wait)
    correct = not skipped and verify_password(stored or dummy_hash(), password)
    correct = correct and stored is not None
    with write_connection(engine) as conn, conn.begin():
        throttle.hold(conn, name=name, address=address, now=now)
        # Again under the lock: attempts sent together must not all slip past the same delay.
        # (A delay that ended meanwhile still refuses this attempt: its password was not checked.)
        wait = throttle.wait_seconds(conn, name=name, address=address, now=now) or int(skipped)
        if wait:  # refused, not counted (hammering does not lengthen the delay)
            detail = {"reason": "throttled", "seconds_left": wait, "address": address}
            audit.record(actor=name, action="sign_in_failed", target=name, detail=detail, conn=conn)
            refusal = AuthError("throttled", f"Too many attempts; try again in {wait} s.", wait)
        else:
            row = (
                conn.execute(select(users).where(users.c.username == name).with_for_update())
                .mappings()
                .first()
            )
            refusal = _decide(conn, row, name, correct, address, now)
    if refusal:
        raise refusal
    return User(row["username"], row["role"], row["email"], bool(row["must_change_password"]))


def _decide(
    conn: Connection, row, name: str, correct: bool, address: str, now: dt.datetime
) -> AuthError | None:
    """Update the counters and write the audit row; the refusal to raise after commit, or None."""

    def failed(reason: str, **extra) -> None:
        detail = {"reason": reason, "address": address, **extra}
        audit.record(actor=name, action="sign_in_failed", target=name, detail=detail, conn=conn)

    if row is None or row["password_hash"] is None or not correct:
        delay = throttle.record_failure(conn, name=name, address=address, now=now)
        reason = "wrong password"
        if row is None or row["password_hash"] is None:
            reason = "unknown user" if row is None else "no local password"
        failed(reason, delay_s=delay)
        return AuthError("bad_credentials", "Wrong user name or password.")
    throttle.record_success(conn, name=name, address=address)
    if row["disabled"]:
        failed("disabled")
        return AuthError("disabled", "This account is disabled; ask an administrator.")
    expires = _aware(row["password_expires_at"])
    if row["must_change_password"] and expires is not None and expires <= now:
        failed("one-time password expired")
        return AuthError("expired", "This one-time password has expired; ask for a new one.")
    conn.execute(
        update(users)
        .where(users.c.id == row["id"])
        .values(failed_attempts=0, locked_until=None, last_login_at=now)
    )
    audit.record(
        actor=name,
        action="sign_in",
        target=name,
        detail={"method": "password", "address": address},
        conn=conn,
    )
    return None
