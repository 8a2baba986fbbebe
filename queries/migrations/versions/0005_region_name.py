"""one name per concept: region_code columns become region

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("responses", "ngo_activity", "proposals")


def _rename(old: str, new: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")
        if postgres:  # SQLite keeps constraint names only in the table's DDL text
            op.execute(
                f"ALTER TABLE {table} RENAME CONSTRAINT fk_{table}_{old}_regions "
                f"TO fk_{table}_{new}_regions"
            )


def upgrade() -> None:
    _rename("region_code", "region")


def downgrade() -> None:
    _rename("region", "region_code")
