"""The Streamlit UI with AppTest on a real SQLite demo database: every page in every language,
card values equal to the queries functions, filters (widgets and URL) changing the numbers,
role checks on the server side."""

from __future__ import annotations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import LANGUAGES, translate
from queries.db import make_engine
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from tests.apptest_helpers import (
    FAR,
    ROOT,
    TIMEOUT,
    card_values,
    ensure_account,
    expected_cards,
    formatted,
    use_database,
    view,
)

PAGES = ("overview", "regions", "feedback", "ngo", "methodology")


@pytest.fixture(autouse=True)
def environment(demo_url, monkeypatch):
    """Each test reads (or writes) its own copy of the session's demo database."""
    use_database(monkeypatch, demo_url, require_login=False)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_runs_in_every_language(name, lang):
    at = view(name, lang)
    assert not at.exception, at.exception
    assert at.title[0].value == translate(f"{name}.title", lang) != f"{name}.title"  # translated


def test_overview_cards_equal_the_queries_values(demo_url):
    at = view("overview")
    expected = formatted(expected_cards(demo_url, Filters()))
    assert len(expected) == 6
    assert card_values(at) == expected


def test_a_region_filter_changes_the_numbers(demo_url):
    at = view("overview")
    before = card_values(at)
    # AppTest addresses options by their shown label (the format_func output)
    at.multiselect(key="f_region").set_value(["Almaty"]).run()
    after = card_values(at)
    assert after != before
    assert after == formatted(expected_cards(demo_url, Filters(regions=("KZ-75",))))
    assert at.query_params["region"] in ("KZ-75", ["KZ-75"])  # the view is shareable


def test_filters_come_from_the_url_and_bad_values_get_a_notice(demo_url):
    at = view(
        "overview",
        params={
            "region": ["KZ-75", "'; DROP TABLE responses;--"],
            "sex": "female",
            "wave_to": "9999-Q9",
        },
    )
    assert not at.exception
    assert any("region" in w.value and "wave_to" in w.value for w in at.warning)
    filters = Filters(regions=("KZ-75",), sexes=("female",))
    assert card_values(at) == formatted(expected_cards(demo_url, filters))


def test_upload_and_history_need_the_staff_role():
    for name in ("upload", "history"):
        at = view(name, user={"username": "leader", "role": "viewer"})
        assert not at.exception
        assert at.error[0].value == translate("auth.not_allowed", "en")
        assert len(at.get("file_uploader")) == 0


def test_staff_uploads_a_survey_file_and_sees_it_in_history(demo_url):
    staff = {"username": "staff1", "role": "staff"}
    at = view("upload", user=staff)
    assert not at.exception
    rows = "\n".join(f"U{i},kurultai,2026-03,Шымкент,female,30,1,7,yes,no" for i in range(40))
    content = (
        "respondent_id,source,wave,region,sex,age,weight,trust_government,"
        "submitted_proposal,received_response\n" + rows + "\n"
    ).encode()
    at.get("file_uploader")[0].set_value(("new-wave.csv", content, "text/csv")).run()
    assert not at.exception
    assert at.success[0].value == translate("upload.valid", "en", rows=40)
    at.button(key="upload_load").click().run()
    assert any("Loaded 40 rows" in s.value for s in at.success)
    data = load_dataset(make_engine(demo_url))
    assert data.responses.filter(pl.col("wave") == "2026-03").height == 40
    history = view("history", user=staff)
    table = history.dataframe[0].value
    assert table.iloc[0]["File"] == "new-wave.csv" and table.iloc[0]["Status"] == "loaded"


def test_a_bad_upload_lists_row_and_column_and_loads_nothing(demo_url):
    at = view("upload", user={"username": "staff1", "role": "staff"})
    content = b"respondent_id,source,wave,region,trust_government\nX1,kurultai,2026-04,Mars,5\n"
    at.get("file_uploader")[0].set_value(("bad.csv", content, "text/csv")).run()
    assert not at.exception
    errors = at.dataframe[-1].value
    assert list(errors.iloc[0][["Row", "Column", "Value"]]) == [1, "region", "Mars"]
    assert at.button(key="upload_load").disabled


def test_the_entry_point_asks_for_sign_in_when_required(monkeypatch):
    monkeypatch.setenv("SENIM_REQUIRE_LOGIN", "1")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == translate("auth.sign_in_title", "kk")
    assert len(at.metric) == 0  # no data before sign-in
    viewer = {"username": "a", "role": "viewer"}
    ensure_account(viewer)
    at.session_state["senim_user"] = {**viewer, "expires_at": FAR}
    at.run()
    assert at.title[0].value == translate("overview.title", "kk")
    assert len(at.metric) == 6


def test_database_unavailable_shows_a_retry_notice(monkeypatch):
    monkeypatch.setenv("SENIM_DATABASE_URL", "postgresql+psycopg://senim@127.0.0.1:1/none")
    at = view("overview")
    assert not at.exception
    assert at.error[0].value == translate("common.db_unavailable", "en")


def test_the_entry_point_opens_the_overview_when_sign_in_is_not_required(monkeypatch):
    monkeypatch.setenv("SENIM_REQUIRE_LOGIN", "0")
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert at.title[0].value == translate("overview.title", "kk")
    assert "senim_user" not in at.session_state  # nobody signed in, yet the data is shown
    assert len(at.metric) == 6
