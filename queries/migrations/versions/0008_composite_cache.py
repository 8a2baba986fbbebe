"""composite cache (issue 11): summaries of composites over other institution sets

Placeholder reserved so that parallel work keeps one Alembic chain; filled by its owner.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
