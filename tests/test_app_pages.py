"""The app frame and the analysis pages through AppTest on a real SQLite demo database: the page
list per role, shared links before sign-in, the language switch, the region profile, the
Feedback and NGO pages following the filters, and the Methodology page with the database down."""

from __future__ import annotations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import translate
from queries.db import engine_for
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


@pytest.fixture(autouse=True)
def environment(demo_url, monkeypatch):
    """Each test reads its own copy of the session's demo database."""
    use_database(monkeypatch, demo_url, require_login=False)


def list_pages(role: str | None) -> None:
    """AppTest script: the entry point's page list for a role (None = signed out), as text."""
    import os
    import sys

    sys.path.insert(0, os.getcwd())
    import streamlit as st

    from dashboard.app import page_list
    from dashboard.auth import SessionUser

    user = SessionUser("someone", role) if role else None
    for page in page_list(user):
        st.text(f"{page.url_path}|{page.title}|{page._visibility}")


def pages_for(role: str | None) -> list[tuple[str, str, str]]:
    at = AppTest.from_function(list_pages, args=(role,), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    return [tuple(text.value.split("|")) for text in at.text]


ANALYSIS = ["", "regions", "feedback", "ngo", "drivers", "methodology"]  # Overview = the root


def test_each_role_gets_its_own_pages():
    def visible(role):
        return [path for path, _title, shown in pages_for(role) if shown == "visible"]

    assert visible("viewer") == ANALYSIS
    assert visible("analyst") == ANALYSIS
    assert visible("staff") == [*ANALYSIS, "upload", "history"]
    assert visible("admin") == [*ANALYSIS, "upload", "history", "users", "audit"]


def test_signed_out_every_address_is_the_sign_in_page():
    pages = pages_for(None)
    assert [p for p in pages if p[2] == "visible"] == [("", "Sign in", "visible")]
    hidden = {path for path, title, shown in pages if shown == "hidden" and title == "Sign in"}
    # A shared link to any page keeps its address through sign-in, so it opens after it.
    assert hidden == {"regions", "feedback", "ngo", "drivers", "methodology", "upload", "history",
                      "users", "audit"}  # fmt: skip


def entry_point(params: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if user:
        ensure_account(user)
        at.session_state["senim_user"] = {**user, "expires_at": FAR}
    return at.run()


def test_the_language_comes_from_the_link_and_the_switch_changes_it():
    at = entry_point({"lang": "ru"})
    assert not at.exception
    assert at.title[0].value == translate("overview.title", "ru")
    at.segmented_control(key="lang").set_value("en").run()
    assert at.title[0].value == translate("overview.title", "en")
    assert at.query_params["lang"] in ("en", ["en"])


def test_an_unknown_language_in_the_link_gives_a_notice_and_kazakh():
    at = entry_point({"lang": "'; DROP TABLE users;--"})
    assert not at.exception
    assert at.title[0].value == translate("overview.title", "kk")
    assert any("lang" in w.value for w in at.warning)


@pytest.mark.slow
def test_the_region_profile_shows_that_regions_cards(demo_url):
    at = view("regions")
    assert not at.exception
    at.run()  # a plain rerun sends the profile's value back: its label must still match
    assert not at.exception
    at.selectbox(key="profile_region").set_value("Shymkent").run()
    assert not at.exception
    shown = card_values(at)
    assert shown == formatted(expected_cards(demo_url, Filters(regions=("KZ-79",))))
    at.selectbox(key="profile_region").set_value("Almaty").run()
    other = expected_cards(demo_url, Filters(regions=("KZ-75",)))
    assert card_values(at) == formatted(other) != shown


def test_the_profile_offers_only_the_filtered_regions():
    at = view("regions", params={"region": ["KZ-75", "KZ-71"]})
    assert not at.exception
    assert set(at.selectbox(key="profile_region").options) == {"Almaty", "Astana"}


def test_region_exports_are_for_analysts_only():
    viewer = view("regions", user={"username": "v", "role": "viewer"})
    analyst = view("regions", user={"username": "a", "role": "analyst"})
    assert not viewer.exception and not analyst.exception
    assert len(viewer.get("download_button")) == 0
    # the regions table and the three cross-tabs, each as CSV and Excel
    assert len(analyst.get("download_button")) == 8


def test_the_feedback_page_follows_the_region_filter(demo_url):
    proposals = load_dataset(engine_for(demo_url)).proposals
    everything = view("feedback")
    almaty = view("feedback", params={"region": "KZ-75"})
    assert not everything.exception and not almaty.exception
    in_almaty = proposals.filter(pl.col("region") == "KZ-75").height
    assert everything.metric[0].value == f"{proposals.height:,}"
    assert almaty.metric[0].value == f"{in_almaty:,}"


def test_the_ngo_table_follows_the_year(demo_url):
    at = view("ngo")
    assert not at.exception
    first = at.dataframe[0].value
    years = at.select_slider(key="ngo_year").options
    at.select_slider(key="ngo_year").set_value(years[0]).run()
    assert not at.exception
    assert not at.dataframe[0].value.equals(first)
    assert any(w.value == translate("ngo.not_cause", "en") for w in at.warning)


def test_methodology_with_the_database_down_gives_the_retry_notice(monkeypatch):
    monkeypatch.setenv("SENIM_DATABASE_URL", "postgresql+psycopg://senim@127.0.0.1:1/none")
    at = view("methodology")
    assert not at.exception
    assert at.error[0].value == translate("common.db_unavailable", "en")


def test_methodology_says_when_the_data_was_last_updated():
    at = view("methodology", "ru")
    assert not at.exception
    prefix = translate("methodology.last_update", "ru", date="")
    assert any(c.value.startswith(prefix) and c.value.endswith("UTC") for c in at.caption)
    assert [h.value for h in at.subheader][:2] == [
        translate("methodology.indicators_title", "ru"),
        translate("methodology.trust_title", "ru"),
    ]


def test_a_reversed_wave_range_is_explained(demo_url):
    waves = load_dataset(engine_for(demo_url)).waves.get_column("wave").unique(maintain_order=True)
    first, last = waves[0], waves[-1]
    at = view("overview", params={"wave_from": last, "wave_to": first})
    assert not at.exception
    notice = translate("filters.wave_order", "en", first=last, last=first)
    assert any(w.value == notice for w in at.warning)
    fine = view("overview", params={"wave_from": first, "wave_to": last})
    assert not any(w.value == notice for w in fine.warning)
