"""The drivers model from sums per pattern (``queries.survey.patterns``, issue 11): the rows of a
stratum with the same predictors, summed, give the fit on the rows to 1e-9, with delivered
weights on a sample of strata and with raked weights (rake-aware SEs); a subgroup that splits
a pattern, or a pattern across raking cells, is fitted on the rows; on the demo's latest wave
there are far fewer patterns than respondents and the page's model is the rows' model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from queries.db import engine_for
from queries.errors import SenimError
from queries.metrics.driver_columns import DriverColumns, driver_columns
from queries.metrics.drivers import Drivers, trust_drivers_in
from queries.metrics.filters import Filters
from queries.summaries.memory import load_snapshot
from queries.summaries.rows import wave_answers
from queries.summaries.standing import latest_wave
from queries.survey.calibration import calibrated_weights, category_codes, rake_projection
from queries.survey.regression import collinear
from tests.test_metrics_drivers import responses

REGIONS = ("KZ-71", "KZ-75", "KZ-11")
EVERYONE = (set(), set(), set(), set())  # no filter: a fitted model


def close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)


def on_rows(columns: DriverColumns) -> DriverColumns:
    """The same sample with no patterns: the fit reads its rows."""
    return replace(columns, kept={"patterns": None})


def assert_same(got: Drivers, want: Drivers) -> None:
    assert (got.n, got.df, got.dropped, got.reason) == (want.n, want.df, want.dropped, want.reason)
    assert got.terms.select("key", "kind", "reference", "significant").equals(
        want.terms.select("key", "kind", "reference", "significant")
    )
    for column in ("estimate", "se", "ci_low", "ci_high", "p", "p_adjusted"):
        for a, b in zip(got.terms[column], want.terms[column], strict=True):
            assert close(a, b), (column, a, b)


def sample(seed: int) -> pl.DataFrame:
    """Three regions' strata of one wave (raking margins: region, sex, age group)."""
    frame = pl.concat([responses(seed), responses(seed + 1), responses(seed + 2)])
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, frame.height)
    return frame.with_columns(
        region=pl.Series(region), stratum=pl.Series([f"ptc|W1|{r}" for r in region])
    )


def raked(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[np.ndarray]]:
    margins = {  # each adds up to 12,000
        "region": dict(zip(REGIONS, (2000.0, 4000.0, 6000.0), strict=True)),
        "sex": {"female": 6500.0, "male": 5500.0},
        "age_group": {"18-29": 2000.0, "30-44": 3000.0, "45-59": 3000.0, "60+": 4000.0},
    }
    frame = calibrated_weights(frame, margins, weight="weight", out="weight")
    return frame, [category_codes(frame, m) for m in margins]


filters = st.tuples(
    st.sets(st.sampled_from(REGIONS)),
    st.sets(st.sampled_from(("female", "male"))),
    st.sets(st.sampled_from(("18-29", "30-44", "45-59", "60+"))),
    st.sets(st.sampled_from(("urban", "rural"))),
)


def cut(frame: pl.DataFrame, chosen: tuple[set, ...]) -> np.ndarray:
    keep = pl.lit(True)
    for column, values in zip(("region", "sex", "age_group", "settlement"), chosen, strict=True):
        if values:
            keep &= pl.col(column).is_in(list(values))
    return frame.select(keep.alias("k")).get_column("k").to_numpy()


@settings(max_examples=40, deadline=None)
@example(chosen=EVERYONE, seed=1, outcome="trust_government")
@example(chosen=EVERYONE, seed=2, outcome="composite_trust")
@given(chosen=filters, seed=st.integers(0, 10_000), outcome=st.sampled_from(["trust_government",
       "composite_trust"]))  # fmt: skip
def test_patterns_fit_as_the_rows_with_delivered_weights(chosen, seed, outcome):
    frame = sample(seed)
    columns = driver_columns(frame, outcome=outcome)
    keep = cut(frame, chosen)
    regions = cut(frame, (chosen[0], set(), set(), set())) if chosen[0] else None
    got = trust_drivers_in(columns, keep=keep, outcome=outcome, sample=regions, min_n=50)
    want = trust_drivers_in(on_rows(columns), keep=keep, outcome=outcome, sample=regions,
                            min_n=50)  # fmt: skip
    assert columns.kept["patterns"] is not None
    assert len(columns.kept.get("sums", [])) == got.fitted  # summed once, when fitted
    assert_same(got, want)


@settings(max_examples=40, deadline=None)
@example(chosen=EVERYONE, seed=3)
@given(chosen=filters, seed=st.integers(0, 10_000))
def test_patterns_fit_as_the_rows_with_raked_weights(chosen, seed):
    frame, codes = raked(sample(seed))
    columns = driver_columns(frame, outcome="trust_government")
    projection = rake_projection(weights=columns.weight, margins=codes)
    keep = cut(frame, chosen)
    got = trust_drivers_in(columns, keep=keep, outcome="trust_government", raked_on=projection,
                           min_n=50)  # fmt: skip
    want = trust_drivers_in(on_rows(columns), keep=keep, outcome="trust_government",
                            raked_on=projection, min_n=50)  # fmt: skip
    assert columns.kept["cells"] == (projection, True)
    assert len(columns.kept.get("sums", [])) == got.fitted
    assert_same(got, want)


def test_a_subgroup_splitting_a_pattern_is_fitted_on_the_rows():
    frame = sample(5)
    columns = driver_columns(frame, outcome="trust_government")
    keep = np.random.default_rng(5).random(frame.height) < 0.8  # not a union of patterns
    got = trust_drivers_in(columns, keep=keep, outcome="trust_government")
    want = trust_drivers_in(on_rows(columns), keep=keep, outcome="trust_government")
    assert got.terms.equals(want.terms)  # bit for bit: the same arithmetic


def test_patterns_across_raking_cells_are_fitted_on_the_rows():
    frame, codes = raked(sample(6))
    columns = driver_columns(frame, outcome="trust_government")
    # a margin that cuts across patterns (by row parity): no pattern lies in one cell
    odd = np.arange(frame.height) % 2
    projection = rake_projection(weights=columns.weight, margins=[*codes, odd])
    keep = np.ones(frame.height, dtype=bool)
    got = trust_drivers_in(columns, keep=keep, outcome="trust_government", raked_on=projection)
    assert columns.kept["cells"] == (projection, False)
    want = trust_drivers_in(on_rows(columns), keep=keep, outcome="trust_government",
                            raked_on=projection)  # fmt: skip
    assert got.terms.equals(want.terms)


def test_raked_weights_with_a_sample_of_strata_take_the_rows():
    """The rows' fit refuses a projection made on another sample, in its own words (once it was
    called "collinear"); the patterns' would have ignored the sample."""
    frame, codes = raked(sample(7))
    columns = driver_columns(frame, outcome="trust_government")
    projection = rake_projection(weights=columns.weight, margins=codes)
    regions = cut(frame, ({"KZ-71", "KZ-75"}, set(), set(), set()))
    kept = {"keep": regions, "outcome": "trust_government", "sample": regions,
            "raked_on": projection}  # fmt: skip
    with pytest.raises(SenimError, match="other weights"):
        trust_drivers_in(columns, **kept)
    assert "sums" not in columns.kept  # no pattern was summed


@pytest.mark.parametrize("rows", [False, True])
def test_a_predictor_that_repeats_another_is_collinear(rows):
    """NGO involvement the same answer as taking part in a consultation: no unique fit, said as
    the reason (patterns and rows alike), not raised."""
    frame = sample(5).with_columns(ngo_involvement=pl.col("participated_consultation"))
    columns = driver_columns(frame, outcome="trust_government")
    columns = on_rows(columns) if rows else columns
    got = trust_drivers_in(columns, keep=np.ones(frame.height, dtype=bool),
                           outcome="trust_government")  # fmt: skip
    assert got.reason == "collinear" and got.terms.is_empty() and got.n > 0


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 60), p=st.integers(1, 5), copies=st.integers(1, 9),
       seed=st.integers(0, 2**31), kind=st.sampled_from(["random", "copy", "near"]))  # fmt: skip
def test_the_rank_test_of_patterns_answers_as_numpy_on_their_rows(n, p, copies, seed, kind):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=(n, p)).astype(float)
    if p > 1 and kind == "copy":
        x[:, -1] = 2 * x[:, 0]
    elif p > 1 and kind == "near":
        x[:, -1] = x[:, 0] + 10.0 ** -rng.integers(4, 16) * x[:, -1]
    counts = rng.integers(1, copies + 1, n)
    rows = np.repeat(x, counts, axis=0)
    assert collinear(x, counts) == (np.linalg.matrix_rank(rows) < p)


@pytest.mark.slow
def test_the_demo_waves_model_is_its_rows_model(demo_url):
    """The demo's latest wave with margins, whole and under a filter, delivered and raked: the
    model from its patterns' sums (made for those weights) is the model on its rows."""
    engine = engine_for(demo_url)
    snapshot = load_snapshot(engine)
    source = snapshot.strata.get_column("source").sort().first()
    wave = latest_wave(snapshot.strata, Filters(wave_to="2024-Q4"), source)  # 2024: margins
    answers = wave_answers(engine, source=source, wave=wave, institutions=("government",),
                           population=snapshot.population)  # fmt: skip
    columns = answers.driver_columns(outcome="trust_government", trust=("government",),
                                     institutions=())  # fmt: skip
    patterns = columns.patterns()
    assert patterns is not None and len(patterns.count) <= columns.valid.sum()
    projection = answers.raked.projection if answers.raked is not None else None
    for chosen in (Filters(), Filters(sexes=("female",), age_groups=("30-44", "45-59"))):
        keep = answers.in_filters(chosen)
        pairs = [(columns, None)]
        if projection is not None:
            pairs.append((columns.with_weights(answers.raked.weights.to_numpy()), projection))
        for made, rake in pairs:
            got = trust_drivers_in(made, keep=keep, outcome="trust_government", raked_on=rake,
                                   min_n=50)  # fmt: skip
            want = trust_drivers_in(on_rows(made), keep=keep, outcome="trust_government",
                                    raked_on=rake, min_n=50)  # fmt: skip
            assert got.fitted and any(np.array_equal(w, made.weight) for w, _ in made.kept["sums"])
            assert_same(got, want)
    assert projection is not None  # the raked model was checked too
