"""A large SQLite write's checkpoint after its commit, in a thread (queries.db.checkpoint_after,
issue 11 ingest at speed): the commit itself leaves the write-ahead log alone, the thread copies
it into the database file, and the connection's automatic checkpoint is put back."""

from __future__ import annotations

import os
import shutil

import pytest

from queries.db import checkpoint_after, checkpoints_finished, make_engine

BLOBS = 3_000  # x 4 KB: 12 MB, three times SQLite's automatic checkpoint (1,000 pages)


@pytest.fixture
def sqlite_engine(sqlite_db_url):
    engine = make_engine(sqlite_db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE blobs (x BLOB)")
    yield engine
    engine.dispose()


def database_file(engine) -> str:
    return engine.url.database


def whole(conn) -> bool:
    """Whether the database file holds every page (nothing left only in the log)."""
    pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
    size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
    conn.commit()  # the read ends: the next write begins its own transaction
    return os.path.getsize(database_file(conn.engine)) == pages * size


def write_blobs(conn) -> None:
    with conn.begin():
        conn.exec_driver_sql("INSERT INTO blobs VALUES (?)", [(os.urandom(4096),)] * BLOBS)


def test_the_commit_leaves_the_log_and_a_thread_copies_it(sqlite_engine):
    with sqlite_engine.connect() as conn:
        write_blobs(conn)  # SQLite's own: the commit copies a long log into the file
        assert whole(conn)
        with checkpoint_after(conn):
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0
            conn.commit()
            write_blobs(conn)
            assert not whole(conn)  # committed, still only in the log
        assert checkpoints_finished(timeout=60)
        assert whole(conn)
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
        assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar_one() == 2 * BLOBS


def test_a_failed_transaction_puts_the_pragma_back_all_the_same(sqlite_engine):
    with sqlite_engine.connect() as conn:
        with pytest.raises(ZeroDivisionError), checkpoint_after(conn), conn.begin():
            conn.exec_driver_sql("INSERT INTO blobs VALUES (x'00')")
            raise ZeroDivisionError
        assert checkpoints_finished(timeout=60)
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 1000
        assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar_one() == 0


def test_a_checkpoint_that_cannot_run_is_logged_not_raised(tmp_path, caplog):
    # the folder removed before the thread opens its connection (a disk gone, a test's folder
    # cleaned up): the thread says so in the log; the caller's block ends without an error
    folder = tmp_path / "gone"
    engine = make_engine(f"sqlite:///{folder / 'senim.db'}")
    with engine.connect() as conn:
        with checkpoint_after(conn):
            with conn.begin():
                conn.exec_driver_sql("CREATE TABLE t (x)")
            shutil.rmtree(folder)  # the open connection keeps its file; a new one cannot
        assert checkpoints_finished(timeout=60)
    engine.dispose()
    assert "background checkpoint did not run" in caplog.text
