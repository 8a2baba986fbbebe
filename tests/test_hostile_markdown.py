"""Issue 13, finding 8: text that users supplied (file names, headers, messages quoting them) never
reaches the page as Markdown: no image (or link) a colleague's browser would fetch. AppTest runs
the History and Upload pages; every Markdown-rendering body and label is checked."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from queries.access.accounts import create_user, get_user
from queries.db import make_engine
from tests.test_app_history import load
from tests.test_app_upload import db_file as db_file  # the fixture: a fresh SQLite file
from tests.test_app_upload import page, upload
from tests.uploads_helpers import SURVEY_HEADER, survey_csv, survey_rows

LEAK = "![t](http://127.0.0.1:8799/leak.png)"
NAME = f"{LEAK} ngo.csv"
# Markdown image or link syntax that is not backslash-escaped.
LIVE_MARKDOWN = re.compile(r"(?<!\\)!?(?<!\\)\[[^\]]*(?<!\\)\]\((?!\s)")


@pytest.fixture(autouse=True)
def staff_account(db_file) -> None:
    """The account behind the tests' staff session (sessions are checked against accounts)."""
    engine = make_engine(db_file)
    try:
        if get_user(engine, "staff1") is None:
            create_user(engine, "staff1", "staff-password-1", role="staff")
    finally:
        engine.dispose()


def rendered_markdown(at: AppTest) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown: bodies and widget labels."""
    out: list[str] = []
    for group in (at.markdown, at.caption, at.error, at.warning, at.info, at.success, at.title,
                  at.header, at.subheader):  # fmt: skip
        out += [str(e.proto.body) for e in group]
    for group in (at.selectbox, at.checkbox, at.button, at.text_input, at.file_uploader):
        out += [str(e.proto.label) for e in group]
    return out


def assert_inert(at: AppTest) -> None:
    assert not at.exception, at.exception
    texts = rendered_markdown(at)
    live = [text for text in texts if LIVE_MARKDOWN.search(text)]
    assert not live, live


def test_history_and_rollback_show_a_hostile_file_name_inert(db_file):
    upload_id = load(db_file, NAME, survey_csv(survey_rows(3)))
    at = page("history")
    assert_inert(at)
    assert NAME in at.dataframe[0].value.to_string()  # shown, as data
    at.selectbox(key="rollback_id").set_value(upload_id).run()
    at.checkbox(key=f"rollback_confirm_{upload_id}").check().run()
    at.button(key="rollback_go").click().run()
    assert_inert(at)
    assert any("leak" in text for text in rendered_markdown(at))  # the notice names it


def test_upload_page_shows_hostile_names_and_headers_inert(db_file):
    at = page("upload")
    upload(at, NAME, b"%PDF-1.7 not a table")
    assert_inert(at)
    assert any("leak" in text for text in rendered_markdown(at))  # the refusal names it
    header = SURVEY_HEADER + f",{LEAK}"
    rows = [row + ",x" for row in survey_rows(2)]
    at = page("upload")
    upload(at, NAME, survey_csv(rows, header=header))
    assert_inert(at)
    assert any("leak" in e.proto.label for e in at.selectbox)  # the mapping box names it


def test_the_detector_sees_live_markdown():
    assert LIVE_MARKDOWN.search(NAME)
    assert LIVE_MARKDOWN.search("[click](http://x)")
    assert not LIVE_MARKDOWN.search(r"\!\[t\]\(http\:\/\/x\) ngo\.csv")
