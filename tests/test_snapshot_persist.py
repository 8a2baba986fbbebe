"""The snapshot's frames persisted per data version (issue 11, queries/summaries/persisted.py),
on SQLite and PostgreSQL: a snapshot read from the persisted row equals one built from the
store; an upload or a rollback (a new data version) never serves the previous version's row;
a damaged, foreign or missing row falls back to building (and is written anew); `summaries
rebuild` replaces the row. And dashboard/serve.py's warm-up fills the app's snapshot cache,
and stops quietly when the database is empty or down."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, event, func, select, update

from queries.cli import main as cli
from queries.db import data_version
from queries.ingest.uploads import rollback
from queries.schema.summaries import summary_cells, summary_snapshots
from queries.summaries.memory import Snapshot, load_snapshot
from queries.summaries.persisted import (
    FRAMES,
    SnapshotFrames,
    decode,
    encode,
    forget_frames,
    store_frames,
)
from tests.test_summaries import SOURCES, load, loaded, survey_file  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]


def built(engine) -> Snapshot:
    """A snapshot summed from the store now (the persisted row forgotten first)."""
    with engine.begin() as conn:
        forget_frames(conn)
    return load_snapshot(engine)


def assert_same(a: Snapshot, b: Snapshot) -> None:
    assert a.version == b.version
    assert a.institutions == b.institutions
    for name in FRAMES:
        assert getattr(a, name).equals(getattr(b, name)), name


def persisted(engine) -> list[tuple[str, bytes]]:
    t = summary_snapshots.c
    with engine.connect() as conn:
        return [(v, bytes(b)) for v, b in conn.execute(select(t.version, t.frames)).all()]


def set_blob(engine, blob: bytes) -> None:
    with engine.begin() as conn:
        conn.execute(update(summary_snapshots).values(frames=blob))


@pytest.mark.usefixtures("loaded")
def test_a_snapshot_from_the_persisted_row_equals_one_built_from_the_store(engine):
    fresh = built(engine)
    [(version, _blob)] = persisted(engine)  # written by the build, for this version
    assert version == data_version(engine) == fresh.version
    with engine.begin() as conn:  # the store emptied under the same version: only the row
        conn.execute(delete(summary_cells))  # can give the frames back now
    again = load_snapshot(engine)
    assert_same(again, fresh)
    assert again.cells.height > 0 and again.totals.height > 0 and again.strata.height > 0


def is_closed(dbapi_connection) -> bool:
    try:
        dbapi_connection.cursor().execute("SELECT 1")
    except Exception:  # each driver's own "closed" error
        return True
    return False


@pytest.mark.usefixtures("loaded")
def test_the_connection_that_carried_a_snapshot_is_closed_on_postgresql(engine):
    """libpq keeps its buffers as large as the largest message for the connection's life: the
    connections that read and wrote the snapshot's row are closed, not pooled, on PostgreSQL
    (pooled as any other on SQLite)."""
    built(engine)  # the row written
    carriers = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if "summary_snapshots" in statement and "frames" in statement.split("FROM")[0]:
            carriers.append(conn.connection.dbapi_connection)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        frames = load_snapshot(engine)  # from the row
        with engine.begin() as conn:
            forget_frames(conn)
        load_snapshot(engine)  # no row read, then built and written again
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert frames.cells.height and len(carriers) == 3  # two reads, one write
    assert [is_closed(c) for c in carriers] == [engine.dialect.name == "postgresql"] * 3


@pytest.mark.usefixtures("loaded")
def test_a_new_data_version_never_serves_the_previous_row(engine):
    before = load_snapshot(engine)
    added = survey_file(501, source=SOURCES[0], wave="2026-Q1", n=90, start=9000)
    upload = load(engine, added, "new-wave.csv")
    after = load_snapshot(engine)
    assert after.version != before.version
    assert_same(after, built(engine))
    assert "2026-Q1" in after.strata.get_column("wave").to_list()
    assert [v for v, _ in persisted(engine)] == [after.version]  # the old row replaced
    rollback(engine, upload, by="test")
    rolled = load_snapshot(engine)
    assert rolled.version not in (before.version, after.version)
    assert "2026-Q1" not in rolled.strata.get_column("wave").to_list()
    assert_same(rolled, built(engine))


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: b"",
        lambda blob: b"not a snapshot at all",
        lambda blob: blob[: len(blob) // 2],  # cut short
        lambda blob: blob[:-40] + bytes(40),  # the last frame's tail zeroed
        lambda blob: blob + b"x",  # trailing bytes
    ],
    ids=["empty", "garbage", "truncated", "zeroed-tail", "trailing"],
)
@pytest.mark.usefixtures("loaded")
def test_a_damaged_row_falls_back_to_building_and_is_written_anew(engine, damage):
    fresh = built(engine)
    [(_version, blob)] = persisted(engine)
    set_blob(engine, damage(blob))
    assert_same(load_snapshot(engine), fresh)
    [(_version, rewritten)] = persisted(engine)
    assert decode(rewritten, version=fresh.version, names=names_of(rewritten)) is not None


def names_of(blob: bytes) -> tuple[str, ...]:
    """The stored variables a persisted row's header names."""
    (length,) = struct.unpack_from("<Q", blob)
    return tuple(json.loads(blob[8 : 8 + length])["names"])


@pytest.mark.usefixtures("loaded")
def test_a_row_holding_other_variables_or_a_missing_row_is_not_used(engine):
    fresh = built(engine)
    names = tuple(fresh.cells.get_column("variable").unique().sort().to_list())
    partial = SnapshotFrames(fresh.version, names[:1], fresh.institutions, fresh.strata,
                             fresh.cells.head(3), fresh.totals, fresh.population)  # fmt: skip
    assert store_frames(engine, partial)  # as an older release would have written it
    assert_same(load_snapshot(engine), fresh)
    with engine.begin() as conn:
        conn.execute(delete(summary_snapshots))
    assert_same(load_snapshot(engine), fresh)
    assert len(persisted(engine)) == 1


@pytest.mark.usefixtures("loaded")
def test_summaries_rebuild_replaces_a_stale_row(engine, db_url):
    fresh = built(engine)
    names = names_of(persisted(engine)[0][1])
    stale = SnapshotFrames(fresh.version, names, fresh.institutions, fresh.strata,
                           fresh.cells.head(5), fresh.totals, fresh.population)  # fmt: skip
    set_blob(engine, encode(stale))  # same version and names: it would be served
    assert load_snapshot(engine).cells.height == 5
    assert cli(["summaries", "rebuild", "--db", db_url]) == 0
    [(version, blob)] = persisted(engine)  # written by the rebuild itself
    assert version == fresh.version and decode(blob, version=version, names=names) is not None
    served = load_snapshot(engine)  # the row the rebuild wrote, equal to the store summed now
    assert_same(served, built(engine))
    assert served.cells.height == fresh.cells.height
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(summary_snapshots)).scalar() == 1


WARM = """
import logging, sys
logging.basicConfig(level=logging.WARNING)
import dashboard.serve as serve
serve.warm_up()
print("returned")
if sys.argv[1] == "check":
    from dashboard import data
    from queries import settings
    from queries.db import data_version
    url = settings.database_url()
    snapshot = data._snapshot(url, data_version(data.engine()))
    from dashboard import heap
    print("settled", "warm-up" in heap.settled_pages())
    print("laid-out", len(snapshot._raked))
"""


def warm(url: str, then: str = "check") -> subprocess.CompletedProcess:
    """dashboard/serve.py's warm-up in a process of its own (as in a server) on ``url``."""
    env = {**os.environ, "SENIM_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-c", WARM, then], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.usefixtures("loaded")
def test_the_servers_warm_up_fills_the_apps_snapshot_cache(engine, db_url):
    done = warm(db_url)
    assert done.returncode == 0, done.stderr
    assert "warm-up stopped" not in done.stderr
    laid_out = int(done.stdout.split("laid-out")[1])
    assert laid_out > 1  # the raking and the Overview's arrays, in the app's own snapshot
    assert "settled True" in done.stdout  # frozen: the first run's garbage pass skips it
    assert [v for v, _ in persisted(engine)] == [data_version(engine)]


def test_the_warm_up_is_harmless_on_an_empty_or_unreachable_database(sqlite_db_url):
    empty = warm(sqlite_db_url)
    assert empty.returncode == 0, empty.stderr
    assert "warm-up stopped" not in empty.stderr
    assert "laid-out 0" in empty.stdout
    down = warm("postgresql+psycopg://nobody@127.0.0.1:9/none", then="stop")
    assert down.returncode == 0, down.stderr  # it returns; the first visit reports the error
    assert "returned" in down.stdout and "warm-up stopped" in down.stderr
