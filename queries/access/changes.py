"""How the access modules change an account: under the writer lock, one row updated together
with its audit row in the same transaction, never leaving the install without an active admin."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, select, update

from queries import settings
from queries.access import audit, sessions, throttle
from queries.errors import SenimError
from queries.schema.access import users


def write_connection(engine: Engine) -> Connection:
    """A connection that takes the writer lock at its first statement."""
    # The writer lock up front (SQLite BEGIN IMMEDIATE; rows FOR UPDATE on PostgreSQL), so two
    # sign-in attempts at the same moment cannot both read the same failure count.
    return engine.connect().execution_options(immediate=True)


def one_time_end(now: dt.datetime) -> dt.datetime:
    """When a one-time password set at ``now`` stops working."""
    return now + dt.timedelta(hours=settings.one_time_password_hours())


def active_admins(conn: Connection) -> set[str]:
    """The names of the enabled administrators."""
    query = select(users.c.username).where(users.c.role == "admin", users.c.disabled.is_(False))
    return set(conn.execute(query).scalars())


def update_account(
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
    with write_connection(engine) as conn, conn.begin():
        row = (
            conn.execute(select(users).where(users.c.username == username).with_for_update())
            .mappings()
            .first()
        )
        if row is None:
            raise SenimError(f"There is no user named {username!r}.")
        if not keeps_admin and active_admins(conn) == {username}:
            raise SenimError(f"{username!r} is the last active administrator; add another first.")
        if check is not None:
            check(row)
        conn.execute(update(users).where(users.c.id == row["id"]).values(**values))
        if end_sessions:
            detail = {**detail, "sessions_ended": sessions.revoke_user(conn, username=username)}
        if action == "user_enabled":
            throttle.forget_name(conn, name=username)
        audit.record(actor=actor, action=action, target=username, detail=detail, conn=conn)
