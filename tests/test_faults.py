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
from sqlalchemy import event, func, select

from queries.db import make_engine
from queries.ingest.pipeline import ingest_bytes
from queries.ingest.uploads import list_uploads, lock
from queries.schema.data import ngo_activity, responses, survey_waves, trust_scores, uploads
from tests.uploads_helpers import NGO_HEADER, csv, survey_csv, survey_rows

ROOT = Path(__file__).resolve().parents[1]


def snapshot(engine) -> dict[str, int]:
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (responses, trust_scores, survey_waves)
        }
        counts["max_response_id"] = conn.execute(select(func.max(responses.c.id))).scalar()
        # the contract's trust items are columns of responses (migration 0010)
        counts["scores"] = conn.execute(select(func.count(responses.c.trust_police))).scalar()
    return counts


@pytest.mark.slow
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


def test_the_same_file_uploaded_twice_at_once_loads_once(engine):
    content = survey_csv(survey_rows(2_000))
    barrier = threading.Barrier(2)
    reports = []

    def load() -> None:
        barrier.wait()
        reports.append(ingest_bytes(engine, "survey", content, "same.csv"))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sorted(r.status for r in reports) == ["loaded", "unchanged"]
    assert snapshot(engine)["responses"] == 2_000


def test_a_load_that_fails_inside_a_live_process_is_logged_as_interrupted(engine):
    """A web-app thread whose load raises: the process lives on, so the pid check alone would
    leave the upload 'loading' for ever."""
    before = snapshot(engine)

    def explode(fraction: float, stage: str) -> None:
        if stage == "trust scores":  # the responses are written, not yet committed
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        ingest_bytes(engine, "survey", survey_csv(survey_rows(500)), "x.csv", progress=explode)
    assert snapshot(engine) == before
    log = list_uploads(engine).row(0, named=True)
    assert log["status"] == "interrupted" and "disk full" in log["message"]
    retry = ingest_bytes(engine, "survey", survey_csv(survey_rows(500)), "x.csv")
    assert retry.status == "loaded" and snapshot(engine)["responses"] == 500


def test_a_load_that_cannot_get_the_writer_lock_is_told_to_retry(db_url):
    """SQLite has one writer: past the busy timeout the upload is refused with a clear message
    and nothing stored. PostgreSQL locks per kind: an NGO file loads while survey loads wait."""
    engine = make_engine(db_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=200"))
    holder = make_engine(db_url)
    try:
        with holder.connect().execution_options(immediate=True) as conn, conn.begin():
            lock(conn, "survey")  # PostgreSQL: the survey lock; SQLite: the database
            report = ingest_bytes(
                engine, "ngo", csv(NGO_HEADER, ["KZ-75,2024,10,5,1,100"]), "n.csv"
            )
        if engine.dialect.name == "sqlite":
            assert report.status == "rejected" and "Try again" in report.message
            assert snapshot(engine)["responses"] == 0
            with engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(ngo_activity)).scalar() == 0
            report = ingest_bytes(
                engine, "ngo", csv(NGO_HEADER, ["KZ-75,2024,10,5,1,100"]), "n.csv"
            )
        assert report.status == "loaded" and report.rows_loaded == 1
    finally:
        engine.dispose()
        holder.dispose()
