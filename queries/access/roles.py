"""The PostgreSQL role the web app connects as: everything it needs, and on ``audit_log`` only
SELECT and INSERT (a compromised or buggy app cannot rewrite history).

Run once by the database owner after ``python -m queries init`` (migrations need the owner's
rights, so the app role never runs them): ``python -m queries grant-app-role senim_app`` or
``app_role_statements`` pasted into psql (docs/security.md). Migration 0002 additionally makes
``audit_log`` append-only for every role with triggers.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

from queries.errors import SenimError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role_statements(role: str) -> list[str]:
    """The GRANT/REVOKE statements for ``role`` (an existing login role) on schema public."""
    if not _NAME.match(role):
        raise SenimError(f"{role!r} is not a plain PostgreSQL role name (a-z, 0-9, _).")
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # The audit log: read and append, nothing else.
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM {role}",
        # The schema version is the owner's business.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
    ]


def grant_app_role(conn: Connection, *, role: str) -> None:
    """Apply ``app_role_statements`` (PostgreSQL only; run as the owner of the tables)."""
    if conn.dialect.name != "postgresql":
        raise SenimError("Database roles exist only on PostgreSQL; SQLite has no roles.")
    for statement in app_role_statements(role):
        conn.exec_driver_sql(statement)
