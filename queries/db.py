"""Database engine and initialisation: one URL picks SQLite (default) or PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from queries import settings
from queries.errors import DatabaseUnavailable
from queries.schema.data import regions, uploads

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 60_000  # how long a SQLite statement waits for another writer
__all__ = [
    "Engine",
    "checkpoint_after",
    "checkpoints_finished",
    "data_version",
    "engine_for",
    "init_db",
    "is_busy",
    "is_sqlite",
    "make_engine",
    "sqlite_pragma",
    "upgrade",
    "without_waiting",
]


def make_engine(url: str | None = None) -> Engine:
    """Create an engine for ``url`` (default: the configured one), tuned per dialect.

    SQLite gets WAL mode, foreign keys and a busy timeout so that the app can read
    while an upload writes; PostgreSQL connections are pre-pinged so a restarted
    server is reconnected to instead of failing every page.
    """
    url = url or settings.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            _create_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that
        # BEGIN IMMEDIATE can reserve the writer lock at the start of a load.
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_recycle=1800)
    event.listen(engine, "handle_error", _translate_failure)
    return engine


def is_busy(exc: BaseException) -> bool:
    """A writer holds the database (SQLite's lock): worth trying again in a moment."""
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError) and ("locked" in text or "busy" in text)


def _translate_failure(context: ExceptionContext) -> None:
    """Failures of the database itself become DatabaseUnavailable; a busy writer stays an
    OperationalError (the ingest and rollback code waits or says "try again"), and errors of
    the statement (constraints, programming) stay SQLAlchemy's."""
    exc = context.sqlalchemy_exception
    if context.is_pre_ping or is_busy(exc):
        return
    if context.is_disconnect or isinstance(exc, OperationalError | InterfaceError):
        raise DatabaseUnavailable(f"database unavailable: {context.original_exception}") from exc


def _create_private(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (0600, whatever the umask): it holds
    password hashes and the audit log. SQLite gives its -wal/-shm files the same mode. An
    existing file is left as it is (deploy.md says how to fix one)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # autocommit at the driver; SQLAlchemy issues BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


@contextlib.contextmanager
def without_waiting(conn: Connection) -> Iterator[None]:
    """On SQLite, statements in this block fail at once (``is_busy``) instead of queueing for
    up to a minute behind a writer: for best-effort writes, such as an activity stamp, that
    must never hold up a page while an upload or a cache fill holds the writer lock."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


@contextlib.contextmanager
def sqlite_pragma(conn: Connection, name: str, value: int) -> Iterator[None]:
    """``PRAGMA name = value`` on ``conn``'s SQLite connection for the block (set outside a
    transaction: some pragmas are read only there), put back as it was afterwards; a
    connection it cannot be put back on is dropped (the pool would hand it on as it is)."""
    raw = conn.connection.driver_connection
    before = raw.execute(f"PRAGMA {name}").fetchone()[0]
    raw.execute(f"PRAGMA {name}={int(value)}")
    try:
        yield
    finally:
        try:
            raw.execute(f"PRAGMA {name}={int(before)}")
        except Exception:
            conn.invalidate()
            raise


_checkpoints: list[threading.Thread] = []  # started by checkpoint_after, not yet joined
_log = logging.getLogger(__name__)


@contextlib.contextmanager
def checkpoint_after(conn: Connection) -> Iterator[None]:
    """Around a large write transaction on SQLite (``conn`` not yet begun): its commit leaves
    the write-ahead log as it is instead of copying it into the database there and then
    (SQLite's automatic checkpoint: ~0.8 s of a 1M-row upload's commit, 250 MB); a thread of
    its own does that once the block ends, so the upload's report is not held up by it. The
    commit is as durable and as atomic either way (``synchronous=NORMAL``: the checkpoint is
    what syncs), and readers are not blocked by a checkpoint. The pragma is put back
    afterwards (pooled connections keep it)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    try:
        with sqlite_pragma(conn, "wal_autocheckpoint", 0):
            yield
    finally:
        _checkpoints[:] = [t for t in _checkpoints if t.is_alive()]
        # not a daemon: a command's process waits for it before it exits
        thread = threading.Thread(target=_checkpoint, args=(conn.engine,), name="checkpoint")
        _checkpoints.append(thread)
        thread.start()


def _checkpoint(engine: Engine) -> None:
    """Copy the write-ahead log into the database without waiting for readers or writers;
    whatever it cannot copy now the next automatic checkpoint will."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
    except Exception as exc:  # a closed engine or a busy file: never the upload's failure
        _log.warning("background checkpoint did not run: %s", exc)


def checkpoints_finished(timeout: float | None = None) -> bool:
    """Wait for the checkpoints ``checkpoint_after`` started (a test, a command about to
    dispose its engine); whether all have finished."""
    for thread in list(_checkpoints):
        thread.join(timeout)
    return not any(t.is_alive() for t in _checkpoints)


def _sqlite_begin(conn) -> None:
    # ``conn.execution_options(immediate=True)`` takes the writer lock up front, so two
    # concurrent loads queue instead of failing half-way with "database is locked".
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@cache
def engine_for(url: str) -> Engine:
    """One shared engine per URL for the life of the process."""
    return make_engine(url)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _revision(connection) -> str | None:
    """The migration the database is at (None: not under migrations yet)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        # SQLite alters a table by copying it; its foreign keys are switched off for that (they
        # cannot be inside a transaction) and checked once before the commit, as SQLite's own
        # ALTER TABLE procedure does.
        raw = connection.connection.driver_connection if is_sqlite(engine) else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                before = _revision(connection)
                command.upgrade(config, "head")
                # only after a migration ran: the check reads every row of every table with a
                # foreign key (2 s at 10M responses with the file cached, minutes without), and
                # every app process and command upgrades on start
                if (
                    raw is not None
                    and _revision(connection) != before
                    and connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                ):
                    raise DatabaseUnavailable("The schema upgrade would break foreign keys.")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema and load the reference table of regions."""
    upgrade(engine)
    from queries.reference.regions import reference_regions  # late: keeps this module light

    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(regions)).scalar_one() == 0:
            conn.execute(regions.insert(), reference_regions().to_dicts())


def data_version(engine: Engine) -> str:
    """A token that changes whenever stored data changes (an upload or a rollback).

    Caches in the UI are keyed on it, so a finished upload refreshes every page.
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(func.max(uploads.c.id), func.count(uploads.c.rolled_back_at))
        ).one()
    return f"{row[0] or 0}.{row[1] or 0}"
