"""responses' references checked once per load on PostgreSQL, not by per-row foreign keys

Ingest speed (issue 11): on PostgreSQL each foreign key of responses (region, upload, wave) is
a trigger run per inserted row: a 1M-row COPY took 12.4-13.1 s of server CPU with them and
4.5 s without. The load now checks and holds (FOR KEY SHARE) the few regions, waves and the
upload its rows refer to, once (queries/ingest/store.py); nothing deletes a region or an upload,
and a rollback deletes only waves no response refers to. SQLite keeps its foreign keys: they
cost nothing measurable there, and dropping them would copy the whole table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (constraint, column, referred table, referred column)
KEYS = (
    ("fk_responses_region_regions", "region", "regions", "code"),
    ("fk_responses_upload_id_uploads", "upload_id", "uploads", "id"),
    ("fk_responses_wave_id_survey_waves", "wave_id", "survey_waves", "id"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, *_ in KEYS:
        op.drop_constraint(name, "responses", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column, referred, key in KEYS:
        op.create_foreign_key(name, "responses", referred, [column], [key])
