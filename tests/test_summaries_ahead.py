"""A large SQLite upload's summaries made by a helper process while the rows are written
(queries/summaries/ahead.py, issue 11 ingest at speed): what the helper's scratch file gives the
upload's transaction is what a rebuild makes from the stored rows; a helper that fails leaves
the summaries to the upload itself; the scratch file is detached and removed afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from queries.db import make_engine
from queries.ingest.pipeline import check_bytes, ingest_bytes
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from queries.summaries import ahead
from queries.summaries.rebuild import check
from queries.summaries.store import new_waves
from tests.uploads_helpers import survey_csv

HEADER = (
    "respondent_id,source,wave,region,sex,age,weight,trust_government,trust_police,trust_courts"
)
WAVES = ("2025-Q1", "2025-Q2", "2025-Q3")


def survey(n: int, offset: int = 0) -> bytes:
    """``n`` rows spread over three waves, two regions, three sexes (one blank), many ages,
    uneven weights and gaps in the scores: many cells, some without a value."""
    rows = []
    for i in range(offset, offset + n):
        sex = ("female", "male", "")[i % 3]
        rows.append(
            f"A{i:06d},public_trust_council,{WAVES[i % 3]},{('Алматы', 'Астана')[i % 2]},{sex},"
            f"{18 + (i * 7) % 70},{0.3 + (i * 37 % 101) / 13},{i % 11},"
            f"{'' if i % 4 else i % 7},{(i * 5) % 11 if i % 5 else ''}"
        )
    return survey_csv(rows, HEADER)


def counts(engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (summary_strata, summary_cells, summary_variables)
        )


def scratch_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("senim-sums-*"))


@pytest.fixture
def sqlite_engine(sqlite_db_url):
    engine = make_engine(sqlite_db_url)
    yield engine
    engine.dispose()


@contextmanager
def helping(engine, clean, waves=None) -> Iterator[tuple]:
    """An upload's connection in its transaction, the scratch file detached after it, and the
    summing helper of ``clean``'s ``waves`` (None: its new waves) as the upload opens them."""
    with (
        engine.connect() as conn,
        ahead.scratch_detached(conn),
        conn.begin(),
        ahead.summing_ahead(conn, clean, new_waves(conn, clean) if waves is None else waves) as a,
    ):
        yield conn, a


def copy_all(a: ahead.SummingAhead, conn, *, taken=()) -> tuple:
    """Every scratch file copied in turn, as the upload does once it has nothing to take back."""
    return tuple(w for k in range(len(a.parts)) for w in a.copy_part(conn, k, taken=taken))


def loaded_then_checked(engine) -> tuple[tuple[int, ...], object]:
    """A 600-row file loaded the usual way (below the helper's threshold): the store's row
    counts, and the same file's validated rows (what an upload hands the helper)."""
    content = survey(600)
    assert ingest_bytes(engine, "survey", content, "a.csv").status == "loaded"
    return counts(engine), check_bytes(engine, "survey", content, "a.csv").validation.clean


def test_the_helpers_summaries_are_a_rebuilds_and_replace_the_waves(sqlite_engine, monkeypatch):
    # loaded the usual way first (below the helper's threshold), then the helper sums the same
    # validated rows and the transaction takes its rows in place of the stored ones
    stored, clean = loaded_then_checked(sqlite_engine)
    monkeypatch.setattr(ahead, "MIN_ROWS", 1)
    before = scratch_folders()
    waves = [("public_trust_council", w) for w in WAVES]
    with helping(sqlite_engine, clean, waves) as (conn, a):
        assert a is not None
        assert copy_all(a, conn) == tuple(waves)
        assert check(conn) == []  # every cell and stratum, recomputed from the stored rows
    assert counts(sqlite_engine) == stored
    assert scratch_folders() == before
    with sqlite_engine.connect() as conn:
        assert check(conn) == []
        attached = [row[1] for row in conn.exec_driver_sql("PRAGMA database_list").all()]
        assert not [name for name in attached if name.startswith(ahead.SCHEMA)]


def test_uploads_through_the_helper_store_what_a_rebuild_makes(sqlite_engine, monkeypatch):
    # the first upload's waves are new (the helper, started before the file is read, sums
    # them); the second grows them (summed by the upload itself from the earlier rows and its
    # own: its helper is stopped unused)
    monkeypatch.setattr(ahead, "MIN_ROWS", 1)
    monkeypatch.setattr(ahead, "MIN_BYTES", 1)
    before = scratch_folders()
    first = ingest_bytes(sqlite_engine, "survey", survey(450), "a.csv")
    with sqlite_engine.connect() as conn:
        later = check_bytes(sqlite_engine, "survey", survey(90, 1000), "b.csv").validation.clean
        assert new_waves(conn, later) == []
    second = ingest_bytes(sqlite_engine, "survey", survey(90, 1000), "b.csv")
    assert (first.status, second.status) == ("loaded", "loaded")
    with sqlite_engine.connect() as conn:
        assert check(conn) == []
        strata = conn.execute(select(func.sum(summary_strata.c.n_h))).scalar_one()
        assert strata == 450 + 90
        attached = [row[1] for row in conn.exec_driver_sql("PRAGMA database_list").all()]
        assert not [name for name in attached if name.startswith(ahead.SCHEMA)]
    assert scratch_folders() == before


def test_a_failed_helper_leaves_the_summaries_to_the_upload(sqlite_engine, monkeypatch):
    monkeypatch.setattr(ahead, "MIN_ROWS", 1)
    monkeypatch.setattr(ahead, "PYTHON", "/bin/false")  # exits at once with status 1
    content = survey(300)
    clean = check_bytes(sqlite_engine, "survey", content, "a.csv").validation.clean
    with helping(sqlite_engine, clean) as (conn, a):
        assert a is not None and copy_all(a, conn) == ()
    assert ingest_bytes(sqlite_engine, "survey", content, "a.csv").status == "loaded"
    with sqlite_engine.connect() as conn:
        assert check(conn) == []
        strata = conn.execute(select(func.sum(summary_strata.c.n_h))).scalar_one()
        assert strata == 300


def test_a_helper_started_before_the_file_is_read_is_the_one_used(sqlite_engine, monkeypatch):
    monkeypatch.setattr(ahead, "MIN_ROWS", 1)
    content = survey(300)
    clean = check_bytes(sqlite_engine, "survey", content, "a.csv").validation.clean
    assert ingest_bytes(sqlite_engine, "survey", content, "a.csv").status == "loaded"
    waves = [("public_trust_council", w) for w in WAVES]
    with ahead.started_early("sqlite", "survey", ahead.MIN_BYTES):
        early = ahead._waiting.get()
        assert early is not None and early.poll() is None
        with helping(sqlite_engine, clean, waves) as (conn, a):
            assert a is not None and a.process is early
            assert copy_all(a, conn) == tuple(waves)
            assert check(conn) == []
    assert early.poll() is not None  # it said it was done; stopped with the block
    with ahead.started_early("sqlite", "survey", ahead.MIN_BYTES):  # not used: stopped
        unused = ahead._waiting.get()
    assert unused is not None and unused.poll() is not None
    with ahead.started_early("sqlite", "survey", ahead.MIN_BYTES - 1):  # a small file: none
        assert ahead._waiting.get() is None


def test_waves_taken_back_and_the_helpers_together_are_a_rebuild(sqlite_engine, monkeypatch):
    # the upload sums the last waves the helper has not begun (however far it got: none, some
    # or all) and copies the others: every wave once, all equal to a rebuild
    from queries.summaries.store import write_sums

    monkeypatch.setattr(ahead, "MIN_ROWS", 1)
    stored, clean = loaded_then_checked(sqlite_engine)
    waves = [("public_trust_council", w) for w in WAVES]
    with helping(sqlite_engine, clean, waves) as (conn, a):
        taken = list(a.taking_back())
        assert taken == sorted(taken, reverse=True) and set(taken) <= set(waves)
        for source, wave in taken:
            write_sums(conn, [(source, wave)], clean.filter(source=source, wave=wave))
        copied = copy_all(a, conn, taken=taken)
        assert sorted([*taken, *copied]) == waves
        assert check(conn) == []
    assert counts(sqlite_engine) == stored


def test_the_folder_of_a_killed_upload_is_swept_by_the_next(tmp_path):
    # an upload killed before its ``finally`` leaves its rows (~100 MB a million) behind
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"{ahead.PREFIX}{gone.pid}-x1"
    stale.mkdir()
    (stale / ahead.ROWS_FILE).write_bytes(b"rows")
    running = tmp_path / f"{ahead.PREFIX}{os.getpid()}-x2"  # an upload still at work
    running.mkdir()
    unknown = tmp_path / f"{ahead.PREFIX}x3"  # not named by an upload: left alone
    unknown.mkdir()
    assert ahead.sweep_stale(tmp_path) == [stale]
    assert not stale.exists()
    assert running.exists() and unknown.exists()


def test_a_helper_that_never_says_it_is_done_is_given_up(sqlite_engine, monkeypatch, tmp_path):
    # a helper that takes its folder and then hangs: past WAIT_SECONDS the upload stops it and
    # sums the waves itself (copy_part copies nothing)
    hanging = tmp_path / "hang.py"
    hanging.write_text("import sys, time\nsys.stdin.readline()\ntime.sleep(600)\n")
    monkeypatch.setattr(ahead, "MIN_ROWS", 1)
    monkeypatch.setattr(ahead, "WAIT_SECONDS", 0.5)
    monkeypatch.setattr(ahead, "_start", lambda: subprocess.Popen(
        [sys.executable, str(hanging)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True))  # fmt: skip
    clean = check_bytes(sqlite_engine, "survey", survey(300), "a.csv").validation.clean
    with helping(sqlite_engine, clean) as (conn, a):
        assert a is not None and copy_all(a, conn) == ()
        assert a.process.poll() is not None  # killed, not left running


@pytest.mark.parametrize("count", [0, 1, 2, 3, 26])
def test_the_two_scratch_files_hold_every_wave_once_in_order(count):
    (a, cut), (cut_again, end) = ahead.part_bounds(count)
    assert (a, cut_again, end) == (0, cut, count)
    assert cut >= min(count, 1)  # the first file has a wave whenever there is one


def test_each_scratch_file_is_copied_once_the_helper_says_it_is_whole(sqlite_engine, monkeypatch):
    # three waves: the first file holds two, the second one; each is copied on its own, and
    # together they are what a rebuild makes
    stored, clean = loaded_then_checked(sqlite_engine)
    monkeypatch.setattr(ahead, "MIN_ROWS", 1)
    waves = [("public_trust_council", w) for w in WAVES]
    with helping(sqlite_engine, clean, waves) as (conn, a):
        assert a.parts == [(0, 2), (2, 3)]
        assert a.copy_part(conn, 0) == tuple(waves[:2])
        assert a.ready(0)
        assert a.copy_part(conn, 1) == tuple(waves[2:])
        assert a.ready(1)
        assert check(conn) == []
        attached = [row[1] for row in conn.exec_driver_sql("PRAGMA database_list").all()]
        assert {f"{ahead.SCHEMA}_0", f"{ahead.SCHEMA}_1"} <= set(attached)
    assert counts(sqlite_engine) == stored
    with sqlite_engine.connect() as conn:  # both detached after the transaction
        attached = [row[1] for row in conn.exec_driver_sql("PRAGMA database_list").all()]
        assert not [name for name in attached if name.startswith(ahead.SCHEMA)]
