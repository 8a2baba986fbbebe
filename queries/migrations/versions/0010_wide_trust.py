"""wide trust: the contract's institutions' scores as columns of responses

Ingest speed (issue 11): the long trust_scores table held one row per respondent x institution
(~7 million rows per million responses), most of a survey load's time on both databases. The
scores of the contract's institutions (``TRUST_INSTITUTIONS``) become nullable SMALLINT columns
``trust_<institution>`` of ``responses``, each with the 0-10 check; trust_scores keeps only the
items a file adds beyond the contract (any ``trust_<word>``), so a new institution still needs
no schema change. The stored scores move over; the downgrade moves them back.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# fixed here: the migration must not change when the contract's list does
INSTITUTIONS = ("government", "parliament", "akimat", "courts", "police", "ngos", "media")
LISTED = ", ".join(f"'{i}'" for i in INSTITUTIONS)


def upgrade() -> None:
    for i in INSTITUTIONS:
        # plain SQL: the same column-level check on both databases (SQLite adds the column
        # in place, no table copy)
        op.execute(
            f"ALTER TABLE responses ADD COLUMN trust_{i} SMALLINT CONSTRAINT "
            f"ck_responses_trust_{i}_range CHECK (trust_{i} BETWEEN 0 AND 10)"
        )
    picks = ", ".join(f"max(score) FILTER (WHERE institution = '{i}') AS {i}" for i in INSTITUTIONS)
    sets = ", ".join(f"trust_{i} = s.{i}" for i in INSTITUTIONS)
    op.execute(
        f"UPDATE responses SET {sets} FROM (SELECT response_id, {picks} FROM trust_scores "
        f"WHERE institution IN ({LISTED}) GROUP BY response_id) AS s "
        "WHERE s.response_id = responses.id"
    )
    # keep the other items' rows aside, empty the table at once (SQLite truncates a DELETE
    # without WHERE instead of removing millions of rows one by one), put them back
    op.execute(
        "CREATE TEMPORARY TABLE moved_extra_scores AS SELECT response_id, institution, score "
        f"FROM trust_scores WHERE institution NOT IN ({LISTED})"
    )
    op.execute("DELETE FROM trust_scores")
    op.execute(
        "INSERT INTO trust_scores (response_id, institution, score) "
        "SELECT response_id, institution, score FROM moved_extra_scores "
        "ORDER BY response_id, institution"
    )
    op.execute("DROP TABLE moved_extra_scores")


def downgrade() -> None:
    scores = " UNION ALL ".join(
        f"SELECT id, '{i}', trust_{i} FROM responses WHERE trust_{i} IS NOT NULL"
        for i in INSTITUTIONS
    )
    op.execute(f"INSERT INTO trust_scores (response_id, institution, score) {scores}")
    for i in INSTITUTIONS:  # its check goes with it (SQLite >= 3.35 drops it in place)
        op.execute(f"ALTER TABLE responses DROP COLUMN trust_{i}")
