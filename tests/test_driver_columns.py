"""The drivers model on arrays kept with a wave (``queries.metrics.driver_columns``): the fit on
them is exactly ``survey_regression``'s on the model's frame, a sample cut from the arrays is
exactly the model on that sample's frame, and the filters' mask from a wave's kept codes equals
``in_filters`` on its rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from queries.metrics.driver_columns import CATEGORIES, NUMERIC, driver_columns, driver_frame
from queries.metrics.drivers import trust_drivers, trust_drivers_in
from queries.metrics.filters import Filters
from queries.summaries.memory import load_snapshot
from queries.summaries.rows import in_filters
from queries.survey.regression import INTERCEPT, survey_regression
from tests.test_metrics_drivers import responses
from tests.test_summaries import SLOW, SOURCES, WAVES, filters_strategy, loaded  # noqa: F401
from tests.test_summaries_rows import keeper


def subgroup(seed: int) -> pl.DataFrame:
    frame = responses(seed)
    rng = np.random.default_rng(seed)
    return frame.with_columns(in_domain=pl.Series(rng.random(frame.height) < 0.8))


def test_the_fit_on_arrays_is_survey_regressions_on_the_frame():
    for seed, outcome in ((1, "trust_government"), (2, "composite_trust")):
        frame = subgroup(seed)
        got = trust_drivers(frame, outcome=outcome)
        coded = driver_frame(frame, outcome=outcome)
        want = survey_regression(coded, "y", [*NUMERIC, *CATEGORIES], weight="weight",
                                 strata="stratum").filter(pl.col("term") != INTERCEPT)  # fmt: skip
        assert got.fitted and got.n == want.item(0, "n") and got.df == want.item(0, "df")
        for column in ("estimate", "se", "ci_low", "ci_high", "p"):  # bit for bit
            assert got.terms[column].to_list() == want[column].to_list(), column


def test_a_sample_cut_from_the_arrays_is_the_model_on_its_frame():
    frame = pl.concat([subgroup(3), subgroup(4)])  # enough respondents in one stratum
    east = frame.get_column("stratum").str.ends_with("KZ-75")
    columns = driver_columns(frame, outcome="trust_government")
    keep = frame.get_column("in_domain").to_numpy() & east.to_numpy()
    got = trust_drivers_in(columns, keep=keep, outcome="trust_government", sample=east.to_numpy())
    want = trust_drivers(frame.filter(east))
    assert got.fitted and (got.n, got.df, got.dropped) == (want.n, want.df, want.dropped)
    assert got.terms.equals(want.terms)


def test_the_mask_from_a_waves_codes_is_in_filters(loaded):  # noqa: F811
    answers_of = keeper(loaded, load_snapshot(loaded))

    @given(filters=filters_strategy(), source=st.sampled_from(SOURCES), index=st.integers(0, 3))
    @SLOW
    def same(filters: Filters, source: str, index: int) -> None:
        answers = answers_of(source, WAVES[source][index % len(WAVES[source])])
        rows = answers.rows(["region", "sex", "age_group", "settlement"])
        want = rows.with_columns(keep=in_filters(filters)).get_column("keep").to_numpy()
        assert np.array_equal(answers.in_filters(filters), want), filters
        regions = rows.get_column("region").is_in(list(filters.regions)).fill_null(False)
        assert np.array_equal(answers.chosen("region", filters.regions), regions.to_numpy())

    same()
