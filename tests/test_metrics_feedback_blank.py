"""Satisfaction with the response is measured among those who said they received one: a blank
"received a response" is not a yes (issue 12, point 4). Hand-made frame where it matters."""

from __future__ import annotations

import polars as pl
import pytest

from queries.metrics.feedback import feedback_survey

# (received_response, response_satisfaction, weight), each person repeated 20 times so that
# both groups clear the 30-respondent rule: the blank ones give a 0 that must not count.
PEOPLE = [(True, 9.0, 1.0), (True, 6.0, 2.0), (None, 0.0, 1.0), (False, None, 1.0)]


def frame() -> pl.DataFrame:
    rows = pl.DataFrame(
        PEOPLE, schema=["received_response", "response_satisfaction", "weight"], orient="row"
    )
    return pl.concat([rows] * 20).with_columns(
        state_listens=pl.lit(5.0),
        submitted_proposal=pl.lit(True),
        stratum=pl.lit("ptc|W1|KZ-75"),
    )


def test_a_blank_received_response_is_not_a_yes():
    satisfaction = (
        feedback_survey(frame()).filter(pl.col("variable") == "satisfaction").row(0, named=True)
    )
    # only the two "yes" people: (9·1 + 6·2) / 3 = 7; the blank's 0 would have made it 21/4
    assert satisfaction["estimate"] == pytest.approx(7.0)
    assert satisfaction["n"] == 40


def test_blank_and_no_are_left_out_of_got_a_response_too():
    got = feedback_survey(frame()).filter(pl.col("variable") == "got_response").row(0, named=True)
    # proposers with an answer: yes (1), yes (2), no (1) -> 3 / 4; the blank is not counted
    assert got["estimate"] == pytest.approx(3 / 4)
    assert got["n"] == 60
