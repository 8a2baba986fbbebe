"""The app under hostile links and a database that goes away: never an error page, nothing
unparameterised reaches the database, and it recovers by itself when PostgreSQL is back."""

from __future__ import annotations

import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as strat
from sqlalchemy import event
from streamlit.testing.v1 import AppTest

from dashboard.i18n import translate
from queries.db import engine_for, init_db, make_engine
from queries.demo import load_demo
from tests.conftest import demo_database
from tests.pgserver import TempPostgres
from tests.test_app import ROOT, TIMEOUT, run_view

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
def demo_url(tmp_path_factory) -> str:
    return demo_database(tmp_path_factory, 6_000, "hostile")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=strat.dictionaries(
        strat.sampled_from(PARAMS), strat.lists(HOSTILE, min_size=1, max_size=3), max_size=5
    )
)
def test_fuzzed_links_never_break_a_page(demo_url, monkeypatch_module, params):
    statements: list[str] = []
    engine = engine_for(demo_url)

    def spy(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        at = AppTest.from_function(run_view, args=("overview",), default_timeout=TIMEOUT)
        for key, values in params.items():
            at.query_params[key] = values
        at.run()
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert not at.exception, at.exception
    assert len(at.metric) == 6 or at.info  # the page drew (or said the filters left no data)
    for value in (v for values in params.values() for v in values):
        if len(value) > 3:
            assert all(value not in sql for sql in statements), "a URL value reached SQL text"


@pytest.fixture(scope="module")
def monkeypatch_module(demo_url):
    patch = pytest.MonkeyPatch()
    patch.setenv("SENIM_DATABASE_URL", demo_url)
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
