"""Trust, participation, feedback and trend metrics on a small frame worked out by hand.

Wave W1: four respondents with weights 1, 1, 2, 2, each repeated ten times (so n = 40 clears the
small-sample rule without changing any weighted mean); wave W2: forty identical respondents."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from queries.metrics.feedback import feedback_survey
from queries.metrics.overview import headline_cards
from queries.metrics.participation import participation_shares
from queries.metrics.trend import metric_trend
from queries.metrics.trust import trust_summary

W1 = {
    "weight": [1.0, 1.0, 2.0, 2.0],
    "trust_government": [2.0, 4.0, 6.0, 8.0],
    "trust_police": [0.0, 10.0, 5.0, 5.0],
    "state_listens": [4.0, 6.0, 5.0, 2.0],
    "participated_consultation": [True, False, True, False],
    "submitted_proposal": [True, True, False, True],
    "received_response": [True, False, None, True],
    "response_satisfaction": [8.0, None, None, 6.0],
    "ngo_involvement": [False, False, True, True],
}


def frame() -> pl.DataFrame:
    w1 = pl.DataFrame(W1).with_columns(wave=pl.lit("W1"), period_start=dt.date(2025, 1, 1))
    w1 = pl.concat([w1] * 10)
    w2 = pl.DataFrame({k: [v[0]] * 40 for k, v in W1.items()}).with_columns(
        pl.lit(7.0).alias("trust_government"), wave=pl.lit("W2"), period_start=dt.date(2025, 7, 1)
    )
    both = pl.concat([w1, w2])
    return both.with_columns(
        source=pl.lit("kurultai"),
        region=pl.lit("KZ-75"),
        stratum=pl.concat_str(pl.lit("kurultai|"), "wave", pl.lit("|KZ-75")),
    )


def one(frame_: pl.DataFrame, **where) -> dict:
    return frame_.filter(**where).row(0, named=True)


def test_trust_means_composite_and_oecd_split():
    out = trust_summary(frame().filter(pl.col("wave") == "W1"))
    assert one(out, institution="government", measure="mean")["estimate"] == pytest.approx(34 / 6)
    assert one(out, institution="police", measure="mean")["estimate"] == pytest.approx(30 / 6)
    # per-respondent composite 1, 7, 5.5, 6.5 -> weighted (1 + 7 + 11 + 13) / 6
    composite = one(out, institution="composite", measure="mean")
    assert composite["estimate"] == pytest.approx(32 / 6) and composite["n"] == 40
    # rounded half up: 1 low, 7 high, 6 high, 7 high
    assert one(out, institution="composite", measure="share_high")["estimate"] == pytest.approx(
        5 / 6
    )
    assert one(out, institution="composite", measure="share_low")["estimate"] == pytest.approx(
        1 / 6
    )
    assert one(out, institution="composite", measure="share_neutral")["estimate"] == 0


def test_participation_shares():
    out = participation_shares(frame().filter(pl.col("wave") == "W1"))
    assert one(out, variable="participated_consultation")["estimate"] == pytest.approx(3 / 6)
    assert one(out, variable="submitted_proposal")["estimate"] == pytest.approx(4 / 6)
    assert one(out, variable="ngo_involvement")["estimate"] == pytest.approx(4 / 6)


def test_feedback_loop_as_citizens_see_it():
    out = feedback_survey(frame().filter(pl.col("wave") == "W1"))
    assert one(out, variable="state_listens")["estimate"] == pytest.approx((4 + 6 + 10 + 4) / 6)
    # proposers: weights 1 (got one), 1 (did not), 2 (got one) -> 3 / 4
    got = one(out, variable="got_response")
    assert got["estimate"] == pytest.approx(3 / 4) and got["n"] == 30
    # among those who got a response: 8 (weight 1) and 6 (weight 2) -> 20 / 3
    satisfaction = one(out, variable="satisfaction")
    assert satisfaction["n"] == 20 and satisfaction["suppressed"]  # fewer than 30 answers...
    assert satisfaction["estimate"] is None and satisfaction["se"] is None  # ...never a number
    doubled = pl.concat([frame().filter(pl.col("wave") == "W1")] * 2)
    satisfaction = one(feedback_survey(doubled), variable="satisfaction")
    assert satisfaction["estimate"] == pytest.approx(20 / 3) and satisfaction["n"] == 40


def by_hand_se(values: np.ndarray, weights: np.ndarray) -> float:
    """One stratum, Taylor linearisation: sqrt(n/(n-1) * sum((z - mean z)^2))."""
    ratio = np.sum(weights * values) / np.sum(weights)
    z = weights * (values - ratio) / np.sum(weights)
    n = len(z)
    return float(np.sqrt(n / (n - 1) * np.sum((z - z.mean()) ** 2)))


def test_trend_change_its_se_and_significance():
    out = metric_trend(frame(), {"gov": pl.col("trust_government")}).sort("period_start")
    first, second = out.row(0, named=True), out.row(1, named=True)
    se1 = by_hand_se(np.tile(W1["trust_government"], 10), np.tile(W1["weight"], 10))
    assert first["se"] == pytest.approx(se1)
    # t interval with the design df, 40 respondents - 1 stratum (R: qt(0.975, 39)); issue 12
    assert first["ci_low"] == pytest.approx(34 / 6 - 2.0226909 * se1, rel=1e-6)
    assert second["estimate"] == 7 and second["se"] == pytest.approx(0)
    assert second["previous_wave"] == "W1"
    assert second["change"] == pytest.approx(7 - 34 / 6)
    assert second["change_se"] == pytest.approx(se1)  # independent waves: sqrt(se1² + 0²)
    assert second["significant"] is True and second["p_value"] < 0.05


def test_headline_cards_take_the_latest_wave_and_its_change():
    empty = pl.DataFrame()
    cards = headline_cards(frame(), empty, empty)
    government = one(cards, card="trust_government")
    assert (government["wave"], government["previous_wave"]) == ("W2", "W1")
    assert government["estimate"] == 7 and government["previous"] == pytest.approx(34 / 6)
    assert government["significant"] is True
    participation = one(cards, card="participation")
    assert participation["kind"] == "share" and participation["estimate"] == 1.0
    assert cards.get_column("card").to_list() == [
        "composite_trust",
        "trust_government",
        "state_listens",
        "participation",
    ]
