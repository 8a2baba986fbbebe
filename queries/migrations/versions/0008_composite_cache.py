"""composite cache (issue 11): summaries of composites over other institution sets

The composite trust index over a non-default set of institutions, summed per cell in SQL on
first use and kept per (set, wave) for every process (queries/summaries/composite.py); an
upload or rollback deletes the rows of the waves it touches. Starts empty: it is a cache.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summary_composite_waves",
        sa.Column("institutions", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("wave", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint(
            "institutions", "source", "wave", name=op.f("pk_summary_composite_waves")
        ),
    )
    op.create_table(
        "summary_composites",
        sa.Column("institutions", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("wave", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=True),
        sa.Column("age_group", sa.String(length=8), nullable=True),
        sa.Column("settlement", sa.String(length=8), nullable=True),
        sa.Column("variable", sa.String(length=96), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sw", sa.Float(), nullable=False),
        sa.Column("swy", sa.Float(), nullable=False),
        sa.Column("sw2", sa.Float(), nullable=False),
        sa.Column("sw2y", sa.Float(), nullable=False),
        sa.Column("sw2y2", sa.Float(), nullable=False),
        sa.Column("sy", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("summary_composites", schema=None) as batch_op:
        batch_op.create_index(
            "ix_summary_composites_set",
            ["institutions", "variable", "source", "wave"],
            unique=False,
        )
        batch_op.create_index("ix_summary_composites_wave", ["source", "wave"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("summary_composites", schema=None) as batch_op:
        batch_op.drop_index("ix_summary_composites_wave")
        batch_op.drop_index("ix_summary_composites_set")
    op.drop_table("summary_composites")
    op.drop_table("summary_composite_waves")
