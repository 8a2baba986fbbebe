"""population margins: the fourth upload kind

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('survey', 'ngo', 'proposals')"
KINDS_AFTER = "kind IN ('survey', 'ngo', 'proposals', 'population')"


def _kinds(check: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one (with its
    # foreign keys off, see queries.db.upgrade).
    with op.batch_alter_table("uploads", recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_uploads_kind"), type_="check")
        batch_op.create_check_constraint("kind", check)


def upgrade() -> None:
    op.create_table(
        "population",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("age_group", sa.String(length=8), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region"], ["regions.code"], name=op.f("fk_population_region_regions")
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.id"], name=op.f("fk_population_upload_id_uploads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_population")),
        sa.UniqueConstraint("region", "sex", "age_group", "year", name="uq_population_region"),
    )
    _kinds(KINDS_AFTER)


def downgrade() -> None:
    _kinds(KINDS_BEFORE)
    op.drop_table("population")
