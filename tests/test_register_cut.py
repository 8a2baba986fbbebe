"""The register and NGO numbers depend only on the filters' sources and regions
(``queries.metrics.filters.register_cut``), and the dashboard keys their cache on that cut
(issue 11): a change of sex, age group, settlement, waves, institutions or weights leaves the
Feedback page's register side and the NGO page's counts as they were, without computing them
again."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

import queries.metrics.register as register_module
from dashboard.i18n import translate
from queries.access import accounts, sessions
from queries.contract.vocabulary import AGE_GROUPS
from queries.db import engine_for
from queries.metrics.filters import WEIGHTS, Filters, register_cut
from queries.metrics.ngo import ngo_year
from queries.metrics.register import numbers_of, summarise_register
from queries.summaries.pages import Frames
from queries.summaries.read import register_frames
from tests.apptest_helpers import ROOT, TIMEOUT, calls_of, use_database
from tests.test_summaries_register import (
    REGIONS,
    SOURCES,
    assert_same_numbers,
    proposal_frames,
    subset,
)

ANY_FILTERS = st.builds(
    Filters,
    sources=subset(SOURCES),
    regions=subset([r for r in REGIONS if r]),
    institutions=subset(("trust_government", "trust_courts", "trust_police")),
    sexes=subset(("female", "male")),
    age_groups=subset(AGE_GROUPS),
    settlements=subset(("urban", "rural")),
    weights=st.sampled_from(WEIGHTS),
)


@given(frame=proposal_frames(), filters=ANY_FILTERS)
@settings(max_examples=60, deadline=None)
def test_register_numbers_read_only_the_cut(frame, filters):
    summary = summarise_register(frame)
    cut = register_cut(filters)
    assert (cut.sources, cut.regions) == (filters.sources, filters.regions)
    assert_same_numbers(numbers_of(summary, filters), numbers_of(summary, cut))


def test_ngo_year_and_register_of_the_demo_read_only_the_cut(demo_url):
    frames = Frames(*register_frames(engine_for(demo_url)))
    regions = sorted(set(frames.ngo.get_column("region").to_list()))[:6]

    @given(filters=ANY_FILTERS, chosen=st.lists(st.sampled_from(regions), max_size=3))
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(filters: Filters, chosen: list[str]) -> None:
        filters = Filters(**{**vars(filters), "regions": tuple(dict.fromkeys(chosen))})
        made, cut = ngo_year(frames, filters), ngo_year(frames, register_cut(filters))
        assert (made is None) == (cut is None)
        if made is not None and cut is not None:
            assert (made.years, made.year) == (cut.years, cut.year)
            assert_frame_equal(made.density, cut.density, check_exact=True)
        assert_same_numbers(numbers_of(frames.proposals, filters),
                            numbers_of(frames.proposals, register_cut(filters)))  # fmt: skip

    check()


@pytest.fixture
def feedback_page(demo_url, monkeypatch):
    """The entry point on the Feedback page, signed in, with the register's numbers counted."""
    use_database(monkeypatch, demo_url, require_login=True)
    engine = engine_for(demo_url)
    accounts.create_user(engine, "analyst-anna", None, role="analyst")
    sid, _code = sessions.open_session(engine, username="analyst-anna", method="password")
    calls = calls_of(monkeypatch, register_module, "register_numbers")  # (data, filters)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["senim_user"] = {"username": "analyst-anna", "role": "analyst",
                                      "sid": sid, "expires_at": time.time() + 3600}  # fmt: skip
    at._page_hash = calc_hash("feedback")  # a callable page: st.Page hashes its url_path
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("feedback.title", "en")
    return at, calls


def test_a_change_the_register_does_not_read_is_not_computed_again(feedback_page):
    at, calls = feedback_page
    assert len(calls) == 1
    for key, value in (("f_sex", ["female"]), ("f_age", ["30-44"]),
                       ("f_settlement", ["rural"])):  # fmt: skip
        shown = [m.value for m in at.metric]
        at.multiselect(key=key).set_value(value)
        at.run()
        assert not at.exception, at.exception
        assert len(calls) == 1  # the cached register numbers, not a second computation
        # the survey side may move; the register's cards (the first ones) do not
        assert [m.value for m in at.metric][:2] == shown[:2]
    region = at.multiselect(key="f_region").options[0]
    at.multiselect(key="f_region").set_value([region])
    at.run()
    assert not at.exception, at.exception
    last = calls[-1][1]
    assert len(calls) == 2 and last == Filters(regions=last.regions)
