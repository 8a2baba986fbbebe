"""The summary store stays equal to a recomputation from the raw rows: after any sequence of
uploads (new waves, respondents added to stored waves, new institutions) and rollbacks
(stateful test), after a SIGKILL during an upload, and through the command line's check and
rebuild. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import delete, select, update

from queries.cli import main
from queries.ingest.pipeline import ingest_bytes
from queries.ingest.uploads import rollback
from queries.schema.data import responses, row_history, survey_waves, trust_scores, uploads
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from queries.summaries.rebuild import check
from tests.test_summaries import INSTITUTIONS, survey_file

ROOT = Path(__file__).resolve().parents[1]
WAVES = (("public_trust_council", "2024-Q2"), ("public_trust_council", "2024-Q4"),
         ("kurultai", "2024-06"))  # fmt: skip
SUMMARY_TABLES = (summary_strata, summary_cells, summary_variables)


def summaries(engine) -> dict[str, pl.DataFrame]:
    """Every summary row, sorted, per table."""
    out = {}
    with engine.connect() as conn:
        for table in SUMMARY_TABLES:
            rows = conn.execute(select(table)).all()
            frame = pl.DataFrame(rows, schema=[c.name for c in table.columns], orient="row")
            out[table.name] = frame.sort(pl.all(), nulls_last=True)
    return out


def empty_database(engine) -> None:
    with engine.begin() as conn:
        # (the audit log is append-only: it keeps its rows)
        for table in (trust_scores, responses, survey_waves, *SUMMARY_TABLES, row_history,
                      uploads):  # fmt: skip
            conn.execute(delete(table))


@pytest.mark.slow
def test_after_random_uploads_and_rollbacks_summaries_equal_a_rebuild(engine):
    ids = itertools.count(1)

    class Uploads(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            empty_database(engine)
            self.loaded: list[int] = []

        @rule(
            wave=st.sampled_from(WAVES),
            n=st.integers(1, 60),
            seed=st.integers(0, 10_000),
            extra=st.booleans(),
        )
        def upload(self, wave, n, seed, extra) -> None:
            institutions = (*INSTITUTIONS, "akimat") if extra else INSTITUTIONS[:2]
            start = next(ids) * 100  # respondent ids never repeat, whatever hypothesis replays
            file = survey_file(seed, source=wave[0], wave=wave[1], n=n, start=start,
                               institutions=institutions)  # fmt: skip
            report = ingest_bytes(engine, "survey", file, f"{start}.csv")
            assert report.status == "loaded", report.errors.to_dicts()[:3]
            self.loaded.append(report.upload_id)

        @precondition(lambda self: self.loaded)
        @rule(which=st.integers(0, 100))
        def roll_back(self, which) -> None:
            upload_id = self.loaded.pop(which % len(self.loaded))
            rollback(engine, upload_id, by="test")

        @invariant()
        def summaries_equal_a_recomputation(self) -> None:
            with engine.connect() as conn:
                assert check(conn) == []

    Uploads.TestCase.settings = settings(
        max_examples=8,
        stateful_step_count=6,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    Uploads.TestCase().runTest()


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [0.3, 0.97])
def test_a_killed_upload_leaves_rows_and_summaries_as_before(engine, db_url, tmp_path, kill_at):
    """0.3: while the responses are written; 0.97: after the summaries were written, before
    the commit. Either way rows and summaries are both the old ones, then both the new ones."""
    base = survey_file(1, source=WAVES[0][0], wave=WAVES[0][1], n=200)
    assert ingest_bytes(engine, "survey", base, "base.csv").status == "loaded"
    before = summaries(engine)
    big = tmp_path / "big.csv"  # a stored wave grown and a new wave: both kinds of refresh
    big.write_bytes(survey_file(2, source=WAVES[0][0], wave=WAVES[0][1], n=20_000, start=1_000))
    env = {**os.environ, "SENIM_FAULT_KILL_AT": str(kill_at)}
    result = subprocess.run(
        [sys.executable, "-m", "queries", "ingest", "--kind", "survey", "--db", db_url, str(big)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == -signal.SIGKILL, result.stderr
    after = summaries(engine)
    assert all(after[name].equals(before[name]) for name in before)
    with engine.connect() as conn:
        assert check(conn) == []
    report = ingest_bytes(engine, "survey", big.read_bytes(), "big.csv")
    assert report.status == "loaded"
    grown = summaries(engine)["summary_strata"].get_column("n_h").sum()
    assert grown == 200 + 20_000
    with engine.connect() as conn:
        assert check(conn) == []


def test_check_finds_a_difference_and_rebuild_repairs_it(engine, db_url, capsys):
    for i, (source, wave) in enumerate(WAVES):
        file = survey_file(i, source=source, wave=wave, n=120, start=1000 * i + 1)
        assert ingest_bytes(engine, "survey", file, f"{i}.csv").status == "loaded"
    assert main(["summaries", "check", "--db", db_url]) == 0
    with engine.begin() as conn:  # a stale sum, and a wave whose rows are gone
        conn.execute(update(summary_cells).where(summary_cells.c.variable == "state_listens")
                     .values(sw=summary_cells.c.sw + 1.0))  # fmt: skip
        conn.execute(summary_strata.insert().values(source="kurultai", wave="2019-03",
                     region="KZ-75", period_start=dt.date(2019, 3, 1),
                     n_h=5))  # fmt: skip
    capsys.readouterr()
    assert main(["summaries", "check", "--db", db_url]) == 1
    out = capsys.readouterr().out
    assert "state_listens" in out and "2019-03" in out
    assert main(["summaries", "rebuild", "--db", db_url]) == 0
    assert main(["summaries", "check", "--db", db_url]) == 0
    with engine.connect() as conn:
        assert check(conn) == []
