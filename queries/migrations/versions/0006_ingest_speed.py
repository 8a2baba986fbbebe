"""ingest speed: trust_scores.response_id no longer a per-row foreign key

A foreign key is checked row by row (PostgreSQL fires one trigger per inserted score, SQLite one
lookup), and a survey upload writes ~7 scores per respondent: at 1M respondents those checks cost
more than the whole target load time. The load writes the scores of the responses it inserted in
the same transaction and checks that block once (queries.ingest.store.insert_survey); the
rollback deletes an upload's scores before its responses (queries.ingest.uploads). DEFERRABLE or
SET CONSTRAINTS would only move the same per-row checks to commit time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FK = "fk_trust_scores_response_id_responses"


def upgrade() -> None:
    # SQLite cannot drop a constraint: batch mode copies the table without it.
    with op.batch_alter_table("trust_scores", recreate="auto") as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("trust_scores", recreate="auto") as batch_op:
        batch_op.create_foreign_key(FK, "responses", ["response_id"], ["id"], ondelete="CASCADE")
