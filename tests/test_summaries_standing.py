"""The Regions page reads only the summary store (issue 11): for random filters (sources, waves,
regions, sexes, age groups, settlements, institution sets, delivered or calibrated weights) the
regions' standing (estimates, SEs, CIs, rank intervals from the same seeded draws, raw and Holm
p-values, groups, the rake-aware contrasts) and the cross-tabs by sex, age group and settlement
from summaries equal the raw-row path to 1e-9 relative, on SQLite and PostgreSQL; and the page
draws in kk, ru and en with the survey-row loader forbidden."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete

import dashboard.data
from dashboard.i18n import LANGUAGES, translate
from queries.db import engine_for, make_engine
from queries.errors import SenimError
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters, apply_filters
from queries.metrics.inference import (
    Standing,
    rank_intervals,
    weighted_by_group,
    weighted_standing,
)
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from queries.summaries.memory import load_snapshot
from queries.summaries.standing import groups_from_summaries, latest_wave, standing_from_summaries
from tests.apptest_helpers import DEFAULT_SOURCE, use_database, view
from tests.test_summaries import SLOW, SOURCES, assert_same_frame, close, filters_strategy
from tests.test_summaries_calibrated import calibrating, loaded  # noqa: F401 (fixtures)

BY = ("sex", "age_group", "settlement")
WEIGHTS = ("delivered", "calibrated")


def any_weights() -> st.SearchStrategy[Filters]:
    return st.tuples(filters_strategy(), st.sampled_from(WEIGHTS)).map(
        lambda pair: dataclasses.replace(pair[0], weights=pair[1])
    )


def assert_same_standing(raw: Standing, summed: Standing) -> None:
    assert_same_frame(raw.regions, summed.regions, "regions")
    assert close(raw.national, summed.national), (raw.national, summed.national)
    for field in ("tested", "draws", "seed", "weights", "uncalibrated_waves"):
        assert getattr(raw, field) == getattr(summed, field), field


def page_waves(data, filters: Filters, source: str) -> list[str]:
    """The waves of ``source`` the selection keeps, in time order (the page shows the last)."""
    own = apply_filters(data.responses, filters).filter(pl.col("source") == source)
    return own.sort("period_start").get_column("wave").unique(maintain_order=True).to_list()


@pytest.mark.slow
def test_standing_and_cross_tabs_from_summaries_equal_the_rows(calibrating):  # noqa: F811
    data = load_dataset(calibrating)
    snapshot = load_snapshot(calibrating)  # one per data version, as the dashboard keeps it

    @given(
        filters=any_weights(),
        source=st.sampled_from(SOURCES),
        pick=st.integers(0, 9),
        by=st.sampled_from(BY),
    )
    @SLOW
    def same(filters: Filters, source: str, pick: int, by: str) -> None:
        try:
            waves = page_waves(data, filters, source)
        except SenimError as exc:  # an unknown wave label: the same message
            with pytest.raises(SenimError) as caught:
                latest_wave(snapshot.strata, filters, source)
            assert str(caught.value) == str(exc)
            return
        shown = latest_wave(snapshot.strata, filters, source)
        assert shown == (waves[-1] if waves else None)
        if not waves:
            return
        wave = waves[-1 - pick % len(waves)]  # mostly the page's wave, earlier ones too
        try:
            raw = weighted_standing(data, filters, source, wave)
        except SenimError as exc:  # e.g. an institution no wave asked about
            with pytest.raises(SenimError) as caught:
                standing_from_summaries(snapshot, filters, source, wave)
            assert str(caught.value).split(";")[0] == str(exc).split(";")[0]
            return
        assert_same_standing(raw, standing_from_summaries(snapshot, filters, source, wave))
        rows = weighted_by_group(data, filters, source, wave, by)
        summed = groups_from_summaries(snapshot, filters, source, wave, by)
        assert_same_frame(rows.estimates, summed.estimates, by)
        assert (rows.weights, rows.uncalibrated_waves) == (
            summed.weights,
            summed.uncalibrated_waves,
        )

    same()


def test_the_calibrated_standing_and_cross_tabs_come_from_the_store(calibrating):  # noqa: F811
    """The 2025 wave is raked (uploaded margins): the contrasts are tested rake-aware, the
    numbers equal the rows', and raking's "unknown" category (a missing sex) is no bar."""
    data, snapshot = load_dataset(calibrating), load_snapshot(calibrating)
    source, wave = SOURCES[0], "2025-Q2"
    raw = weighted_standing(data, Filters(), source, wave)
    summed = standing_from_summaries(snapshot, Filters(), source, wave)
    assert summed.weights == "calibrated" and summed.uncalibrated_waves == ()
    assert summed.tested == summed.regions.height > 1
    assert_same_standing(raw, summed)
    delivered = standing_from_summaries(snapshot, Filters(weights="delivered"), source, wave)
    assert not delivered.regions.get_column("p_value").equals(summed.regions["p_value"])
    for by, known in (("sex", {"male", "female"}), ("settlement", {"urban", "rural"})):
        made = groups_from_summaries(snapshot, Filters(), source, wave, by)
        assert made.weights == "calibrated"
        assert set(made.estimates.get_column(by)) == known
        assert_same_frame(
            weighted_by_group(data, Filters(), source, wave, by).estimates, made.estimates, by
        )


@given(
    estimates=st.lists(st.floats(0, 10), min_size=1, max_size=22),
    se=st.floats(0.001, 2),
    seed=st.integers(0, 2**32 - 1),
    draws=st.sampled_from((1, 2, 3, 40, 999, 10_000)),
)
@SLOW
def test_rank_intervals_are_numpy_quantiles_of_the_simulated_ranks(estimates, se, seed, draws):
    """The counting shortcut (each page's filter change pays the ranks) gives exactly the
    ranks' inverted-CDF quantiles that sorting every region's simulated ranks gives."""
    frame = pl.DataFrame(
        {"region": [f"R{i:02d}" for i in range(len(estimates))], "estimate": estimates,
         "se": [se * (1 + i % 3) for i in range(len(estimates))]}
    )  # fmt: skip
    made = rank_intervals(frame, key="region", draws=draws, seed=seed)
    est, ses = frame["estimate"].to_numpy(), frame["se"].to_numpy()
    simulated = np.random.default_rng(seed).normal(est, ses, size=(draws, len(est)))
    ranks = (-simulated).argsort(axis=1, kind="stable").argsort(axis=1, kind="stable") + 1
    tail = (1 - 0.95) / 2  # the default level's tails, as computed there (not exactly 0.025)
    for column, q in (("rank_low", tail), ("rank_high", 1 - tail)):
        expected = np.quantile(ranks, q, axis=0, method="inverted_cdf").astype(int).tolist()
        assert made[column].to_list() == expected, column


# --- the page (AppTest, the shared demo database) -------------------------------------------


@pytest.fixture
def app(demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=False)
    return demo_url


def forbid_rows(monkeypatch) -> None:
    def refuse(engine):
        raise AssertionError("the Regions page loaded the survey rows")

    monkeypatch.setattr(dashboard.data, "load_dataset", refuse)


def expected_ranks(url: str, filters: Filters) -> list[str]:
    data = load_dataset(engine_for(url))
    wave = page_waves(data, filters, DEFAULT_SOURCE)[-1]
    standing = weighted_standing(data, filters, DEFAULT_SOURCE, wave)
    ranked = standing.regions.filter(pl.col("rank").is_not_null())
    return [
        f"{r} ({lo}–{hi})" for r, lo, hi in ranked.select("rank", "rank_low", "rank_high").rows()
    ]


def shown_ranks(at, lang: str) -> list[str]:
    column = at.dataframe[0].value[translate("regions.col_rank", lang)].tolist()
    return [value for value in column if isinstance(value, str)]  # unranked: empty


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_regions_page_draws_from_summaries_without_loading_rows(app, monkeypatch, lang):
    filters = Filters(sexes=("female",), wave_to="2024-Q4")  # 2024: raked to region totals
    expected = expected_ranks(app, filters)
    forbid_rows(monkeypatch)
    at = view("regions", lang, params={"sex": "female", "wave_to": "2024-Q4"})
    assert not at.exception, at.exception
    assert shown_ranks(at, lang) == expected
    assert len(at.get("plotly_chart")) >= 6  # map, ranking, profile (2), three cross-tabs
    keys = re.compile(r"\b[a-z]+\.[a-z]+_[a-z_]+\b")  # an untranslated key, e.g. regions.group_x
    assert not [c.value for c in at.caption if keys.search(c.value)]


def test_delivered_weights_and_a_filter_change_stay_on_summaries(app, monkeypatch):
    expected = expected_ranks(app, Filters(weights="delivered", settlements=("rural",)))
    forbid_rows(monkeypatch)
    at = view("regions", params={"weights": "delivered"})
    assert not at.exception, at.exception
    at.multiselect(key="f_settlement").set_value(["rural"]).run()
    assert not at.exception, at.exception
    assert shown_ranks(at, "en") == expected


def test_another_institution_set_stays_off_the_survey_rows(app, monkeypatch):
    """A composite over a chosen set of institutions (not a stored variable) still draws
    without the dataset, with the raw path's ranks."""
    filters = Filters(institutions=("police", "courts"))
    expected = expected_ranks(app, filters)
    forbid_rows(monkeypatch)
    at = view("regions", params={"institution": ["police", "courts"]})
    assert not at.exception, at.exception
    assert shown_ranks(at, "en") == expected


def test_an_incomplete_store_falls_back_to_the_rows(app):
    expected = expected_ranks(app, Filters())
    with make_engine(app).begin() as conn:  # as after upgrading an older database
        for table in (summary_cells, summary_strata, summary_variables):
            conn.execute(delete(table))
    at = view("regions")
    assert not at.exception, at.exception
    assert shown_ranks(at, "en") == expected
