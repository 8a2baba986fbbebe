"""One session check per run (issue 11) through the entry point on a real SQLite demo file: every
``current_user()`` of a run (the frame, the sign-out line, the Regions page, each table's
download rule) reuses the check ``app.main`` made, counted as the statements that read the
session and account tables; and a revoked session, a disabled account or a lowered role still
takes effect at the very next run (issue 13)."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import event
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from dashboard.i18n import translate
from queries.access import accounts, sessions
from queries.db import engine_for
from tests.apptest_helpers import ROOT, TIMEOUT, use_database

USER = "analyst-anna"  # analyst: the Regions page shows its cross tables and their downloads
READS = re.compile(r"^\s*SELECT\b.*\bFROM (user_sessions|users)\b", re.IGNORECASE | re.DOTALL)


@pytest.fixture
def app(demo_url, monkeypatch):
    """The entry point on the Regions page, signed in through a real session row."""
    use_database(monkeypatch, demo_url, require_login=True)
    engine = engine_for(demo_url)
    accounts.create_user(engine, USER, None, role="analyst")
    sid, _code = sessions.open_session(engine, username=USER, method="password")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["senim_user"] = {"username": USER, "role": "analyst", "sid": sid,
                                      "expires_at": time.time() + 3600}  # fmt: skip
    at._page_hash = calc_hash("regions")  # a callable page: st.Page hashes its url_path
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("regions.title", "en")
    return at, engine, sid


def account_reads(engine, at: AppTest) -> dict[str, int]:
    """The SELECTs on the session and account tables during one run of ``at``."""
    counts = {"user_sessions": 0, "users": 0}

    def count(conn, cursor, statement, parameters, context, executemany):
        found = READS.match(statement)
        if found:
            counts[found.group(1)] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        at.run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert not at.exception, at.exception
    return counts


def signed_out(at: AppTest) -> bool:
    return "senim_user" not in at.session_state and at.title[0].value == translate(
        "auth.sign_in_title", "en"
    )


def test_a_filter_change_checks_the_session_and_the_account_once(app):
    at, engine, _sid = app
    downloads = len(at.get("download_button"))
    assert downloads >= 4  # the ranking and the three cross tables, each asking who may download
    at.multiselect(key="f_sex").set_value(["female"])
    assert account_reads(engine, at) == {"user_sessions": 1, "users": 1}
    assert len(at.get("download_button")) == downloads
    assert account_reads(engine, at) == {"user_sessions": 1, "users": 1}  # a plain rerun too


def test_a_revoked_session_signs_out_at_the_next_run(app):
    at, engine, sid = app
    sessions.revoke(engine, session_id=sid)  # signed out in another tab
    at.run()
    assert signed_out(at)


def test_a_disabled_account_signs_out_at_the_next_run(app):
    at, engine, _sid = app
    accounts.create_user(engine, "boss", None, role="admin")
    accounts.disable(engine, USER, actor="boss")
    at.run()
    assert signed_out(at)


def test_a_lowered_role_loses_the_downloads_at_the_next_run(app):
    at, engine, _sid = app
    assert at.get("download_button")
    accounts.create_user(engine, "boss", None, role="admin")
    accounts.set_role(engine, USER, "viewer", actor="boss")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["senim_user"]["role"] == "viewer"
    assert not at.get("download_button")  # the table rule and the page saw the same answer
