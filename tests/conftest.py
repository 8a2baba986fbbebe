"""Shared fixtures: every database test runs against a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from queries.db import init_db, make_engine
from tests.pgserver import TempPostgres

FIXTURES = Path(__file__).parent / "fixtures"


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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A fresh, initialised database URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'senim.db'}"
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        return url
    return new_postgres_url(
        request.getfixturevalue("postgres_admin_url"),
        request.getfixturevalue("postgres_template"),
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def demo_database(tmp_path_factory, responses: int, name: str = "demo") -> str:
    """A SQLite file with the demo data of ``responses`` survey responses; returns its URL."""
    from queries.demo import load_demo

    folder = tmp_path_factory.mktemp(name)
    url = f"sqlite:///{folder / 'senim.db'}"
    engine = make_engine(url)
    init_db(engine)
    load_demo(engine, responses=responses, folder=folder / "files")
    engine.dispose()
    return url
