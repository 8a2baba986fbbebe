"""register summaries (issue 11): proposal counts and per-day histograms

Placeholder reserved so that parallel work keeps one Alembic chain; filled by its owner.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
