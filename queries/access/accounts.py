"""Local accounts and roles: argon2 password hashes (at most ``MAX_CONCURRENT_HASHES`` at a
time, each costs 64 MiB), sign-in throttled by progressive delays kept in the database
(``throttle``), one-time passwords that expire, and the first admin of a new install.

Every sign-in (successful or not) and every change to an account goes into the audit log in
the same transaction as the change itself.
"""

from __future__ import annotations

import datetime as dt
import secrets

import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select, update

from queries import settings
from queries.access import audit, sessions, throttle
from queries.access.common import (  # noqa: F401  (re-exported: callers use accounts.*)
    MIN_PASSWORD,
    AuthError,
    User,
)
from queries.access.common import aware as _aware
from queries.access.common import check_email as _check_email
from queries.access.common import check_password as _check_password
from queries.access.common import check_role as _check_role
from queries.access.common import check_username as _check_username
from queries.access.common import utc_now as _now
from queries.access.hashing import (  # noqa: F401  (re-exported: callers use accounts.*)
    MAX_CONCURRENT_HASHES,
    dummy_hash,
    hash_password,
    verify_password,
)
from queries.errors import SenimError
from queries.schema.access import ROLES, users  # noqa: F401  (ROLES re-exported)


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
    hashed = hash_password(password) if password is not None else None
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
                password_expires_at=_one_time_end(_now()) if must_change_password else None,
                failed_attempts=0,
            )
        )
        detail = {"role": role, "email": email}
        audit.record(actor=actor, action="user_created", target=username, detail=detail, conn=conn)
    return User(username, role, email, must_change_password)


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
    with _write(engine) as conn, conn.begin():
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


def _one_time_end(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(hours=settings.one_time_password_hours())


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
    end_sessions: bool = False,
    check=None,
    **values,
) -> None:
    """Update one account and log it; refuses to leave the install without an active admin.
    ``end_sessions`` revokes the user's open sessions in the same transaction; ``check(row)``
    may raise to refuse the change after the row is locked."""
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
        if check is not None:
            check(row)
        conn.execute(update(users).where(users.c.id == row["id"]).values(**values))
        if end_sessions:
            detail = {**detail, "sessions_ended": sessions.revoke_user(conn, username=username)}
        if action == "user_enabled":
            throttle.forget_name(conn, name=username)
        audit.record(actor=actor, action=action, target=username, detail=detail, conn=conn)


def set_role(engine: Engine, username: str, role: str, *, actor: str = "cli") -> None:
    """Change a user's role (never the last active admin's away from admin). Open sessions pick
    the new role up at their next click (the account is looked up on every run)."""
    _check_role(role)
    previous = get_user(engine, username)
    detail = {"role": role, "previous": previous.role if previous else None}
    _set(engine, username, actor, "role_changed", detail, keeps_admin=role == "admin", role=role)


def disable(engine: Engine, username: str, *, actor: str = "cli") -> None:
    """Stop a user from signing in and end their open sessions at once (account and history
    stay)."""
    _set(
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
    _set(engine, username, actor, "user_enabled", {}, **values)


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
    _set(
        engine,
        username,
        actor,
        "password_set",
        {"must_change": must_change},
        end_sessions=actor != username,
        password_hash=hash_password(password),
        must_change_password=must_change,
        password_expires_at=_one_time_end(now or _now()) if must_change else None,
        failed_attempts=0,
        locked_until=None,
    )


def reset_password(
    engine: Engine, username: str, *, actor: str = "cli", now: dt.datetime | None = None
) -> str:
    """Give the user a random one-time password (returned) that must be changed at sign-in."""
    password = secrets.token_urlsafe(12)
    set_password(engine, username, password, actor=actor, must_change=True, now=now)
    return password


def _not_current(new: str):
    """A ``check`` for ``_set``: the new password must not be the one stored (so a one-time
    password cannot be kept as the "new" one)."""

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

    _set(
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
    authenticate(engine, username, old, address=address, now=now)
    _set(
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
