"""The feedback loop as the proposals register shows it: complete counts, no sampling error.

Every rate comes with its denominator ``n``. Stages: received (every proposal), answered (has
an answer date, or status answered/accepted/implemented/rejected), accepted (accepted or
implemented), implemented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from queries.metrics import as_list
from queries.metrics.filters import Filters
from queries.vocab import ProposalStatus

STAGES = ("received", "answered", "accepted", "implemented")
_ANSWERED = (
    ProposalStatus.ANSWERED,
    ProposalStatus.ACCEPTED,
    ProposalStatus.IMPLEMENTED,
    ProposalStatus.REJECTED,
)


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


def days_to(event: str) -> pl.Expr:
    """Days from submission to ``event`` (answered_on or implemented_on); null if not yet."""
    return (pl.col(event) - pl.col("submitted_on")).dt.total_days()


def time_to(proposals: pl.DataFrame, *, by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Median and 90th-percentile days from submission to answer and to implementation."""
    by_cols = as_list(by)
    answer, implement = days_to("answered_on"), days_to("implemented_on")
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
    quick = (days_to("answered_on") <= 30) & (pl.col("answered_on") <= as_of)
    aggs = [quick.fill_null(False).sum().cast(pl.Int64).alias("answered"),
            pl.len().cast(pl.Int64).alias("n")]  # fmt: skip
    out = frame.select(aggs) if not by_cols else frame.group_by(by_cols).agg(aggs).sort(by_cols)
    rate = pl.when(pl.col("n") > 0).then(pl.col("answered") / pl.col("n"))
    return out.with_columns(rate.alias("rate"))


def register_rows(proposals: pl.DataFrame, filters: Filters | None) -> pl.DataFrame:
    """The register under the analyst's filters: the chosen regions (national rows only when no
    region is chosen) and the chosen sources. Sex, age group and settlement do not exist in the
    register. Every page that shows register numbers cuts it here, so they agree."""
    if filters is None or proposals.is_empty():
        return proposals
    if filters.regions:
        proposals = proposals.filter(pl.col("region").is_in(list(filters.regions)))
    if filters.sources:
        proposals = proposals.filter(pl.col("source").is_in(list(filters.sources)))
    return proposals


@dataclass(frozen=True)
class RegisterNumbers:
    """What the Feedback page shows of the register, on ``as_of`` (the latest submission)."""

    as_of: dt.date
    received: int
    answer_rate_30: pl.DataFrame  # answered, n, rate
    times: pl.DataFrame  # time_to(): median and p90 days to answer and to implement
    backlog: pl.DataFrame  # open, open_over_30_days, open_over_90_days
    funnel: pl.DataFrame
    days_to_answer: pl.Series  # per answered proposal (the histogram)
    backlog_by_region: pl.DataFrame
    backlog_by_topic: pl.DataFrame


def register_numbers(data, filters: Filters) -> RegisterNumbers | None:
    """The register side of the feedback loop for one filter selection (None: no proposal)."""
    proposals = register_rows(data.proposals, filters)
    if proposals.is_empty():
        return None
    as_of = proposals.get_column("submitted_on").max()
    open_by = {by: backlog(proposals, as_of, by=by).sort("open", descending=True)
               for by in ("region", "topic")}  # fmt: skip
    return RegisterNumbers(
        as_of=as_of,
        received=proposals.height,
        answer_rate_30=answer_rate_30(proposals, as_of),
        times=time_to(proposals),
        backlog=backlog(proposals, as_of),
        funnel=funnel(proposals),
        days_to_answer=proposals.select(days_to("answered_on")).to_series().drop_nulls(),
        backlog_by_region=open_by["region"],
        backlog_by_topic=open_by["topic"],
    )
