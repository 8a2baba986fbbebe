"""Local accounts and roles: adding an account, changing its role, disabling and enabling it,
an administrator's reset to a one-time password, the first admin of a new install, and looking
accounts up. Sign-in is ``signin``; password changes are ``passwords``.

Every change to an account goes into the audit log in the same transaction as the change itself
(``changes``).
"""

from __future__ import annotations

import datetime as dt
import secrets

import polars as pl
from sqlalchemy import Engine, func, insert, select

from queries.access import audit, passwords
from queries.access.changes import active_admins, one_time_end, update_account, write_connection
from queries.access.common import (  # noqa: F401  (re-exported: callers use accounts.*)
    AuthError,
    User,
)
from queries.access.common import aware as _aware
from queries.access.common import check_email as _check_email
from queries.access.common import check_password as _check_password
from queries.access.common import check_role as _check_role
from queries.access.common import check_username as _check_username
from queries.access.common import utc_now as _now
from queries.access.hashing import hash_password
from queries.errors import SenimError
from queries.schema.access import ROLES, users  # noqa: F401  (ROLES re-exported)


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
    hashed = hash_password(password) if password is not None else None
    with write_connection(engine) as conn, conn.begin():
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
                password_expires_at=one_time_end(_now()) if must_change_password else None,
                failed_attempts=0,
            )
        )
        detail = {"role": role, "email": email}
        audit.record(actor=actor, action="user_created", target=username, detail=detail, conn=conn)
    return User(username, role, email, must_change_password)


def set_role(engine: Engine, username: str, role: str, *, actor: str = "cli") -> None:
    """Change a user's role (never the last active admin's away from admin). Open sessions pick
    the new role up at their next click (the account is looked up on every run)."""
    _check_role(role)
    previous = get_user(engine, username)
    detail = {"role": role, "previous": previous.role if previous else None}
    update_account(
        engine, username, actor, "role_changed", detail, keeps_admin=role == "admin", role=role
    )


def disable(engine: Engine, username: str, *, actor: str = "cli") -> None:
    """Stop a user from signing in and end their open sessions at once (account and history
    stay)."""
    update_account(
        engine,
        username,
        actor,
        "user_disabled",
        {},
        keeps_admin=False,
        end_sessions=True,
        disabled=True,
    )


def enable(engine: Engine, username: str, *, actor: str = "cli") -> None:
    """Let a disabled user sign in again (and forget the delays of their name)."""
    values = {"disabled": False, "failed_attempts": 0, "locked_until": None}
    update_account(engine, username, actor, "user_enabled", {}, **values)


def reset_password(
    engine: Engine, username: str, *, actor: str = "cli", now: dt.datetime | None = None
) -> str:
    """Give the user a random one-time password (returned) that must be changed at sign-in."""
    password = secrets.token_urlsafe(12)
    passwords.set_password(engine, username, password, actor=actor, must_change=True, now=now)
    return password


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


USER_COLUMNS = {
    "username": pl.String,
    "email": pl.String,
    "role": pl.String,
    "disabled": pl.Boolean,
    "must_change_password": pl.Boolean,
    "password_expires_at": pl.Datetime("us"),  # when a pending one-time password expires
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
        if active_admins(conn):
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
