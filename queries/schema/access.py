"""Accounts and sign-in: users, their signed-in sessions, the sign-in throttle and the audit
log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from queries.schema.base import metadata
from queries.vocab import Role, values

ROLES = values(Role)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("email", String(254), unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text),  # NULL for accounts that sign in only through OIDC
    Column("disabled", Boolean, nullable=False, default=False),
    Column("must_change_password", Boolean, nullable=False, default=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True)),
    CheckConstraint(f"role IN {ROLES}", name="role"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column(
        "action", String(32), nullable=False
    ),  # upload, rollback, sign_in, sign_in_failed, role_change…
    Column("target", Text),
    Column("detail", JSON),
    Index("ix_audit_log_at", "at"),
)

# --- access hardening (migration 0002) -------------------------------------------------------
# Identity-provider binding (iss + sub, set at the first verified sign-in) and the expiry of a
# one-time password, on the existing accounts table.
users.append_column(Column("oidc_issuer", Text))
users.append_column(Column("oidc_subject", Text))
users.append_column(Column("password_expires_at", DateTime(timezone=True)))
users.append_constraint(
    UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_users_oidc_issuer_subject")
)

# Signed-in sessions. The browser holds a random token in an HttpOnly cookie; only its SHA-256
# is stored. ``handoff_hash`` is the one-time code that moves a fresh sign-in into the cookie.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("method", String(16), nullable=False),  # password | oidc
    Column("token_hash", String(64), unique=True),
    Column("handoff_hash", String(64), unique=True),
    Column("handoff_expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),  # absolute cap
    Column("last_seen_at", DateTime(timezone=True), nullable=False),  # idle timeout
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_user_sessions_username", "username"),
)

# Failed sign-in counters per key (name+address, name, address, everyone): progressive delays.
signin_throttle = Table(
    "signin_throttle",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Column("blocked_until", DateTime(timezone=True)),
)
