"""register summaries (issue 11): proposal counts and per-day histograms

The proposals register as counts per (source, region, topic, day submitted, status) and per-day
histograms of the days to answer and to implement under the same keys (queries/summaries/
register.py), so no page reads the proposals table. Filled here from the stored proposals, so
an upgraded database serves the register at once; the SQL is written out rather than imported,
so that this migration keeps doing what it did when the application code changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEYS = "source, region, topic, submitted_on"


def _days(dialect: str, column: str) -> str:
    if dialect == "sqlite":  # dates are ISO text: whole days between two julian day numbers
        return f"CAST(julianday({column}) - julianday(submitted_on) AS INTEGER)"
    return f"({column} - submitted_on)"  # PostgreSQL: date - date is an integer


def upgrade() -> None:
    op.create_table(
        "register_counts",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_answered", sa.Integer(), nullable=False),
    )
    op.create_table(
        "register_days",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    # an upload rewrites the days it touched: its rows by upload_id, the days' rows by day
    op.create_index("ix_register_counts_submitted_on", "register_counts", ["submitted_on"])
    op.create_index("ix_register_days_submitted_on", "register_days", ["submitted_on"])
    op.create_index("ix_proposals_submitted_on", "proposals", ["submitted_on"])
    op.create_index("ix_proposals_upload_id", "proposals", ["upload_id"])
    dialect = op.get_bind().dialect.name
    op.execute(
        f"INSERT INTO register_counts ({KEYS}, status, n, n_answered) "
        f"SELECT {KEYS}, status, count(*), count(answered_on) FROM proposals "
        f"GROUP BY {KEYS}, status"
    )
    for event, column in (("answer", "answered_on"), ("implement", "implemented_on")):
        days = _days(dialect, column)
        op.execute(
            f"INSERT INTO register_days ({KEYS}, event, days, n) "
            f"SELECT {KEYS}, '{event}', {days}, count(*) FROM proposals "
            f"WHERE {column} IS NOT NULL GROUP BY {KEYS}, {days}"
        )


def downgrade() -> None:
    op.drop_index("ix_proposals_upload_id", table_name="proposals")
    op.drop_index("ix_proposals_submitted_on", table_name="proposals")
    op.drop_table("register_days")
    op.drop_table("register_counts")
