"""Local accounts and roles: argon2 password hashes, a per-account sign-in rate limit kept in
the database (so it holds across sessions and processes), and the first admin of a new install.

Every sign-in (successful or not) and every change to an account goes into the audit log in
the same transaction as the change itself.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass

import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, func, insert, select, update

from queries.access import audit
from queries.errors import SenimError
from queries.schema import ROLES, users

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class User:
    """A signed-in (or looked-up) account."""

    username: str
    role: str
    email: str | None = None
    must_change_password: bool = False
    disabled: bool = False


class AuthError(SenimError):
    """Sign-in refused; ``reason`` (bad_credentials, locked, disabled) is what the UI shows,
    ``minutes`` how long a lock still lasts."""

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
    if len(password) > 1024:
        raise SenimError("The password must have at most 1024 characters.")


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 64:
        raise SenimError("A user name must have 1 to 64 characters.")
    if any(ch.isspace() or not ch.isprintable() for ch in name):
        raise SenimError(f"The user name {name!r} must not contain spaces or control characters.")
    return name


def _check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip()
    if len(email) > 254 or email.count("@") != 1 or email.startswith("@") or email.endswith("@"):
        raise SenimError(f"{email!r} is not an e-mail address (expected name@domain).")
    return email


def _write(engine: Engine) -> Connection:
    # The writer lock up front (SQLite BEGIN IMMEDIATE; rows FOR UPDATE on PostgreSQL), so two
    # sign-in attempts at the same moment cannot both read the same failure count.
    return engine.connect().execution_options(immediate=True)


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
    username = _check_username(username)
    email = _check_email(email)
    _check_role(role)
    if password is not None:
        _check_password(password)
    hashed = _hasher.hash(password) if password is not None else None
    with _write(engine) as conn, conn.begin():
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise SenimError(f"A user named {username!r} already exists.")
        if (
            email
            and conn.execute(
                select(users.c.username).where(func.lower(users.c.email) == email.lower())
            ).first()
        ):
            raise SenimError(f"The e-mail {email!r} already belongs to another user.")
        conn.execute(
            insert(users).values(
                username=username,
                email=email,
                role=role,
                created_at=_now(),
                disabled=False,
                password_hash=hashed,
                must_change_password=must_change_password,
                failed_attempts=0,
            )
        )
        detail = {"role": role, "email": email}
        audit.record(actor=actor, action="user_created", target=username, detail=detail, conn=conn)
    return User(username, role, email, must_change_password)


def authenticate(
    engine: Engine, username: str, password: str, *, now: dt.datetime | None = None
) -> User:
    """The user for a correct password; AuthError otherwise.

    ``MAX_FAILURES`` wrong passwords in a row lock the account for ``LOCK_MINUTES``; the count
    lives in the database. An unknown user name costs the same hashing work as a known one, and
    "disabled" is only told to someone who knows the password.
    """
    now = (now or _now()).astimezone(dt.UTC)
    name = username.strip()[:64]
    with engine.connect() as conn:
        stored = conn.execute(
            select(users.c.password_hash).where(users.c.username == name)
        ).scalar_one_or_none()
    # Hash outside the write transaction: argon2 is slow and the lock should be short.
    correct = _safe_verify(stored or _DUMMY_HASH, password) and stored is not None
    with _write(engine) as conn, conn.begin():
        row = (
            conn.execute(select(users).where(users.c.username == name).with_for_update())
            .mappings()
            .first()
        )
        refusal = _decide(conn, row, name, correct, now)
    if refusal:
        raise refusal
    return User(row["username"], row["role"], row["email"], bool(row["must_change_password"]))


def _decide(conn: Connection, row, name: str, correct: bool, now: dt.datetime) -> AuthError | None:
    """Update the counters and write the audit row; the refusal to raise after commit, or None."""

    def failed(reason: str, **extra) -> None:
        detail = {"reason": reason, **extra}
        audit.record(actor=name, action="sign_in_failed", target=name, detail=detail, conn=conn)

    if row is None or row["password_hash"] is None:
        failed("unknown user" if row is None else "no local password")
        return AuthError("bad_credentials", "Wrong user name or password.")
    locked_until = _aware(row["locked_until"])
    if locked_until and locked_until > now:
        minutes = max(1, math.ceil((locked_until - now).total_seconds() / 60))
        failed("locked", minutes_left=minutes)
        return AuthError(
            "locked", f"Too many failed attempts; try again in {minutes} min.", minutes
        )
    if not correct:
        failures = row["failed_attempts"] + 1
        values: dict = {"failed_attempts": failures}
        if failures >= MAX_FAILURES:
            values = {
                "failed_attempts": 0,
                "locked_until": now + dt.timedelta(minutes=LOCK_MINUTES),
            }
        conn.execute(update(users).where(users.c.id == row["id"]).values(**values))
        failed("wrong password", failures=failures, locked=failures >= MAX_FAILURES)
        return AuthError("bad_credentials", "Wrong user name or password.")
    if row["disabled"]:
        failed("disabled")
        return AuthError("disabled", "This account is disabled; ask an administrator.")
    conn.execute(
        update(users)
        .where(users.c.id == row["id"])
        .values(failed_attempts=0, locked_until=None, last_login_at=now)
    )
    audit.record(
        actor=name, action="sign_in", target=name, detail={"method": "password"}, conn=conn
    )
    return None


def _safe_verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _active_admins(conn: Connection) -> set[str]:
    query = select(users.c.username).where(users.c.role == "admin", users.c.disabled.is_(False))
    return set(conn.execute(query).scalars())


def _set(
    engine: Engine,
    username: str,
    actor: str,
    action: str,
    detail: dict,
    *,
    keeps_admin: bool = True,
    **values,
) -> None:
    """Update one account and log it; refuses to leave the install without an active admin."""
    with _write(engine) as conn, conn.begin():
        row = (
            conn.execute(select(users).where(users.c.username == username).with_for_update())
            .mappings()
            .first()
        )
        if row is None:
            raise SenimError(f"There is no user named {username!r}.")
        if not keeps_admin and _active_admins(conn) == {username}:
            raise SenimError(f"{username!r} is the last active administrator; add another first.")
        conn.execute(update(users).where(users.c.id == row["id"]).values(**values))
        audit.record(actor=actor, action=action, target=username, detail=detail, conn=conn)


def set_role(engine: Engine, username: str, role: str, *, actor: str = "cli") -> None:
    """Change a user's role (never the last active admin's away from admin)."""
    _check_role(role)
    previous = get_user(engine, username)
    detail = {"role": role, "previous": previous.role if previous else None}
    _set(engine, username, actor, "role_changed", detail, keeps_admin=role == "admin", role=role)


def disable(engine: Engine, username: str, *, actor: str = "cli") -> None:
    """Stop a user from signing in (the account and its history stay)."""
    _set(engine, username, actor, "user_disabled", {}, keeps_admin=False, disabled=True)


def enable(engine: Engine, username: str, *, actor: str = "cli") -> None:
    """Let a disabled (or locked) user sign in again."""
    values = {"disabled": False, "failed_attempts": 0, "locked_until": None}
    _set(engine, username, actor, "user_enabled", {}, **values)


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


def reset_password(engine: Engine, username: str, *, actor: str = "cli") -> str:
    """Give the user a random one-time password (returned) that must be changed at sign-in."""
    password = secrets.token_urlsafe(12)
    set_password(engine, username, password, actor=actor, must_change=True)
    return password


def change_password(
    engine: Engine, username: str, old: str, new: str, *, now: dt.datetime | None = None
) -> None:
    """The user's own change: the current password is checked like a sign-in (same rate limit)."""
    _check_password(new)
    if old == new:
        raise SenimError("The new password must differ from the current one.")
    authenticate(engine, username, old, now=now)
    set_password(engine, username, new, actor=username)


def get_user(engine: Engine, username: str) -> User | None:
    """The account called ``username`` (disabled ones too), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
    if row is None:
        return None
    return User(
        row["username"],
        row["role"],
        row["email"],
        bool(row["must_change_password"]),
        bool(row["disabled"]),
    )


def user_for_email(engine: Engine, email: str) -> User | None:
    """The enabled account with this e-mail (identity-provider sign-in maps roles this way)."""
    if not email or not email.strip():
        return None
    with engine.connect() as conn:
        row = (
            conn.execute(select(users).where(func.lower(users.c.email) == email.strip().lower()))
            .mappings()
            .first()
        )
    if row is None or row["disabled"]:
        return None
    return User(row["username"], row["role"], row["email"])


USER_COLUMNS = {
    "username": pl.String,
    "email": pl.String,
    "role": pl.String,
    "disabled": pl.Boolean,
    "must_change_password": pl.Boolean,
    "locked_until": pl.Datetime("us"),
    "created_at": pl.Datetime("us"),
    "last_login_at": pl.Datetime("us"),
}


def list_users(engine: Engine) -> pl.DataFrame:
    """Every account, by name (never the hashes); times are naive UTC."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(users.c[name] for name in USER_COLUMNS)).order_by(users.c.username)
        ).all()
    clean = [
        tuple(
            _aware(v).astimezone(dt.UTC).replace(tzinfo=None) if isinstance(v, dt.datetime) else v
            for v in r
        )
        for r in rows
    ]
    return pl.DataFrame(clean, schema=USER_COLUMNS, orient="row")


def ensure_demo_admin(engine: Engine) -> str | None:
    """On a database with no active admin, make ``admin`` one with a one-time password (returned,
    must be changed at first sign-in); None when an active admin exists."""
    with engine.connect() as conn:
        if _active_admins(conn):
            return None
        taken = conn.execute(select(users.c.id).where(users.c.username == "admin")).first()
    if not taken:
        password = secrets.token_urlsafe(12)
        create_user(
            engine, "admin", password, role="admin", must_change_password=True, actor="setup"
        )
        return password
    set_role(engine, "admin", "admin", actor="setup")
    enable(engine, "admin", actor="setup")
    return reset_password(engine, "admin", actor="setup")
