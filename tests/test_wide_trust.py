"""Migration 0010 (issue 11, ingest speed): the contract's trust items move from the long
trust_scores rows to columns of responses and back, on SQLite and PostgreSQL, with every score
kept and the summaries still those of the stored rows; items beyond the contract stay long."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from queries.cli import main
from queries.db import MIGRATIONS_DIR, upgrade
from queries.ingest.pipeline import ingest_bytes
from queries.metrics.dataset import load_dataset
from queries.metrics.trust import COMPOSITE, composite_expr, split_exprs
from queries.schema.data import trust_scores
from queries.summaries.composite import composite_cells
from tests.test_store import stored_scores
from tests.test_summaries import assert_same_frame
from tests.test_summaries_composite import raw_composite_cells
from tests.uploads_helpers import SURVEY_HEADER, survey_csv, survey_rows


def long_rows(engine) -> list[tuple]:
    t = trust_scores.c
    with engine.connect() as conn:
        rows = conn.execute(select(t.response_id, t.institution, t.score)).all()
    return sorted(tuple(row) for row in rows)


def with_council(n: int, wave: str = "2025-Q3") -> bytes:
    """``survey_rows`` plus trust_council (beyond the contract: long rows), a third blank."""
    rows = [
        f"{row},{(i * 7) % 11 if i % 3 else ''}" for i, row in enumerate(survey_rows(n, wave=wave))
    ]
    return survey_csv(rows, header=f"{SURVEY_HEADER},trust_council")


def test_a_composite_with_an_item_beyond_the_contract_equals_the_polars_sums(engine):
    """The SQL composite means the row's columns and the long rows of other items together."""
    for wave in ("2025-Q2", "2025-Q3"):
        assert ingest_bytes(engine, "survey", with_council(40, wave), f"{wave}.csv").upload_id
    waves = [("public_trust_council", "2025-Q2"), ("public_trust_council", "2025-Q3")]
    keys = ["source", "wave", "region", "sex", "age_group", "settlement", "variable"]
    for institutions in (("council", "government"), ("council",), ("police", "courts")):
        raw = raw_composite_cells(engine, institutions, waves)
        for measure in split_exprs(COMPOSITE, composite_expr(["_"])):
            got = composite_cells(engine, institutions, waves, measure).sort(keys)
            want = raw.filter(variable=measure).sort(keys)
            assert_same_frame(want, got, f"{institutions} {measure}")


def test_migration_0010_moves_the_scores_to_columns_and_back(engine, db_url):
    report = ingest_bytes(engine, "survey", with_council(30), "s.csv")
    assert report.status == "loaded"
    scores = stored_scores(engine)
    assert {i for _, i, _ in scores} == {"government", "police", "council"}
    assert {i for _, i, _ in long_rows(engine)} == {"council"}
    dataset = load_dataset(engine).responses
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    assert long_rows(engine) == scores  # every score a long row again
    upgrade(engine)
    assert stored_scores(engine) == scores
    assert {i for _, i, _ in long_rows(engine)} == {"council"}
    assert load_dataset(engine).responses.equals(dataset)
    assert main(["summaries", "check", "--db", db_url]) == 0
