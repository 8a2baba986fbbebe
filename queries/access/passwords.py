"""Password changes: set by an administrator (a one-time password that expires), replaced by
the user right after signing in with one, or changed by the user (the current one checked like a
sign-in). Each is one account update with its audit row (``changes``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from queries.access import signin
from queries.access.changes import one_time_end, update_account
from queries.access.common import AuthError
from queries.access.common import aware as _aware
from queries.access.common import check_password as _check_password
from queries.access.common import utc_now as _now
from queries.access.hashing import hash_password, verify_password
from queries.errors import SenimError


def set_password(
    engine: Engine,
    username: str,
    password: str,
    *,
    actor: str = "cli",
    must_change: bool = False,
    now: dt.datetime | None = None,
) -> None:
    """Set a new password. ``must_change``: a one-time password, usable for
    ``settings.one_time_password_hours()``, that the user replaces at sign-in. Set by someone
    else, it also ends the user's open sessions."""
    _check_password(password)
    update_account(
        engine,
        username,
        actor,
        "password_set",
        {"must_change": must_change},
        end_sessions=actor != username,
        password_hash=hash_password(password),
        must_change_password=must_change,
        password_expires_at=one_time_end(now or _now()) if must_change else None,
        failed_attempts=0,
        locked_until=None,
    )


def _not_current(new: str):
    """A ``check`` for ``update_account``: the new password must not be the one stored (so a
    one-time password cannot be kept as the "new" one)."""

    def check(row) -> None:
        if row["password_hash"] and verify_password(row["password_hash"], new):
            raise AuthError("reused", "The new password must differ from the current one.")

    return check


def replace_one_time_password(
    engine: Engine, username: str, new: str, *, now: dt.datetime | None = None
) -> None:
    """Right after signing in with a one-time password: the user's own, different password
    (refused when the one-time password has expired meanwhile or no change is pending)."""
    _check_password(new)
    now = now or _now()
    hashed = hash_password(new)

    def check(row) -> None:
        expires = _aware(row["password_expires_at"])
        if not row["must_change_password"] or (expires is not None and expires <= now):
            raise AuthError("expired", "This one-time password has expired; ask for a new one.")
        _not_current(new)(row)

    update_account(
        engine,
        username,
        username,
        "password_set",
        {"must_change": False, "replaced_one_time": True},
        check=check,
        password_hash=hashed,
        must_change_password=False,
        password_expires_at=None,
    )


def change_password(
    engine: Engine,
    username: str,
    old: str,
    new: str,
    *,
    address: str = "local",
    now: dt.datetime | None = None,
) -> None:
    """The user's own change: the current password is checked like a sign-in (same throttle)."""
    _check_password(new)
    if old == new:
        raise SenimError("The new password must differ from the current one.")
    signin.authenticate(engine, username, old, address=address, now=now)
    update_account(
        engine,
        username,
        username,
        "password_set",
        {"must_change": False},
        check=_not_current(new),
        password_hash=hash_password(new),
        must_change_password=False,
        password_expires_at=None,
    )
