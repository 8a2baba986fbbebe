"""The feedback loop as the proposals register shows it: complete counts, no sampling error.

Every rate comes with its denominator ``n``. Stages: received (every proposal), answered (has
an answer date, or status answered/accepted/implemented/rejected), accepted (accepted or
implemented), implemented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from queries.metrics import as_list

STAGES = ("received", "answered", "accepted", "implemented")
_ANSWERED = ("answered", "accepted", "implemented", "rejected")


def _as_of(proposals: pl.DataFrame, as_of: dt.date | None) -> pl.DataFrame:
    return proposals if as_of is None else proposals.filter(pl.col("submitted_on") <= as_of)


def funnel(
    proposals: pl.DataFrame, *, by: str | Sequence[str] | None = None, as_of: dt.date | None = None
) -> pl.DataFrame:
    """Counts per stage and their share of received (``n`` = received), per ``by`` group."""
    by_cols = as_list(by)
    frame = _as_of(proposals, as_of)
    status = pl.col("status")
    flags = {
        "received": pl.col("submitted_on").is_not_null() | pl.col("submitted_on").is_null(),
        "answered": pl.col("answered_on").is_not_null() | status.is_in(_ANSWERED),
        "accepted": status.is_in(["accepted", "implemented"]),
        "implemented": status == "implemented",
    }
    wide = frame.group_by(by_cols or pl.lit(0).alias("_all")).agg(
        *(flag.sum().cast(pl.Int64).alias(stage) for stage, flag in flags.items())
    )
    long = wide.unpivot(index=by_cols or ["_all"], on=list(STAGES), variable_name="stage",
                        value_name="count")  # fmt: skip
    if not by_cols:
        long = long.drop("_all")
    order = pl.col("stage").replace_strict(STAGES, range(len(STAGES)), return_dtype=pl.Int8)
    n = pl.col("count").filter(pl.col("stage") == "received").first()
    n = n.over(by_cols) if by_cols else n
    return (
        long.with_columns(n.alias("n"))
        .with_columns((pl.col("count") / pl.col("n")).alias("rate"))
        .sort([*by_cols, order])
    )


def time_to(proposals: pl.DataFrame, *, by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Median and 90th-percentile days from submission to answer and to implementation."""
    by_cols = as_list(by)
    answer = (pl.col("answered_on") - pl.col("submitted_on")).dt.total_days()
    implement = (pl.col("implemented_on") - pl.col("submitted_on")).dt.total_days()
    aggs = []
    for name, days in (("answer", answer), ("implement", implement)):
        aggs += [
            days.median().alias(f"days_to_{name}_median"),
            days.quantile(0.9, interpolation="linear").alias(f"days_to_{name}_p90"),
            days.count()
            .cast(pl.Int64)
            .alias(f"n_{name}ed" if name == "answer" else "n_implemented"),
        ]
    if not by_cols:
        return proposals.select(aggs)
    return proposals.group_by(by_cols).agg(aggs).sort(by_cols)


def backlog(
    proposals: pl.DataFrame, as_of: dt.date, *, by: str | Sequence[str] | None = None
) -> pl.DataFrame:
    """Proposals still unanswered on ``as_of``: ``open``, older than 30 and 90 days."""
    by_cols = as_list(by)
    frame = _as_of(proposals, as_of).filter(
        pl.col("answered_on").is_null() | (pl.col("answered_on") > as_of)
    )
    age = (pl.lit(as_of) - pl.col("submitted_on")).dt.total_days()
    aggs = [
        pl.len().cast(pl.Int64).alias("open"),
        (age > 30).sum().cast(pl.Int64).alias("open_over_30_days"),
        (age > 90).sum().cast(pl.Int64).alias("open_over_90_days"),
    ]
    if not by_cols:
        return frame.select(aggs)
    return frame.group_by(by_cols).agg(aggs).sort(by_cols)


def answer_rate_30(
    proposals: pl.DataFrame, as_of: dt.date, *, by: str | Sequence[str] | None = None,
    since: dt.date | None = None,
) -> pl.DataFrame:  # fmt: skip
    """Share answered within 30 days among proposals at least 30 days old on ``as_of``.

    ``since`` optionally keeps only proposals submitted on or after it. Columns: ``answered``,
    ``n`` (the denominator), ``rate`` (null when n = 0).
    """
    by_cols = as_list(by)
    frame = proposals.filter(pl.col("submitted_on") <= as_of - dt.timedelta(days=30))
    if since is not None:
        frame = frame.filter(pl.col("submitted_on") >= since)
    days = (pl.col("answered_on") - pl.col("submitted_on")).dt.total_days()
    quick = (days <= 30) & (pl.col("answered_on") <= as_of)
    aggs = [quick.fill_null(False).sum().cast(pl.Int64).alias("answered"),
            pl.len().cast(pl.Int64).alias("n")]  # fmt: skip
    out = frame.select(aggs) if not by_cols else frame.group_by(by_cols).agg(aggs).sort(by_cols)
    rate = pl.when(pl.col("n") > 0).then(pl.col("answered") / pl.col("n"))
    return out.with_columns(rate.alias("rate"))
