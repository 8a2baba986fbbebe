"""What drives trust (issue 12, point 7): the model's columns coded as documented, coefficients
equal to a weighted least-squares fit written out with numpy, the subgroup as a domain, no model
below 200 respondents, Holm over the terms read out."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from queries.metrics.drivers import driver_frame, trust_drivers

N = 480


def responses(seed: int = 7) -> pl.DataFrame:
    """Two strata; trust built from the predictors plus noise, so every coefficient is known
    roughly and the fit is checked exactly against numpy."""
    rng = np.random.default_rng(seed)
    listens = rng.integers(0, 11, N).astype(float)
    got = rng.choice([True, False, None], N, p=[0.3, 0.5, 0.2])
    satisfaction = np.where(got == True, rng.integers(0, 11, N), None)  # noqa: E712
    participated = rng.random(N) < 0.4
    ngo = rng.random(N) < 0.2
    sex = rng.choice(["female", "male"], N)
    age = rng.choice(["18-29", "30-44", "45-59", "60+"], N)
    settlement = rng.choice(["urban", "rural"], N)
    noise = rng.normal(0, 1, N)
    sat = np.where(got == True, np.array(satisfaction, dtype=float) - 5, 0.0)  # noqa: E712
    trust = 2 + 0.4 * listens + 0.8 * (got == True) + 0.2 * sat + 0.5 * participated + noise  # noqa: E712
    return pl.DataFrame(
        {
            "trust_government": trust,
            "trust_police": trust - 1,
            "state_listens": listens,
            "received_response": pl.Series(got.tolist(), dtype=pl.Boolean),
            "response_satisfaction": pl.Series(satisfaction.tolist(), dtype=pl.Float64),
            "participated_consultation": participated,
            "ngo_involvement": ngo,
            "sex": sex,
            "age_group": age,
            "settlement": settlement,
            "weight": rng.uniform(0.5, 2.0, N),
            "stratum": np.where(np.arange(N) % 2 == 0, "ptc|W1|KZ-75", "ptc|W1|KZ-71"),
        }
    )


def wls(frame: pl.DataFrame, columns: list[str]) -> np.ndarray:
    """Coefficients of y on the columns (plus an intercept), weights ``weight``."""
    x = np.column_stack([np.ones(frame.height), *(frame[c].to_numpy() for c in columns)])
    w = frame["weight"].to_numpy()
    return np.linalg.solve(x.T @ (x * w[:, None]), x.T @ (w * frame["y"].to_numpy()))


def by_hand(frame: pl.DataFrame) -> pl.DataFrame:
    """The documented coding, written out again: blank 'received' = no; satisfaction - 5."""
    got = frame["received_response"].fill_null(False)
    sat = pl.Series([s - 5 if g else 0.0 for g, s in zip(got, frame["response_satisfaction"],
                                                          strict=True)])  # fmt: skip
    return pl.DataFrame(
        {
            "y": frame["trust_government"],
            "state_listens": frame["state_listens"],
            "got_response": got.cast(pl.Float64),
            "satisfaction": sat,
            "participated": frame["participated_consultation"].cast(pl.Float64),
            "ngo": frame["ngo_involvement"].cast(pl.Float64),
            "sex_male": (frame["sex"] == "male").cast(pl.Float64),
            "age_group_30_44": (frame["age_group"] == "30-44").cast(pl.Float64),
            "age_group_45_59": (frame["age_group"] == "45-59").cast(pl.Float64),
            "age_group_60_plus": (frame["age_group"] == "60+").cast(pl.Float64),
            "settlement_urban": (frame["settlement"] == "urban").cast(pl.Float64),
            "weight": frame["weight"],
        }
    ).drop_nulls()


def test_coefficients_are_the_weighted_least_squares_fit_of_the_documented_coding():
    frame = responses()
    out = trust_drivers(frame)
    assert out.fitted and out.dropped == ()
    hand = by_hand(frame)
    keys = out.terms["key"].to_list()
    assert keys == hand.columns[1:-1]
    assert out.terms["estimate"].to_list() == pytest.approx(wls(hand, keys)[1:], rel=1e-9)
    assert out.n == hand.height
    listens = out.terms.row(0, named=True)
    assert listens["ci_low"] < 0.4 < listens["ci_high"] and listens["kind"] == "per_point"
    refs = dict(zip(out.terms["key"], out.terms["reference"], strict=True))
    assert refs["sex_male"] == "female" and refs["age_group_60_plus"] == "18_29"
    assert refs["got_response"] == "got_response" and refs["state_listens"] is None


def test_a_blank_received_response_counts_as_no_response():
    frame = (
        responses()
        .head(4)
        .with_columns(
            received_response=pl.Series([None, True, False, True]),
            response_satisfaction=pl.Series([9.0, 7.0, None, None]),
        )
    )
    coded = driver_frame(frame, outcome="trust_government")
    assert coded["got_response"].to_list()[:3] == [0.0, 1.0, 0.0]
    assert coded["satisfaction"].to_list()[:3] == [0.0, 2.0, 0.0]
    assert coded["y"][3] is None  # got one but no satisfaction answer: out of the model


def test_the_subgroup_is_a_domain_and_a_fixed_category_is_dropped():
    frame = responses().with_columns(in_domain=pl.col("sex") == "female")
    out = trust_drivers(frame)
    assert out.dropped == ("sex",)
    hand = by_hand(frame.filter(pl.col("in_domain"))).drop("sex_male")
    assert out.n == hand.height < N
    keys = out.terms["key"].to_list()
    assert out.terms["estimate"].to_list() == pytest.approx(wls(hand, keys)[1:], rel=1e-9)


def test_the_composite_outcome_is_the_mean_of_the_items():
    frame = responses()
    out = trust_drivers(frame, outcome="composite_trust")
    hand = by_hand(frame).with_columns(y=pl.col("y") - 0.5)  # mean of trust and trust - 1
    keys = out.terms["key"].to_list()
    assert out.terms["estimate"].to_list() == pytest.approx(wls(hand, keys)[1:], rel=1e-9)


def test_no_model_below_200_respondents():
    out = trust_drivers(responses().head(250).with_columns(in_domain=pl.int_range(250) < 190))
    assert not out.fitted and out.reason == "too_few"
    assert out.n == by_hand(responses().head(190)).height < 200
    assert out.terms.is_empty()


def test_the_drivers_read_out_are_holm_corrected_over_the_terms():
    terms = trust_drivers(responses()).terms
    p = terms["p"].to_numpy()
    m = len(p)
    order = np.argsort(p)
    expected = np.empty(m)
    expected[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1)
    assert terms["p_adjusted"].to_list() == pytest.approx(expected.tolist())
    assert terms["significant"].to_list() == (expected < 0.05).tolist()


def test_an_unknown_outcome_is_a_clear_error():
    from queries.errors import SenimError

    with pytest.raises(SenimError, match="Unknown outcome"):
        trust_drivers(responses(), outcome="happiness")
