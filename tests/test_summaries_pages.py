"""The Feedback and NGO pages' survey numbers from the summary store (issue 11) equal the
raw-row path: for random filters (sources, wave ranges, regions, sexes, age groups, settlements,
institution sets, delivered or calibrated weights), ``feedback_numbers``, ``trust_by_region``
and the weights switch's estimators by any cell dimension give the same estimates, SEs, CIs,
n, df and suppression to 1e-9 relative, on SQLite and PostgreSQL. The data has population
counts for some waves' years only, so raked, delivered and mixed selections all occur. Both
pages draw in kk/ru/en with the survey-row loader refusing."""

from __future__ import annotations

import dataclasses
import json
import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete

import dashboard.data
from dashboard.components.filters import primary_source
from queries.db import engine_for, make_engine
from queries.errors import SenimError
from queries.metrics import page_weights
from queries.metrics.dataset import load_dataset
from queries.metrics.feedback import feedback_numbers, feedback_variables
from queries.metrics.filters import WEIGHTS, Filters
from queries.metrics.ngo import ngo_trust_relation, ngo_year, trust_by_region
from queries.metrics.trust import composite_expr, trust_columns
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from queries.summaries import pages
from queries.summaries.memory import load_snapshot
from tests.apptest_helpers import use_database, view
from tests.test_summaries import (  # noqa: F401 (loaded: the fixture)
    SLOW,
    SOURCES,
    WAVES,
    assert_same_frame,
    filters_strategy,
    loaded,
)
from tests.test_summaries_calibrated import calibrating  # noqa: F401 (the fixture)

YEARS = (2021, 2024, 2025, 2030)  # 2030: no wave
BY = ("region", "sex", "age_group", "settlement")


def any_weights() -> st.SearchStrategy[Filters]:
    """The shared filter strategy with either weights."""
    return st.tuples(filters_strategy(), st.sampled_from(WEIGHTS)).map(
        lambda p: dataclasses.replace(p[0], weights=p[1])
    )


def sorted_by(frame: pl.DataFrame) -> pl.DataFrame:
    keys = [c for c in frame.columns if c in (*BY, "variable")]
    return frame.sort(keys, nulls_last=True) if keys else frame


def assert_same(raw, summed, what: str) -> None:
    """Two ``WeightedEstimates``: the same weights, waves left delivered and estimates."""
    assert (summed.weights, summed.uncalibrated_waves) == (
        raw.weights,
        raw.uncalibrated_waves,
    ), what
    assert_same_frame(sorted_by(raw.estimates), sorted_by(summed.estimates), what)


def agree(raw_call, summary_call, what: str) -> None:
    """Both paths give the same numbers, or refuse with the same message."""
    try:
        raw = raw_call()
    except SenimError as exc:
        with pytest.raises(SenimError) as caught:
            summary_call()
        assert str(caught.value) == str(exc), what
        return
    assert_same(raw, summary_call(), what)


@pytest.fixture
def both(calibrating):  # noqa: F811
    """The loaded rows and the summary snapshot of the same data version."""
    return load_dataset(calibrating), load_snapshot(calibrating)


@pytest.mark.slow
def test_feedback_numbers_from_summaries_equal_the_rows(both):
    data, snapshot = both

    @given(filters=any_weights(), source=st.sampled_from(SOURCES), pick=st.integers(0, 9))
    @SLOW
    def same(filters: Filters, source: str, pick: int) -> None:
        wave = WAVES[source][pick % len(WAVES[source])]
        agree(
            lambda: feedback_numbers(data, filters, source, wave),
            lambda: pages.feedback_numbers(snapshot, filters, source, wave),
            f"{filters} {source} {wave}",
        )

    same()


@pytest.mark.slow
def test_trust_by_region_from_summaries_equals_the_rows(both):
    data, snapshot = both

    @given(filters=any_weights(), year=st.sampled_from(YEARS))
    @SLOW
    def same(filters: Filters, year: int) -> None:
        agree(
            lambda: trust_by_region(data, filters, SOURCES[0], year),
            lambda: pages.trust_by_region(snapshot, filters, SOURCES[0], year),
            f"{filters} {year}",
        )

    same()


@pytest.mark.slow
def test_weighted_estimates_by_any_cell_dimension_equal_the_rows(both):
    """The estimator other pages build on (the Regions page's cross-tabs): composite trust
    and the feedback items per region, sex, age group or settlement in one wave."""
    data, snapshot = both

    @given(filters=any_weights(), by=st.sampled_from(BY), pick=st.integers(0, 3))
    @SLOW
    def same(filters: Filters, by: str, pick: int) -> None:
        wave = WAVES[SOURCES[0]][pick]

        def variables(frame: pl.DataFrame) -> dict[str, pl.Expr]:
            return {
                "composite": composite_expr(trust_columns(frame, filters.institutions)),
                **feedback_variables(),
            }

        columns = pl.DataFrame(schema={f"trust_{i}": pl.Float64 for i in snapshot.institutions})
        agree(
            lambda: page_weights.weighted_estimates(
                data, filters, SOURCES[0], variables(data.responses), by=[by], waves=[wave]
            ),
            lambda: pages.weighted_estimates(
                snapshot, filters, SOURCES[0], variables(columns), by=[by], waves=[wave]
            ),
            f"{filters} {by} {wave}",
        )

    same()


def test_raked_and_pooled_trust_by_region_is_not_the_delivered_one(both):
    """A guard on the test data: the 2025 wave is raked (so the property tests above compare
    raked numbers), and the summary path's pooled SE differs from the delivered one."""
    data, snapshot = both
    raked = pages.trust_by_region(snapshot, Filters(), SOURCES[0], 2025)
    plain = pages.trust_by_region(snapshot, Filters(weights="delivered"), SOURCES[0], 2025)
    assert raked.weights == "calibrated" and plain.weights == "delivered"
    assert not raked.estimates.get_column("se").equals(plain.estimates.get_column("se"))
    assert_same(trust_by_region(data, Filters(), SOURCES[0], 2025), raked, "default")


# --- the two pages draw from the store alone (AppTest) ------------------------------------


def numbers_in(chart) -> list[float]:
    """Every x and y value of a drawn Plotly chart."""
    spec = json.loads(chart.proto.spec)
    return [
        v
        for trace in spec["data"]
        for axis in ("x", "y")
        for v in trace.get(axis) or []
        if isinstance(v, int | float)
    ]


def drawn(values: list[float], expected: list[float]) -> bool:
    return all(any(math.isclose(e, v, rel_tol=1e-9) for v in values) for e in expected)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_feedback_and_ngo_draw_from_summaries_without_loading_rows(demo_url, monkeypatch, lang):
    """With the survey-row loader refusing, both pages draw in every language and show the
    raw-row path's survey numbers (the Feedback scores, the NGO page's trust per region)."""
    data = load_dataset(engine_for(demo_url))
    source = primary_source(data, Filters())
    wave = data.responses.filter(pl.col("source") == source).sort("period_start")["wave"][-1]
    scores = feedback_numbers(data, Filters(), source, wave).estimates
    year = ngo_year(data, Filters()).year
    trust = trust_by_region(data, Filters(), source, year).estimates
    relation = ngo_trust_relation(trust, ngo_year(data, Filters(), year).density)
    use_database(monkeypatch, demo_url, require_login=False)

    def refuse(engine):
        raise AssertionError("a page loaded the survey rows")

    monkeypatch.setattr(dashboard.data, "load_dataset", refuse)
    feedback = view("feedback", lang=lang)
    assert not feedback.exception, feedback.exception
    charts = [numbers_in(c) for c in feedback.get("plotly_chart")]
    expected = scores.filter(pl.col("variable") != "got_response")["estimate"].to_list()
    assert expected and any(drawn(values, expected) for values in charts)
    ngo = view("ngo", lang=lang)
    assert not ngo.exception, ngo.exception
    points = relation.points["y"].to_list()
    assert points and any(drawn(numbers_in(c), points) for c in ngo.get("plotly_chart"))


@pytest.mark.slow
def test_an_incomplete_store_serves_both_pages_from_the_rows(demo_url, monkeypatch):
    """As after upgrading an older database (no summaries yet): the pages fall back to the
    rows and show their numbers rather than the empty store's."""
    data = load_dataset(engine_for(demo_url))
    source = primary_source(data, Filters())
    year = ngo_year(data, Filters()).year
    trust = trust_by_region(data, Filters(), source, year).estimates
    relation = ngo_trust_relation(trust, ngo_year(data, Filters(), year).density)
    with make_engine(demo_url).begin() as conn:
        for table in (summary_cells, summary_strata, summary_variables):
            conn.execute(delete(table))
    use_database(monkeypatch, demo_url, require_login=False)
    feedback = view("feedback")
    assert not feedback.exception, feedback.exception
    assert len(feedback.get("plotly_chart")) == 4  # register and survey sides both drawn
    ngo = view("ngo")
    assert not ngo.exception, ngo.exception
    points = relation.points["y"].to_list()
    assert any(drawn(numbers_in(c), points) for c in ngo.get("plotly_chart"))
