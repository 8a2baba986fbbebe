"""Local accounts and roles: argon2 password hashes, a per-account sign-in rate limit kept in
the database (so it holds across sessions and processes), and the first admin of a new install."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass

import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, insert, select, update

from queries import audit
from queries.errors import SenimError
from queries.schema import ROLES, users

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class User:
    """A signed-in (or listed) account."""

    username: str
    role: str
    email: str | None = None
    must_change_password: bool = False


class AuthError(SenimError):
    """Sign-in refused; ``reason`` (bad_credentials, locked, disabled) is what the UI shows."""

    def __init__(self, reason: str, message: str, minutes: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.minutes = minutes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
    return value


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise SenimError(f"Unknown role {role!r}; choose one of: {', '.join(ROLES)}.")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise SenimError(f"The password must have at least {MIN_PASSWORD} characters.")


def create_user(
    engine: Engine,
    username: str,
    password: str | None,
    *,
    role: str = "viewer",
    email: str | None = None,
    must_change_password: bool = False,
    actor: str = "cli",
) -> User:
    """Add an account (password None = sign-in only through the identity provider)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise SenimError("A user name must have 1 to 64 characters.")
    _check_role(role)
    if password is not None:
        _check_password(password)
    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise SenimError(f"A user named {username!r} already exists.")
        conn.execute(
            insert(users).values(
                username=username,
                email=email,
                role=role,
                created_at=_now(),
                disabled=False,
                password_hash=_hasher.hash(password) if password is not None else None,
                must_change_password=must_change_password,
                failed_attempts=0,
            )
        )
        audit.record(
            actor=actor, action="user_created", target=username, detail={"role": role}, conn=conn
        )
    return User(username, role, email, must_change_password)


def authenticate(
    engine: Engine, username: str, password: str, *, now: dt.datetime | None = None
) -> User:
    """The user for a correct password; AuthError otherwise (5 failures lock for 15 minutes)."""
    now = now or _now()
    name = username.strip()[:64]
    with engine.begin() as conn:  # failures are committed too: the rate limit must hold
        row = conn.execute(select(users).where(users.c.username == name)).mappings().first()
        refusal = _check(conn, row, name, password, now)
    if refusal:
        raise refusal
    return User(row["username"], row["role"], row["email"], bool(row["must_change_password"]))


def _check(conn, row, name: str, password: str, now: dt.datetime) -> AuthError | None:
    """Record the attempt; the refusal to raise once it is committed, or None."""
    if row is None or row["password_hash"] is None:
        _safe_verify(_DUMMY_HASH, password)  # the same work as a real check: no user-name oracle
        audit.record(
            actor=name,
            action="sign_in_failed",
            target=name,
            detail={"reason": "unknown user"},
            conn=conn,
        )
        return AuthError("bad_credentials", "Wrong user name or password.")
    locked_until = _aware(row["locked_until"])
    if locked_until and locked_until > now:
        minutes = max(1, math.ceil((locked_until - now).total_seconds() / 60))
        return AuthError(
            "locked", f"Too many failed attempts; try again in {minutes} min.", minutes
        )
    if row["disabled"]:
        return AuthError("disabled", "This account is disabled; ask an administrator.")
    if not _safe_verify(row["password_hash"], password):
        failures = row["failed_attempts"] + 1
        values: dict = {"failed_attempts": failures}
        if failures >= MAX_FAILURES:
            values = {
                "failed_attempts": 0,
                "locked_until": now + dt.timedelta(minutes=LOCK_MINUTES),
            }
        conn.execute(update(users).where(users.c.id == row["id"]).values(**values))
        audit.record(
            actor=name,
            action="sign_in_failed",
            target=name,
            detail={"failures": failures},
            conn=conn,
        )
        return AuthError("bad_credentials", "Wrong user name or password.")
    conn.execute(
        update(users)
        .where(users.c.id == row["id"])
        .values(failed_attempts=0, locked_until=None, last_login_at=now)
    )
    audit.record(actor=name, action="sign_in", target=name, conn=conn)
    return None


def _safe_verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _set(engine: Engine, username: str, actor: str, action: str, detail: dict, **values) -> None:
    with engine.begin() as conn:
        done = conn.execute(update(users).where(users.c.username == username).values(**values))
        if done.rowcount == 0:
            raise SenimError(f"There is no user named {username!r}.")
        audit.record(actor=actor, action=action, target=username, detail=detail, conn=conn)


def set_role(engine: Engine, username: str, role: str, *, actor: str = "cli") -> None:
    """Change a user's role."""
    _check_role(role)
    _set(engine, username, actor, "role_changed", {"role": role}, role=role)


def disable(engine: Engine, username: str, *, actor: str = "cli") -> None:
    """Stop a user from signing in (the account and its history stay)."""
    _set(engine, username, actor, "user_disabled", {}, disabled=True)


def enable(engine: Engine, username: str, *, actor: str = "cli") -> None:
    """Let a disabled user sign in again."""
    _set(
        engine,
        username,
        actor,
        "user_enabled",
        {},
        disabled=False,
        failed_attempts=0,
        locked_until=None,
    )


def set_password(
    engine: Engine, username: str, password: str, *, actor: str = "cli", must_change: bool = False
) -> None:
    """Set a new password (``must_change``: the user picks their own at next sign-in)."""
    _check_password(password)
    _set(
        engine,
        username,
        actor,
        "password_set",
        {"must_change": must_change},
        password_hash=_hasher.hash(password),
        must_change_password=must_change,
        failed_attempts=0,
        locked_until=None,
    )


def user_for_email(engine: Engine, email: str) -> User | None:
    """The enabled account with this e-mail (identity-provider sign-in maps roles this way)."""
    with engine.connect() as conn:
        row = (
            conn.execute(select(users).where(func.lower(users.c.email) == email.strip().lower()))
            .mappings()
            .first()
        )
    if row is None or row["disabled"]:
        return None
    return User(row["username"], row["role"], row["email"])


def list_users(engine: Engine) -> pl.DataFrame:
    """Every account (never the hashes)."""
    cols = [
        users.c.username,
        users.c.email,
        users.c.role,
        users.c.disabled,
        users.c.created_at,
        users.c.last_login_at,
    ]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(users.c.username)).all()
    schema = {
        "username": pl.String,
        "email": pl.String,
        "role": pl.String,
        "disabled": pl.Boolean,
        "created_at": pl.Datetime("us"),
        "last_login_at": pl.Datetime("us"),
    }
    clean = [
        tuple(v.replace(tzinfo=None) if isinstance(v, dt.datetime) else v for v in r) for r in rows
    ]
    return pl.DataFrame(clean, schema=schema, orient="row")


def ensure_demo_admin(engine: Engine) -> str | None:
    """On a database with no admin, create ``admin`` with a one-time password and return it."""
    with engine.connect() as conn:
        if conn.execute(select(users.c.id).where(users.c.role == "admin")).first():
            return None
        taken = conn.execute(select(users.c.id).where(users.c.username == "admin")).first()
    password = secrets.token_urlsafe(12)
    if taken:
        set_role(engine, "admin", "admin", actor="setup")
        set_password(engine, "admin", password, actor="setup", must_change=True)
    else:
        create_user(
            engine, "admin", password, role="admin", must_change_password=True, actor="setup"
        )
    return password
