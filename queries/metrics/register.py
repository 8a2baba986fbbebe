"""The feedback loop as the proposals register shows it: complete counts, no sampling error.

Every rate comes with its denominator ``n``. Stages: received (every proposal), answered (has
an answer date, or status answered/accepted/implemented/rejected), accepted (accepted or
implemented), implemented.

Each function takes the register either as its rows (a proposals frame) or as a
``RegisterSummary`` (issue 11, ``queries.summaries.register``): counts per (source, region,
topic, day submitted, status) and per-day histograms of the days to answer and to implement
under the same keys. They give every number here exactly: counts are integer sums, quantiles
are order statistics read off the histograms, and what depends on the "as of" date needs only
the day submitted and the days to answer (answered on = submitted on + days).
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


# --- register summaries (issue 11): the register as counts and per-day histograms -----------
KEYS = ("source", "region", "topic", "submitted_on")  # every filter and grouping of this module
COUNT_SCHEMA = {
    "source": pl.String,
    "region": pl.String,
    "topic": pl.String,
    "submitted_on": pl.Date,
    "status": pl.String,
    "n": pl.Int64,  # proposals
    "n_answered": pl.Int64,  # of which with an answer date
}
EVENTS = {"answer": "answered_on", "implement": "implemented_on"}
DAYS_SCHEMA = {
    "source": pl.String,
    "region": pl.String,
    "topic": pl.String,
    "submitted_on": pl.Date,
    "event": pl.String,  # answer | implement
    "days": pl.Int64,  # event date - submitted_on
    "n": pl.Int64,
}


@dataclass(frozen=True)
class RegisterSummary:
    """The register without its rows: ``counts`` (COUNT_SCHEMA) and ``days`` (DAYS_SCHEMA)."""

    counts: pl.DataFrame
    days: pl.DataFrame

    def is_empty(self) -> bool:
        return self.counts.is_empty()


Register = pl.DataFrame | RegisterSummary


def summarise_register(proposals: pl.DataFrame) -> RegisterSummary:
    """The summary of a proposals frame (what the store holds; the reference for its check)."""
    keys = list(KEYS)
    counts = proposals.group_by(*keys, "status").agg(
        pl.len().alias("n"), pl.col("answered_on").is_not_null().sum().alias("n_answered")
    )
    days = [
        proposals.filter(pl.col(column).is_not_null())
        .group_by(*keys, days_to(column).alias("days"))
        .agg(pl.len().alias("n"))
        .with_columns(event=pl.lit(event))
        for event, column in EVENTS.items()
    ]
    return RegisterSummary(
        counts.select(list(COUNT_SCHEMA)).cast(COUNT_SCHEMA),  # type: ignore[arg-type]
        pl.concat(days).select(list(DAYS_SCHEMA)).cast(DAYS_SCHEMA),  # type: ignore[arg-type]
    )


def _event(summary: RegisterSummary, event: str) -> pl.DataFrame:
    return summary.days.filter(pl.col("event") == event)


def _submitted(summary: RegisterSummary, first: dt.date | None, last: dt.date | None):
    """Counts and per-day histograms of the proposals submitted from ``first`` to ``last``."""
    keep = pl.lit(True)
    if first is not None:
        keep = keep & (pl.col("submitted_on") >= first)
    if last is not None:
        keep = keep & (pl.col("submitted_on") <= last)
    return summary.counts.filter(keep), summary.days.filter(keep)


_EPOCH = dt.date(1970, 1, 1)


def _day(date: dt.date) -> int:
    """A date as polars stores it: days since 1970-01-01 (integer compares, no date maths)."""
    return (date - _EPOCH).days


def _event_by(as_of: dt.date) -> pl.Expr:
    """A histogram row's event happened by ``as_of``: submitted on + days <= as_of."""
    return pl.col("submitted_on").cast(pl.Int32) + pl.col("days") <= _day(as_of)


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
        hist = _event(register, "answer").group_by("days").agg(pl.col("n").sum())
    else:
        days = register.select(days_to("answered_on").alias("days")).drop_nulls()
        hist = days.group_by("days").agg(n=pl.len())
    return hist.select(pl.col("days").cast(pl.Int64), pl.col("n").cast(pl.Int64)).sort("days")


def _quantile(q: float) -> pl.Expr:
    """Linear-interpolated quantile of a histogram (``days`` sorted, ``n`` counts, ``blank``
    the proposals without the event), to the last bit as polars computes it on the values with
    their nulls: position (N-1)q + blank, the nulls sorting first."""
    blank = pl.col("blank").first()
    position = (pl.col("n").sum() - 1).cast(pl.Float64) * q + blank
    low, high = position.floor(), position.ceil()
    cum = pl.col("n").cum_sum()
    below = pl.col("days").filter(cum > low - blank).first().cast(pl.Float64)
    above = pl.col("days").filter(cum > high - blank).first().cast(pl.Float64)
    return below + (position - low) * (above - below)


def _time_to_summary(summary: RegisterSummary, by_cols: list[str]) -> pl.DataFrame:
    groups = summary.counts.group_by(by_cols or pl.lit(0).alias("_all")).agg(
        pl.col("n").sum().alias("all")
    )
    on = by_cols or ["_all"]
    parts = []
    for name, count in (("answer", "n_answered"), ("implement", "n_implemented")):
        aggs = [
            _quantile(0.5).alias(f"days_to_{name}_median"),
            _quantile(0.9).alias(f"days_to_{name}_p90"),
            pl.col("n").sum().cast(pl.Int64).alias(count),
        ]
        hist = (
            _event(summary, name)
            .group_by(*by_cols, "days")
            .agg(pl.col("n").sum())
            .with_columns(_all=pl.lit(0))
            .join(groups, on=on, how="left", nulls_equal=True)
            .with_columns(blank=pl.col("all") - pl.col("n").sum().over(on))
            .sort(*on, "days")
        )
        made = hist.group_by(on, maintain_order=True).agg(aggs)
        made = groups.join(made, on=on, how="left", nulls_equal=True)
        parts.append(made.with_columns(pl.col(count).fill_null(0)).drop("all").sort(on))
    out = parts[0].join(parts[1], on=on, how="left", nulls_equal=True).sort(on)
    if by_cols:
        return out
    if out.is_empty():  # as a select over no row: one row, no quantile, zero counts
        out = pl.DataFrame([[0]], schema={"_all": pl.Int32}).join(out, on=on, how="left")
        out = out.with_columns(pl.col("n_answered", "n_implemented").fill_null(0))
    return out.drop("_all")


def _backlog_summary(summary: RegisterSummary, as_of: dt.date, by_cols: list[str]) -> pl.DataFrame:
    """Open on ``as_of`` = submitted by then, minus those answered by then (on = s + days)."""
    counts, days = _submitted(summary, None, as_of)
    closed = days.filter(pl.col("event") == "answer", _event_by(as_of))
    frame = pl.concat(
        [
            counts.select(*by_cols, "submitted_on", "n"),
            closed.select(*by_cols, "submitted_on", -pl.col("n")),
        ]
    )
    age = _day(as_of) - pl.col("submitted_on").cast(pl.Int32)
    n = pl.col("n")
    # the weighted flags as columns first: a group_by sums plain columns much faster
    frame = frame.with_columns(
        n.alias("open"),
        (n * (age > 30)).alias("open_over_30_days"),
        (n * (age > 90)).alias("open_over_90_days"),
    )
    columns = ("open", "open_over_30_days", "open_over_90_days")
    aggs = [pl.col(c).sum().cast(pl.Int64) for c in columns]
    if not by_cols:
        return frame.select(aggs)
    # as on the rows: a group is listed when it has an open proposal
    return frame.group_by(by_cols).agg(aggs).filter(pl.col("open") > 0).sort(by_cols)


def _answer_rate_summary(
    summary: RegisterSummary, as_of: dt.date, by_cols: list[str], since: dt.date | None
) -> pl.DataFrame:
    counts, days = _submitted(summary, since, as_of - dt.timedelta(days=30))
    quick = days.filter(pl.col("event") == "answer", pl.col("days") <= 30, _event_by(as_of))
    n = pl.col("n").sum().cast(pl.Int64)
    if not by_cols:
        return pl.DataFrame(
            {"answered": [quick.select(n).item()], "n": [counts.select(n).item()]},
            schema={"answered": pl.Int64, "n": pl.Int64},
        )
    totals = counts.group_by(by_cols).agg(n)
    answered = quick.group_by(by_cols).agg(n.alias("answered"))
    out = totals.join(answered, on=by_cols, how="left", nulls_equal=True)
    return out.select(*by_cols, pl.col("answered").fill_null(0), "n").sort(by_cols)


def _counts_as_of(summary: RegisterSummary, as_of: dt.date | None) -> pl.DataFrame:
    counts = summary.counts
    return counts if as_of is None else counts.filter(pl.col("submitted_on") <= as_of)


# --- end register summaries ---------------------------------------------------------------


def funnel(
    proposals: Register, *, by: str | Sequence[str] | None = None, as_of: dt.date | None = None
) -> pl.DataFrame:
    """Counts per stage and their share of received (``n`` = received), per ``by`` group."""
    by_cols = as_list(by)
    status = pl.col("status")
    if isinstance(proposals, RegisterSummary):
        frame, n = _counts_as_of(proposals, as_of), pl.col("n")
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


def days_to(event: str) -> pl.Expr:
    """Days from submission to ``event`` (answered_on or implemented_on); null if not yet."""
    return (pl.col(event) - pl.col("submitted_on")).dt.total_days()


def time_to(proposals: Register, *, by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Median and 90th-percentile days from submission to answer and to implementation."""
    by_cols = as_list(by)
    if isinstance(proposals, RegisterSummary):
        return _time_to_summary(proposals, by_cols)
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
        return _backlog_summary(proposals, as_of, by_cols)
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
        out = _answer_rate_summary(proposals, as_of, by_cols, since)
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
