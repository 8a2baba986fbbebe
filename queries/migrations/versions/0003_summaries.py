"""summary store: per-cell sums of the survey, register histograms

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summary_strata",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("wave", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("n_h", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "wave", "region", name=op.f("pk_summary_strata")),
    )
    op.create_table(
        "summary_cells",
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
    with op.batch_alter_table("summary_cells", schema=None) as batch_op:
        batch_op.create_index("ix_summary_cells_wave", ["source", "wave", "variable"], unique=False)
    op.create_table(
        "summary_variables",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("wave", sa.String(length=32), nullable=False),
        sa.Column("variable", sa.String(length=96), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", "wave", "variable", name=op.f("pk_summary_variables")),
    )
    # Databases that already hold survey rows get their summaries filled by
    # `python -m queries summaries rebuild` (a migration does not run the metrics code).


def downgrade() -> None:
    with op.batch_alter_table("summary_cells", schema=None) as batch_op:
        batch_op.drop_index("ix_summary_cells_wave")
    op.drop_table("summary_cells")
    op.drop_table("summary_strata")
    op.drop_table("summary_variables")
