"""The app under hostile links and a database that goes away: never an error page, nothing
unparameterised reaches the database, and it recovers by itself when PostgreSQL is back."""

from __future__ import annotations

import pytest
import streamlit as st
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as strat
from sqlalchemy import event
from streamlit.testing.v1 import AppTest

from dashboard.i18n import translate
from queries.contract.vocabulary import AGE_GROUPS
from queries.db import engine_for, init_db, make_engine
from queries.demo import load_demo
from queries.metrics.dataset import load_dataset
from tests.apptest_helpers import ROOT, TIMEOUT, card_values, run_view, view
from tests.conftest import copy_database
from tests.pgserver import TempPostgres

pytestmark = pytest.mark.slow  # a hypothesis run of 25 pages, and a PostgreSQL server restarted

PARAMS = (
    "lang",
    "source",
    "region",
    "institution",
    "sex",
    "age",
    "settlement",
    "wave_from",
    "wave_to",
)
HOSTILE = strat.one_of(
    strat.text(max_size=300),
    strat.sampled_from(
        [
            "'; DROP TABLE responses; --",
            "KZ-75' OR '1'='1",
            "<script>x</script>",
            "9" * 5000,
            "-1",
            "NaN",
            "null",
            "[]",
            "%00",
            "../../etc/passwd",
        ]
    ),
)


@pytest.fixture(scope="module")
def hostile_url(demo_template, tmp_path_factory) -> str:
    """The module's own copy of the demo database (hypothesis reruns the test in one fixture)."""
    return copy_database(demo_template, tmp_path_factory.mktemp("hostile") / "demo.db")


@pytest.fixture(scope="module")
def known_values(hostile_url) -> frozenset[str]:
    """Every value a filter of the link accepts: a generated value equal to one is not hostile."""
    data = load_dataset(engine_for(hostile_url))
    return frozenset(
        {
            *data.sources,
            *data.regions.get_column("code"),
            *data.institutions,
            *data.waves.get_column("wave"),
            *AGE_GROUPS,
            "female",
            "male",
            "urban",
            "rural",
            "kk",
            "ru",
            "en",
        }
    )


@pytest.fixture(scope="module")
def unfiltered_cards(monkeypatch_module) -> list[str]:
    """The Overview's cards with no link parameters (compared with queries in test_app.py)."""
    at = view("overview")
    assert not at.exception, at.exception
    return card_values(at)


def ignored_params(warnings) -> set[str]:
    """The parameter names a "not recognised and ignored" notice lists."""
    prefix, suffix = translate("filters.invalid_params", "en", params="\0").split("\0")
    return {
        name
        for w in warnings
        if w.value.startswith(prefix) and w.value.endswith(suffix)
        for name in w.value[len(prefix) : len(w.value) - len(suffix)].split(", ")
    }


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=strat.dictionaries(
        strat.sampled_from(PARAMS), strat.lists(HOSTILE, min_size=1, max_size=3), max_size=5
    )
)
def test_fuzzed_links_never_break_a_page(
    hostile_url, monkeypatch_module, known_values, unfiltered_cards, params
):
    assume(not any(v in known_values for values in params.values() for v in values))
    statements: list[str] = []
    engine = engine_for(hostile_url)

    def spy(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        at = view("overview", params=params)
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert not at.exception, at.exception
    # every hostile value is dropped with a notice naming its parameter (the language is not a
    # filter: the entry point reads it), so the page shows the unfiltered numbers
    assert ignored_params(at.warning) == set(params) - {"lang"}
    assert len(unfiltered_cards) == 6
    assert card_values(at) == unfiltered_cards
    for value in (v for values in params.values() for v in values):
        if len(value) > 3:
            assert all(value not in sql for sql in statements), "a URL value reached SQL text"


@pytest.fixture(scope="module")
def monkeypatch_module(hostile_url):
    patch = pytest.MonkeyPatch()
    patch.setenv("SENIM_DATABASE_URL", hostile_url)
    patch.setenv("SENIM_REQUIRE_LOGIN", "0")
    patch.chdir(ROOT)
    st.cache_resource.clear()
    yield patch
    patch.undo()


def test_postgres_restart_shows_retrying_then_recovers(tmp_path, monkeypatch):
    server = TempPostgres()
    url = server.start()
    try:
        engine = make_engine(url)
        init_db(engine)
        load_demo(engine, responses=3_000, folder=tmp_path)
        engine.dispose()
        monkeypatch.setenv("SENIM_DATABASE_URL", url)
        monkeypatch.setenv("SENIM_REQUIRE_LOGIN", "0")
        monkeypatch.chdir(ROOT)
        st.cache_resource.clear()
        at = AppTest.from_function(run_view, args=("overview",), default_timeout=TIMEOUT)
        at.session_state["lang"] = "en"
        at.run()
        assert not at.exception and len(at.metric) == 6

        server.pause()
        at.run()
        assert not at.exception
        assert at.error[0].value == translate("common.db_unavailable", "en")
        assert len(at.metric) == 0

        server.resume()
        at.run()  # the retry fragment reruns the page; here the test reruns it
        assert not at.exception and len(at.metric) == 6
    finally:
        server.stop()
