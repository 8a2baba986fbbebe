"""What the access modules share: the account and refusal types, UTC time helpers, and the
checks of what an administrator types (user name, e-mail, role, password)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from queries.errors import SenimError
from queries.schema.access import ROLES

MIN_PASSWORD = 10


@dataclass(frozen=True)
class User:
    """A signed-in (or looked-up) account."""

    username: str
    role: str
    email: str | None = None
    must_change_password: bool = False
    disabled: bool = False


class AuthError(SenimError):
    """Sign-in refused; ``reason`` is what the UI shows: bad_credentials (also for unknown
    names), throttled (``seconds`` to wait; the same for every name), disabled and expired (a
    one-time password past its time; both only told to someone who typed the right password),
    reused (a one-time password offered as the new one)."""

    def __init__(self, reason: str, message: str, seconds: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.seconds = seconds


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """An aware UTC time (SQLite hands back naive UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def check_role(role: str) -> None:
    if role not in ROLES:
        raise SenimError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise SenimError(f"The password must have at least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise SenimError("The password must have at most 1024 characters.")


def check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 64:
        raise SenimError("A user name must have 1 to 64 characters.")
    if any(ch.isspace() or not ch.isprintable() for ch in name):
        raise SenimError(f"The user name {name!r} must not contain spaces or control characters.")
    return name


def check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip()
    if len(email) > 254 or email.count("@") != 1 or email.startswith("@") or email.endswith("@"):
        raise SenimError(f"{email!r} is not an e-mail address (expected name@domain).")
    return email
