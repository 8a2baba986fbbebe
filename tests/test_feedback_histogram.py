"""The Feedback page's days-to-answer chart is drawn from a histogram (issue 11): its size is the
range of days, not the number of answered proposals, its bars count every answered proposal,
and its axis stops where the values' 99th percentile says, as on the values themselves."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.components.charts import counted_quantile, histogram
from queries.metrics.filters import Filters
from queries.metrics.register import numbers_of, summarise_register

SCHEMA = {"proposal_id": pl.String, "source": pl.String, "region": pl.String,
          "topic": pl.String, "submitted_on": pl.Date, "status": pl.String,
          "answered_on": pl.Date, "implemented_on": pl.Date}  # fmt: skip
HISTOGRAMS = st.dictionaries(st.integers(0, 400), st.integers(1, 50), max_size=30)


@given(hist=HISTOGRAMS, q=st.one_of(st.just(0.99), st.floats(0, 1)))
@settings(max_examples=300, deadline=None)
def test_the_quantile_of_counts_is_polars_quantile_of_the_values(hist, q):
    days = sorted(hist)
    counts = [hist[d] for d in days]
    values = pl.Series([d for d in days for _ in range(hist[d])], dtype=pl.Int64)
    assert counted_quantile(days, counts, q) == values.quantile(q)


def _register(answered: int) -> pl.DataFrame:
    """``answered`` proposals answered after 0..9 days, and 5 still open."""
    start = dt.date(2025, 1, 1)
    rows = [(f"P{i}", "eotinish", "KZ-75", "roads", start, "answered",
             start + dt.timedelta(days=i % 10), None) for i in range(answered)]  # fmt: skip
    rows += [(f"O{i}", "eotinish", "KZ-75", "roads", start, "received", None, None)
             for i in range(5)]  # fmt: skip
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def test_the_chart_grows_with_days_not_with_proposals():
    sizes = {}
    for answered in (200, 20_000):
        frame = _register(answered)
        for register in (frame, summarise_register(frame)):
            hist = numbers_of(register, Filters()).days_to_answer
            assert hist.get_column("days").to_list() == list(range(10))
            assert hist.get_column("n").sum() == answered
            bars = json.loads(histogram(hist, title="", x_title="d").to_json())["data"][0]
            assert (bars["histfunc"], len(bars["x"]), sum(bars["y"])) == ("sum", 10, answered)
            sizes[answered] = len(json.dumps(bars))
    assert sizes[20_000] - sizes[200] < 50  # a few more digits in the counts, nothing else
