"""The calibrated Overview (issue 12, point 6) from the summary store equals the raw-row path:
with population counts uploaded for some waves' years (and the shipped 2024 region totals,
which the test's four regions cannot meet), for random filters every Overview number from
summaries equals ``overview_numbers`` on the loaded rows to 1e-9, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import strategies as st

from queries.ingest.pipeline import ingest_bytes
from queries.ingest.uploads import rollback
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_numbers
from queries.summaries.memory import overview_from_summaries
from queries.summaries.rebuild import check
from tests.test_calibrated_db import population_file
from tests.test_summaries import (  # noqa: F401 (loaded: the fixture)
    OLD_REGIONS,
    REGIONS,
    SLOW,
    SOURCES,
    assert_overview_paths_agree,
    assert_same_overview,
    filters_strategy,
    load,
    loaded,
    survey_file,
)

CALIBRATED = "calibrated"


@pytest.fixture
def calibrating(loaded):  # noqa: F811
    """D's data (several waves, a grown wave, a rollback) and region × sex × age counts for
    2025 (the 2025 wave) and 2021 (the pre-reform wave, its old regions)."""
    for year, codes in ((2025, REGIONS), (2021, OLD_REGIONS)):
        file = population_file(list(codes), year)
        report = ingest_bytes(loaded, "population", file, f"population-{year}.csv")
        assert report.status == "loaded", report.errors.to_dicts()[:3]
    return loaded


def calibrated_filters() -> st.SearchStrategy[Filters]:
    return filters_strategy().map(lambda f: dataclasses.replace(f, weights=CALIBRATED))


def test_the_default_overview_is_raked_from_summaries(calibrating):
    """Some waves are raked, one is not (2024: the shipped totals name regions the test lacks),
    and the summary path says so exactly as the raw-row path."""
    data = load_dataset(calibrating)
    raw = overview_numbers(data, Filters(), SOURCES[0])
    summed = overview_from_summaries(calibrating, Filters(), SOURCES[0])
    assert summed.weights == CALIBRATED
    assert "2025-Q2" not in summed.uncalibrated_waves and "2024-Q4" in summed.uncalibrated_waves
    assert_same_overview(raw, summed)
    plain = overview_from_summaries(calibrating, Filters(weights="delivered"), SOURCES[0])
    assert plain.weights == "delivered"
    assert not plain.trend.equals(summed.trend)  # the raking changes the numbers


@pytest.mark.slow
def test_calibrated_overview_from_summaries_equals_the_raw_row_path(calibrating):
    assert_overview_paths_agree(calibrating, calibrated_filters())


@pytest.mark.slow
def test_after_an_upload_and_a_rollback_the_store_checks_and_rakes_alike(calibrating):
    """A new 2025 upload grows the raked wave, its rollback shrinks it again: ``summaries
    check`` finds nothing (``sy`` included) and the calibrated Overview still equals the rows."""
    grown = load(calibrating, survey_file(41, source=SOURCES[0], wave="2025-Q2", n=90,
                                          start=9000), "grown.csv")  # fmt: skip
    for step in ("upload", "rollback"):
        with calibrating.connect() as conn:
            assert check(conn) == [], step
        data = load_dataset(calibrating)
        for filters in (Filters(), Filters(regions=("KZ-75",), sexes=("female",))):
            raw = overview_numbers(data, filters, SOURCES[0])
            assert_same_overview(raw, overview_from_summaries(calibrating, filters, SOURCES[0]))
        if step == "upload":
            rollback(calibrating, grown, by="test")


@pytest.mark.slow
def test_a_region_profile_has_the_overviews_cards_and_trend(calibrating):
    """``areas=False`` (the Regions page's profile) leaves out the map and the regions moved and
    changes nothing else: cards, trend, latest wave, comparable units and weights are the full
    Overview's, for random filters and either weights."""
    from hypothesis import given

    from queries.metrics.moved import no_moves
    from tests.test_summaries import assert_same_frame

    either = st.sampled_from(("calibrated", "delivered"))

    @given(filters=filters_strategy(), weights=either)
    @SLOW
    def same(filters: Filters, weights: str) -> None:
        filters = dataclasses.replace(filters, weights=weights)
        try:
            full = overview_from_summaries(calibrating, filters, SOURCES[0])
        except Exception as exc:  # an unknown wave: the same error both ways
            with pytest.raises(type(exc)):
                overview_from_summaries(calibrating, filters, SOURCES[0], areas=False)
            return
        lean = overview_from_summaries(calibrating, filters, SOURCES[0], areas=False)
        for name in ("cards", "trend", "funnel"):
            assert_same_frame(getattr(full, name), getattr(lean, name), name)
        for name in ("latest_wave", "comparable_units", "weights", "uncalibrated_waves"):
            assert getattr(full, name) == getattr(lean, name), name
        assert lean.by_region.is_empty() and lean.moved.equals(no_moves())

    same()
