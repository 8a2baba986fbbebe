"""Faults: the ingest process killed mid-load leaves the database exactly as before; two
uploads of overlapping data at once never store a respondent twice. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from queries.ingest import ingest_bytes
from queries.schema import responses, survey_waves, trust_scores, uploads
from queries.uploads import list_uploads
from tests.uploads_helpers import survey_csv, survey_rows

ROOT = Path(__file__).resolve().parents[1]


def snapshot(engine) -> dict[str, int]:
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (responses, trust_scores, survey_waves)
        }
        counts["max_response_id"] = conn.execute(select(func.max(responses.c.id))).scalar()
    return counts


@pytest.mark.parametrize("kill_at", [0.05, 0.3, 0.7, 0.97])
def test_killed_ingest_leaves_the_database_as_before(engine, db_url, tmp_path, kill_at):
    ingest_bytes(engine, "survey", survey_csv(survey_rows(50, wave="2024-Q4")), "base.csv")
    before = snapshot(engine)
    big = tmp_path / "big.csv"
    big.write_bytes(survey_csv(survey_rows(60_000, wave="2025-Q1")))
    env = {**os.environ, "SENIM_FAULT_KILL_AT": str(kill_at)}
    result = subprocess.run(
        [sys.executable, "-m", "queries", "ingest", "--kind", "survey", "--db", db_url, str(big)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert snapshot(engine) == before
    log = list_uploads(engine)  # also turns the dead process's 'loading' row into 'interrupted'
    statuses = log.get_column("status").to_list()
    if kill_at > 0.1:  # the upload had been recorded before the kill
        assert statuses[0] == "interrupted"
        assert "nothing was stored" in log.item(0, "message")
    assert "loading" not in statuses
    # and the same file loads cleanly afterwards
    report = ingest_bytes(engine, "survey", big.read_bytes(), "big.csv")
    assert report.status == "loaded" and snapshot(engine)["responses"] == 50 + 60_000


def test_two_overlapping_uploads_at_once_store_each_respondent_once(engine):
    first = survey_csv(survey_rows(3_000, start=1))
    second = survey_csv(survey_rows(3_000, start=2_001))  # 1,000 respondents in both
    barrier = threading.Barrier(2)
    reports = {}

    def load(name: str, content: bytes) -> None:
        barrier.wait()
        reports[name] = ingest_bytes(engine, "survey", content, f"{name}.csv", keep_valid=True)

    threads = [
        threading.Thread(target=load, args=(n, c))
        for n, c in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    statuses = sorted(r.status for r in reports.values())
    assert statuses == ["loaded", "partial"]
    partial = next(r for r in reports.values() if r.status == "partial")
    assert partial.rows_loaded == 2_000 and partial.rows_rejected == 1_000
    assert set(partial.errors.get_column("code")) == {"duplicate_in_database"}
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(responses)).scalar_one()
        distinct = conn.execute(
            select(func.count(func.distinct(responses.c.respondent_id)))
        ).scalar_one()
        done = conn.execute(select(func.count()).select_from(uploads)).scalar_one()
    assert stored == distinct == 5_000
    assert done == 2
