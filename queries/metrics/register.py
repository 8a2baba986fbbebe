"""The feedback loop as the proposals register shows it: complete counts, no sampling error.

Every rate comes with its denominator ``n``. Stages: received (every proposal), answered (has
an answer date, or status answered/accepted/implemented/rejected), accepted (accepted or
implemented), implemented.

Each function takes the register either as its rows (a proposals frame) or as a
``RegisterSummary`` (issue 11, ``queries.metrics.register_summary``): counts per (source,
region, topic, day submitted, status) and per-day histograms of the days to answer and to
implement under the same keys, which give every number here exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from queries.metrics import as_list
from queries.metrics.filters import Filters
from queries.metrics.register_summary import (
    COUNT_SCHEMA,
    DAYS_SCHEMA,
    EVENTS,
    KEYS,
    Register,
    RegisterSummary,
    answer_rate_summary,
    backlog_summary,
    counts_as_of,
    days_to,
    event_rows,
    summarise_register,
    time_to_summary,
)
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


def latest_submission(register: Register) -> dt.date | None:
    """The latest day a proposal was submitted (the register's "as of")."""
    frame = register.counts if isinstance(register, RegisterSummary) else register
    return frame.get_column("submitted_on").max()


def received(register: Register) -> int:
    """How many proposals the register holds."""
    if isinstance(register, RegisterSummary):
        return int(register.counts.get_column("n").sum())
    return register.height


def days_to_answer(register: Register) -> pl.DataFrame:
    """Answered proposals per whole number of days to answer (``days``, ``n``; by days): the
    Feedback page's histogram, as long as the range of days whatever the register's size
    (issue 11: one value per answered proposal went to the browser on every rerun)."""
    if isinstance(register, RegisterSummary):
        hist = event_rows(register, "answer").group_by("days").agg(pl.col("n").sum())
    else:
        days = register.select(days_to("answered_on").alias("days")).drop_nulls()
        hist = days.group_by("days").agg(n=pl.len())
    return hist.select(pl.col("days").cast(pl.Int64), pl.col("n").cast(pl.Int64)).sort("days")


def funnel(
    proposals: Register, *, by: str | Sequence[str] | None = None, as_of: dt.date | None = None
) -> pl.DataFrame:
    """Counts per stage and their share of received (``n`` = received), per ``by`` group."""
    by_cols = as_list(by)
    status = pl.col("status")
    if isinstance(proposals, RegisterSummary):
        frame, n = counts_as_of(proposals, as_of), pl.col("n")
        flags = {
            "received": n,
            "answered": pl.when(status.is_in(_ANSWERED)).then(n).otherwise(pl.col("n_answered")),
            "accepted": n.filter(status.is_in(["accepted", "implemented"])),
            "implemented": n.filter(status == "implemented"),
        }
    else:
        frame = _as_of(proposals, as_of)
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


def time_to(proposals: Register, *, by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Median and 90th-percentile days from submission to answer and to implementation."""
    by_cols = as_list(by)
    if isinstance(proposals, RegisterSummary):
        return time_to_summary(proposals, by_cols)
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
    proposals: Register, as_of: dt.date, *, by: str | Sequence[str] | None = None
) -> pl.DataFrame:
    """Proposals still unanswered on ``as_of``: ``open``, older than 30 and 90 days."""
    by_cols = as_list(by)
    if isinstance(proposals, RegisterSummary):
        return backlog_summary(proposals, as_of, by_cols)
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
    proposals: Register, as_of: dt.date, *, by: str | Sequence[str] | None = None,
    since: dt.date | None = None,
) -> pl.DataFrame:  # fmt: skip
    """Share answered within 30 days among proposals at least 30 days old on ``as_of``.

    ``since`` optionally keeps only proposals submitted on or after it. Columns: ``answered``,
    ``n`` (the denominator), ``rate`` (null when n = 0).
    """
    by_cols = as_list(by)
    if isinstance(proposals, RegisterSummary):
        out = answer_rate_summary(proposals, as_of, by_cols, since)
    else:
        frame = proposals.filter(pl.col("submitted_on") <= as_of - dt.timedelta(days=30))
        if since is not None:
            frame = frame.filter(pl.col("submitted_on") >= since)
        quick = (days_to("answered_on") <= 30) & (pl.col("answered_on") <= as_of)
        aggs = [quick.fill_null(False).sum().cast(pl.Int64).alias("answered"),
                pl.len().cast(pl.Int64).alias("n")]  # fmt: skip
        out = frame.select(aggs) if not by_cols else frame.group_by(by_cols).agg(aggs)
        out = out.sort(by_cols) if by_cols else out
    rate = pl.when(pl.col("n") > 0).then(pl.col("answered") / pl.col("n"))
    return out.with_columns(rate.alias("rate"))


def register_rows(proposals: Register, filters: Filters | None) -> Register:
    """The register under the analyst's filters: the chosen regions (national rows only when no
    region is chosen) and the chosen sources. Sex, age group and settlement do not exist in the
    register. Every page that shows register numbers cuts it here, so they agree."""
    if filters is None or proposals.is_empty():
        return proposals
    if isinstance(proposals, RegisterSummary):  # the same cut of both tables
        return RegisterSummary(
            register_rows(proposals.counts, filters), register_rows(proposals.days, filters)
        )
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
    days_to_answer: pl.DataFrame  # days, n: answered proposals per days to answer
    backlog_by_region: pl.DataFrame
    backlog_by_topic: pl.DataFrame


def register_numbers(data, filters: Filters) -> RegisterNumbers | None:
    """The register side of the feedback loop for one filter selection (None: no proposal)."""
    return numbers_of(data.proposals, filters)


def numbers_of(register: Register, filters: Filters) -> RegisterNumbers | None:
    """``register_numbers`` of the register's rows or of its summary (the same numbers)."""
    proposals = register_rows(register, filters)
    if proposals.is_empty():
        return None
    as_of = latest_submission(proposals)
    open_by = {by: backlog(proposals, as_of, by=by).sort("open", descending=True)
               for by in ("region", "topic")}  # fmt: skip
    return RegisterNumbers(
        as_of=as_of,
        received=received(proposals),
        answer_rate_30=answer_rate_30(proposals, as_of),
        times=time_to(proposals),
        backlog=backlog(proposals, as_of),
        funnel=funnel(proposals),
        days_to_answer=days_to_answer(proposals),
        backlog_by_region=open_by["region"],
        backlog_by_topic=open_by["topic"],
    )


__all__ = [  # with what other modules read from here since before the split
    "COUNT_SCHEMA",
    "DAYS_SCHEMA",
    "EVENTS",
    "KEYS",
    "STAGES",
    "Register",
    "RegisterNumbers",
    "RegisterSummary",
    "answer_rate_30",
    "backlog",
    "days_to",
    "days_to_answer",
    "funnel",
    "latest_submission",
    "numbers_of",
    "received",
    "register_numbers",
    "register_rows",
    "summarise_register",
    "time_to",
]
