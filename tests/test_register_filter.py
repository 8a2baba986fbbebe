"""One register filter for every page: the Overview's 30-day card and the Feedback page's rate
are the same number for the same filters (regions and sources), worked out by hand."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import polars as pl
import pytest

from queries.metrics.filters import Filters
from queries.metrics.overview import overview_numbers
from queries.metrics.register import register_numbers, register_rows

D = dt.date
# (id, source, region, submitted, answered): as of 2025-12-01 every one is older than 30 days
ROWS = [
    ("a", "eotinish", "KZ-75", D(2025, 3, 1), D(2025, 3, 11)),  # 10 days
    ("b", "eotinish", "KZ-75", D(2025, 4, 1), D(2025, 6, 1)),  # 61 days
    ("c", "kurultai", "KZ-75", D(2025, 5, 1), D(2025, 5, 2)),  # 1 day
    ("d", "kurultai", "KZ-71", D(2025, 6, 1), None),  # open
    ("e", "kurultai", None, D(2025, 12, 1), D(2025, 12, 1)),  # national; as_of
]


def data() -> SimpleNamespace:
    proposals = pl.DataFrame(
        ROWS,
        schema=["proposal_id", "source", "region", "submitted_on", "answered_on"],
        orient="row",
    ).with_columns(
        status=pl.when(pl.col("answered_on").is_null()).then(pl.lit("received"))
        .otherwise(pl.lit("answered")),
        topic=pl.lit("education"), implemented_on=pl.lit(None, pl.Date),
    )  # fmt: skip
    no_responses = pl.DataFrame(
        schema={c: pl.String for c in ("source", "wave", "region", "sex", "age_group",
                                        "settlement", "stratum")}
        | {"period_start": pl.Date, "weight": pl.Float64}
    )  # fmt: skip
    return SimpleNamespace(responses=no_responses, proposals=proposals, ngo=pl.DataFrame())


@pytest.mark.parametrize(
    ("filters", "ids", "answered", "n"),
    [
        # as of the latest submission kept: 2025-12-01, so e is too young; a and c within 30 days
        (Filters(), "abcde", 2, 4),
        # as of 2025-05-01: a and b are 30+ days old; b was answered after that date
        (Filters(regions=("KZ-75",)), "abc", 1, 2),
        # as of 2025-12-01: c (1 day) and d (open)
        (Filters(sources=("kurultai",)), "cde", 1, 2),
        # as of 2025-04-01: only a is 30+ days old, answered in 10 days
        (Filters(regions=("KZ-75",), sources=("eotinish",)), "ab", 1, 1),
    ],
)
def test_overview_card_and_feedback_rate_agree(filters, ids, answered, n):
    frame = register_rows(data().proposals, filters)
    assert "".join(sorted(frame.get_column("proposal_id"))) == ids
    register = register_numbers(data(), filters)
    rate = register.answer_rate_30
    assert (rate.item(0, "answered"), rate.item(0, "n")) == (answered, n)
    cards = overview_numbers(data(), filters, "kurultai").cards
    card = cards.filter(pl.col("card") == "answered_30").row(0, named=True)
    assert card["estimate"] == pytest.approx(answered / n)
    assert card["n"] == n


def test_days_to_answer_are_the_registers_own():
    register = register_numbers(data(), Filters())
    assert register.days_to_answer.rows() == [(0, 1), (1, 1), (10, 1), (61, 1)]
    assert register.times.item(0, "days_to_answer_median") == pytest.approx(5.5)
    assert register.backlog.item(0, "open") == 1
