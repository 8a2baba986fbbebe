"""The strata a selection keeps, and so the wave the Regions, Feedback, NGO and Drivers pages
show, depend only on its sources, wave range and regions (``queries.metrics.filters.
strata_cut``); the dashboard keys that wave's cache on the cut (issue 11), so a change of sex,
age group, settlement, institutions or weights does not work it out again."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from streamlit.util import calc_hash

import dashboard.data as dashboard_data
from dashboard.i18n import translate
from queries.contract.vocabulary import AGE_GROUPS
from queries.db import engine_for
from queries.metrics.filters import WEIGHTS, Filters, strata_cut
from queries.summaries.memory import load_snapshot
from queries.summaries.read import chosen_strata
from queries.summaries.standing import latest_wave
from tests.apptest_helpers import calls_of, signed_in_app


def subset(values) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(list(values)), max_size=3, unique=True).map(tuple)


def test_the_kept_strata_and_latest_wave_read_only_the_cut(demo_url):
    strata = load_snapshot(engine_for(demo_url)).strata
    sources = sorted(set(strata.get_column("source")))
    regions = sorted(set(strata.get_column("region")))
    waves = sorted(set(strata.get_column("wave")))

    a_wave = st.none() | st.sampled_from(waves)
    any_filters = st.builds(
        Filters, sources=subset(sources), regions=subset(regions), wave_from=a_wave,
        wave_to=a_wave, institutions=subset(("trust_government", "trust_courts")),
        sexes=subset(("female", "male")), age_groups=subset(AGE_GROUPS),
        settlements=subset(("urban", "rural")), weights=st.sampled_from(WEIGHTS),
    )  # fmt: skip

    @given(filters=any_filters, source=st.none() | st.sampled_from(sources))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(filters: Filters, source: str | None) -> None:
        cut = strata_cut(filters)
        assert (cut.sources, cut.wave_from, cut.wave_to, cut.regions) == (
            filters.sources, filters.wave_from, filters.wave_to, filters.regions)  # fmt: skip
        assert latest_wave(strata, filters, source) == latest_wave(strata, cut, source)
        assert_frame_equal(chosen_strata(None, filters, source, strata=strata),
                           chosen_strata(None, cut, source, strata=strata))  # fmt: skip

    check()


@pytest.fixture
def regions_page(demo_url, monkeypatch):
    """The Regions page, signed in, with the shown wave's computations counted."""
    calls = calls_of(monkeypatch, dashboard_data, "latest_wave")  # (strata, filters, source)
    at = signed_in_app(monkeypatch, demo_url)
    at._page_hash = calc_hash("regions")  # a callable page: st.Page hashes its url_path
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == translate("regions.title", "en")
    return at, calls


def test_a_change_of_the_domain_does_not_work_the_wave_out_again(regions_page):
    at, calls = regions_page
    made = len(calls)
    assert made >= 1
    for key, value in (("f_sex", ["female"]), ("f_age", ["30-44"]),
                       ("f_settlement", ["rural"])):  # fmt: skip
        at.multiselect(key=key).set_value(value)
        at.run()
        assert not at.exception, at.exception
        assert len(calls) == made  # the cached wave
    region = at.multiselect(key="f_region").options[0]
    at.multiselect(key="f_region").set_value([region])
    at.run()
    assert not at.exception, at.exception
    assert len(calls) > made
    assert all(filters == strata_cut(filters) for _, filters, _ in calls)
