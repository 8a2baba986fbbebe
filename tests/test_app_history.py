"""The Upload history page through AppTest on a real SQLite file: the log as staff read it, and
rollback behind a confirmation, checked against the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard.i18n import translate
from queries.db import make_engine
from queries.ingest.pipeline import ingest_bytes, rollback
from queries.schema.data import responses, uploads
from tests.test_app_upload import count, page
from tests.test_app_upload import db_file as db_file  # the fixture: a fresh SQLite file
from tests.uploads_helpers import survey_csv, survey_rows

VIEWER = {"username": "leader", "role": "viewer"}


def load(url: str, name: str, content: bytes, **options) -> int:
    """Ingest a file the way the Upload page does; returns its upload id."""
    engine = make_engine(url)
    try:
        report = ingest_bytes(engine, "survey", content, name, uploaded_by="staff2", **options)
    finally:
        engine.dispose()
    return report.upload_id


def status_of(url: str, upload_id: int) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(uploads.c.status).where(uploads.c.id == upload_id)).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def two_uploads(db_file) -> tuple[int, int]:
    """A loaded file of 12 rows, then a rejected one (a bad region, all or nothing)."""
    good = load(db_file, "wave-3.csv", survey_csv(survey_rows(12)))
    bad_rows = survey_rows(2, start=100)
    bad_rows[0] = bad_rows[0].replace("Алматы", "Mars")
    bad = load(db_file, "broken.csv", survey_csv(bad_rows))
    return good, bad


def test_a_viewer_sees_not_allowed_and_no_log(db_file, two_uploads):
    at = page("history", user=VIEWER)
    assert not at.exception
    assert at.error[0].value == translate("auth.not_allowed", "en")
    assert len(at.dataframe) == 0 and len(at.button) == 0


def test_an_empty_log_says_so(db_file):
    at = page("history")
    assert not at.exception
    assert at.info[0].value == translate("history.empty", "en")


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_every_upload_is_listed_with_counts_who_and_translated_status(db_file, two_uploads, lang):
    good, bad = two_uploads
    at = page("history", lang=lang)
    assert not at.exception
    table = at.dataframe[0].value

    def col(name: str) -> list:
        return table[translate(f"history.col_{name}", lang)].tolist()

    assert col("id") == [bad, good]  # newest first
    assert col("file") == ["broken.csv", "wave-3.csv"]
    assert col("who") == ["staff2", "staff2"]
    assert col("status") == [
        translate("history.status_rejected", lang),
        translate("history.status_loaded", lang),
    ]
    assert col("loaded") == [0, 12] and col("read") == [2, 12] and col("rejected") == [1, 0]
    assert all(when.strip() for when in col("when"))


def test_rollback_needs_the_confirmation_then_removes_the_rows(db_file, two_uploads):
    good, _bad = two_uploads
    assert count(db_file) == 12
    at = page("history")
    # only a stored upload can be rolled back: the rejected one is not offered
    assert at.selectbox(key="rollback_id").options == [
        f"{good} · wave-3.csv · {at.dataframe[0].value.iloc[1]['When']} · staff2"
    ]
    assert at.button(key="rollback_go").disabled
    at.checkbox(key=f"rollback_confirm_{good}").check().run()
    assert not at.button(key="rollback_go").disabled
    at.button(key="rollback_go").click().run()
    assert not at.exception
    assert count(db_file) == 0
    assert status_of(db_file, good) == "rolled_back"
    assert at.success[0].value == translate("history.rolled_back", "en", id=good)
    table = at.dataframe[0].value
    assert table.iloc[1]["Status"] == translate("history.status_rolled_back", "en")
    assert table.iloc[1]["Rolled back"].endswith("staff1")
    assert at.caption[-1].value == translate("history.nothing_to_undo", "en")


def test_a_selection_that_changed_underneath_never_rolls_back_another_upload(db_file):
    first = load(db_file, "a.csv", survey_csv(survey_rows(5)))
    second = load(db_file, "b.csv", survey_csv(survey_rows(7, start=50)))
    at = page("history")
    assert at.selectbox(key="rollback_id").value == second  # newest first
    at.checkbox(key=f"rollback_confirm_{second}").check().run()
    # meanwhile another staff member rolls the chosen upload back
    engine = make_engine(db_file)
    rollback(engine, second, by="staff3")
    engine.dispose()
    at.button(key="rollback_go").click().run()
    assert not at.exception
    assert status_of(db_file, first) == "loaded" and count(db_file) == 5
    assert at.selectbox(key="rollback_id").value == first
    assert at.button(key="rollback_go").disabled  # the new selection is not confirmed


def test_rows_of_a_rolled_back_upload_leave_the_dashboard_data(db_file, two_uploads):
    from queries.metrics.dataset import load_dataset

    good, _bad = two_uploads
    engine = make_engine(db_file)
    before = load_dataset(engine)
    at = page("history")
    at.checkbox(key=f"rollback_confirm_{good}").check().run()
    at.button(key="rollback_go").click().run()
    after = load_dataset(engine)
    with engine.connect() as conn:
        left = conn.execute(select(responses.c.id)).all()
    engine.dispose()
    assert before.responses.height == 12 and after.responses.height == 0 and left == []
    assert after.version != before.version  # the dashboard's cache key moves on
