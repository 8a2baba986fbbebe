"""Raking (IPF) and post-stratification on tiny samples whose answers are worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from queries.errors import SenimError
from queries.survey.raking import poststratify, rake


def sample() -> pl.DataFrame:
    # sex x place: (f, city) 2 people, (m, city) 1, (f, rural) 1, (m, rural) 2; all weights 1
    return pl.DataFrame(
        {
            "sex": ["f", "f", "m", "f", "m", "m"],
            "place": ["city", "city", "city", "rural", "rural", "rural"],
            "weight": [1.0] * 6,
        }
    )


def test_raking_converges_to_every_margin_and_keeps_the_original_weight():
    margins = {"sex": {"f": 50.0, "m": 50.0}, "place": {"city": 60.0, "rural": 40.0}}
    result = rake(sample(), margins, out="raked", tol=1e-10)
    w = result.frame
    for column, targets in margins.items():
        sums = dict(w.group_by(column).agg(pl.col("raked").sum()).iter_rows())
        assert sums == pytest.approx(targets, rel=1e-9)
    assert w["weight"].to_list() == [1.0] * 6  # ``out`` leaves the input weight alone
    assert result.max_error < 1e-10 and 1 < result.iterations < 100
    # The fixed point by hand: IPF keeps the starting odds ratio (2*2)/(1*1) = 4 of the cell
    # totals A (f,city), B (m,city), C (f,rural), D (m,rural). With A = x: B = 60 - x,
    # C = 50 - x, D = x - 10 and x(x - 10) = 4(60 - x)(50 - x), i.e. 3x² - 430x + 12000 = 0,
    # x = (430 - sqrt(40900)) / 6; the two city women share it.
    x = (430 - 40900**0.5) / 6
    city_f = w.filter((pl.col("sex") == "f") & (pl.col("place") == "city"))["raked"]
    assert city_f.to_list() == pytest.approx([x / 2, x / 2], rel=1e-8)
    rural_m = w.filter((pl.col("sex") == "m") & (pl.col("place") == "rural"))["raked"]
    assert rural_m.to_list() == pytest.approx([(x - 10) / 2] * 2, rel=1e-8)


def test_one_margin_is_post_stratification_in_one_step():
    result = rake(sample(), {"sex": {"f": 30.0, "m": 90.0}})
    assert result.iterations == 1
    assert result.frame.filter(pl.col("sex") == "f")["weight"].to_list() == pytest.approx(
        [10.0] * 3
    )
    assert result.frame.filter(pl.col("sex") == "m")["weight"].to_list() == pytest.approx(
        [30.0] * 3
    )


def test_an_empty_margin_cell_is_a_clear_error():
    with pytest.raises(SenimError, match=r"Raking margin place='steppe' has no respondents"):
        rake(sample(), {"place": {"city": 50.0, "rural": 40.0, "steppe": 10.0}})


def test_a_respondent_category_without_margin_is_a_clear_error():
    with pytest.raises(SenimError, match=r"Respondents with sex='m' have no population margin"):
        rake(sample(), {"sex": {"f": 100.0}})


def test_inconsistent_margins_are_refused():
    with pytest.raises(SenimError, match="do not add up to the same population total"):
        rake(sample(), {"sex": {"f": 50.0, "m": 50.0}, "place": {"city": 60.0, "rural": 60.0}})
    with pytest.raises(SenimError, match=r"sex='m': the population total must be > 0"):
        rake(sample(), {"sex": {"f": 100.0, "m": 0.0}})
    with pytest.raises(SenimError, match="'age' is not in the data"):
        rake(sample(), {"age": {"18-29": 1.0}})


def test_margins_that_cannot_be_met_do_not_converge():
    # Women live only in the city and men only in the village here, so "60% city" and
    # "50% women" contradict each other: IPF oscillates and must say so.
    split = pl.DataFrame({"sex": ["f", "m"], "place": ["city", "rural"], "weight": [1.0, 1.0]})
    margins = {"sex": {"f": 50.0, "m": 50.0}, "place": {"city": 60.0, "rural": 40.0}}
    with pytest.raises(SenimError, match=r"did not converge in 20 iterations"):
        rake(split, margins, max_iter=20)


def test_poststratify_cells_and_their_errors():
    cells = pl.DataFrame(
        {
            "sex": ["f", "f", "m", "m"],
            "place": ["city", "rural", "city", "rural"],
            "population": [40.0, 10.0, 20.0, 30.0],
        }
    )
    out = poststratify(sample(), cells)
    # (f, city) has 2 respondents for 40 people -> 20 each; (m, rural) 2 for 30 -> 15 each
    assert out["weight"].to_list() == pytest.approx([20.0, 20.0, 20.0, 10.0, 15.0, 15.0])
    with pytest.raises(SenimError, match=r"cell sex='m', place='rural' has no respondents"):
        poststratify(sample().head(4), cells)
    with pytest.raises(SenimError, match=r"cell sex='m', place='rural' have no population"):
        poststratify(sample(), cells.head(3))
