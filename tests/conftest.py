"""Shared fixtures: every database test runs against a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from queries.db import init_db, make_engine
from tests.pgserver import TempPostgres

FIXTURES = Path(__file__).parent / "fixtures"
DEMO_RESPONSES = 12_000  # enough for every region and wave to pass the n >= 30 suppression


POSTGRES_FIXTURES = frozenset({"postgres_server", "postgres_admin_url", "postgres_template"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sqlite-only",
        action="store_true",
        help="deselect every test that needs PostgreSQL (the quick loop: make test-fast)",
    )


def needs_postgres(item: pytest.Item) -> bool:
    """Whether a collected test runs on PostgreSQL: the ``db_url`` case, or a PostgreSQL
    fixture among the ones it requests (directly or through other fixtures)."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("db_url") == "postgresql":
        return True
    return bool(POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--sqlite-only"):
        return
    dropped = [item for item in items if needs_postgres(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not needs_postgres(item)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TempPostgres | None]:
    if os.environ.get("SENIM_TEST_POSTGRES_URL"):
        yield None
        return
    server = TempPostgres()
    server.url = server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_admin_url(postgres_server) -> str:
    return os.environ.get("SENIM_TEST_POSTGRES_URL") or postgres_server.url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> str:
    """A database with the schema and regions already in, copied for each test."""
    name = f"senim_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    admin.dispose()
    return name


def new_postgres_url(admin_url: str, template: str) -> str:
    name = f"senim_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def small_demo_with_users(path: Path, users: dict[str, tuple[str, str]]) -> str:
    """A SQLite file at ``path`` with a small demo (1,500 responses) and one account per role
    (``users``: role -> (name, password)); its URL. For tests that serve the app themselves."""
    from queries.access.accounts import create_user
    from queries.demo import load_demo

    url = sqlite_url(path)
    engine = make_engine(url)
    init_db(engine)
    load_demo(engine, responses=1_500)
    for role, (name, password) in users.items():
        create_user(engine, name, password, role=role)
    engine.dispose()
    return url


def copy_database(url: str, path: Path) -> str:
    """A copy of a SQLite database at ``path``, through SQLite's backup API (complete even if
    a write-ahead log is pending); returns the copy's URL. Tests that write get their own."""
    source = sqlite3.connect(make_url(url).database)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return sqlite_url(path)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """An initialised, empty SQLite database (schema and regions), copied for each test: the
    SQLite counterpart of ``postgres_template``."""
    url = sqlite_url(tmp_path_factory.mktemp("template") / "senim.db")
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A fresh, initialised database URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return copy_database(request.getfixturevalue("sqlite_template"), tmp_path / "senim.db")
    return new_postgres_url(
        request.getfixturevalue("postgres_admin_url"),
        request.getfixturevalue("postgres_template"),
    )


@pytest.fixture
def sqlite_db_url(sqlite_template: str, tmp_path: Path) -> str:
    """A fresh, initialised SQLite database of this test's own (for SQLite-only tests)."""
    return copy_database(sqlite_template, tmp_path / "senim.db")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def demo_database(tmp_path_factory, responses: int, name: str = "demo") -> str:
    """A SQLite file with the demo data of ``responses`` survey responses; returns its URL.
    Builds a new one: prefer the ``demo_template`` / ``demo_url`` fixtures, built once."""
    from queries.demo import load_demo

    folder = tmp_path_factory.mktemp(name)
    url = sqlite_url(folder / "senim.db")
    engine = make_engine(url)
    init_db(engine)
    load_demo(engine, responses=responses, folder=folder / "files")
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> str:
    """The demo database, built once per test run (the first xdist worker to need it builds it,
    the others wait for it): never write to it; a test reads a copy (``demo_url``), so tests
    stay independent of each other's uploads."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return demo_database(tmp_path_factory, DEMO_RESPONSES, "demo-template")
    shared = tmp_path_factory.getbasetemp().parent  # one folder per run, shared by its workers
    done = shared / "demo-template.url"
    with open(shared / "demo-template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            done.write_text(demo_database(tmp_path_factory, DEMO_RESPONSES, "demo-template"))
        return done.read_text()


@pytest.fixture
def demo_url(demo_template: str, tmp_path: Path) -> str:
    """This test's own copy of the demo database (a SQLite URL)."""
    return copy_database(demo_template, tmp_path / "demo.db")
