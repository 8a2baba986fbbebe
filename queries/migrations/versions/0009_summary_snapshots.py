"""persisted snapshot (issue 11): the in-memory snapshot's frames per data version

The frames a process holds in memory for the summary store (queries/summaries/memory.py), as
one compressed Arrow IPC blob per data version (queries/summaries/persisted.py), so a starting
process reads one row instead of summing the store again. Starts empty: it is a cache.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summary_snapshots",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("frames", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_summary_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("summary_snapshots")
