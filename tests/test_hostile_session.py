"""Issue 13, finding 5 (the app side): the Upload page keeps only a small summary of each check in
the session (never the parsed table), and checks are bounded: one per user, a few per process."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard import server_guard
from dashboard.components.upload_report import PREVIEW_ROWS, CheckSummary
from dashboard.i18n import translate
from dashboard.views.upload import CHECKS_KEY
from queries.access.accounts import create_user, get_user
from queries.db import make_engine
from queries.ingest.reading import RawTable
from queries.ingest.validate import Validation
from tests.test_app_upload import db_file as db_file  # the fixture: a fresh SQLite file
from tests.test_app_upload import page, upload
from tests.uploads_helpers import survey_csv, survey_rows


@pytest.fixture(autouse=True)
def staff_account(db_file) -> None:
    engine = make_engine(db_file)
    try:
        if get_user(engine, "staff1") is None:
            create_user(engine, "staff1", "staff-password-1", role="staff")
    finally:
        engine.dispose()


def _held(value, seen: set[int] | None = None) -> list[object]:
    """Every object reachable from a session value through dataclass fields and containers."""
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return []
    seen.add(id(value))
    out = [value]
    children = []
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list | tuple):
        children = list(value)
    elif hasattr(value, "__dataclass_fields__"):
        children = [getattr(value, name) for name in value.__dataclass_fields__]
    for child in children:
        out += _held(child, seen)
    return out


def test_the_session_keeps_summaries_not_parsed_tables(db_file):
    at = page("upload")
    bad = survey_rows(40)
    bad[3] = bad[3].replace("Алматы", "Mars")
    upload(at, "survey.csv", survey_csv(bad))
    kept = at.session_state[CHECKS_KEY]
    assert kept and all(isinstance(summary, CheckSummary) for summary in kept.values())
    held = _held(dict(kept))
    assert not [v for v in held if isinstance(v, RawTable | Validation)]
    frames = [v for v in held if isinstance(v, pl.DataFrame)]
    assert frames and max(frame.height for frame in frames) <= PREVIEW_ROWS
    assert at.dataframe  # the page still shows the preview and the problems


def test_one_check_per_user_and_a_few_in_all(monkeypatch):
    monkeypatch.setenv("SENIM_MAX_CHECKS", "2")
    with server_guard.check_slot("a"):
        with pytest.raises(server_guard.Busy) as mine, server_guard.check_slot("a"):
            pass
        assert mine.value.mine
        with server_guard.check_slot("b"):
            with pytest.raises(server_guard.Busy) as full, server_guard.check_slot("c"):
                pass
            assert not full.value.mine
    with server_guard.check_slot("a"), server_guard.check_slot("c"):  # all freed again
        pass


def test_a_second_check_of_the_same_user_waits_its_turn(db_file):
    with server_guard.check_slot("staff1"):  # e.g. the same user's check in another tab
        at = page("upload")
        upload(at, "survey.csv", survey_csv(survey_rows(5)))
    assert [w.value for w in at.warning] == [translate("security.busy_mine", "en")]
