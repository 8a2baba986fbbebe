"""The proposals register as counts and per-day histograms (issue 11): ``RegisterSummary``,
what the store keeps of the register (``queries.summaries.register``), and the summary side of
``queries.metrics.register``'s functions. They give every number exactly as the rows do:
counts are integer sums, quantiles are order statistics read off the histograms, and what
depends on the "as of" date needs only the day submitted and the days to answer (answered on =
submitted on + days)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

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


def event_rows(summary: RegisterSummary, event: str) -> pl.DataFrame:
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


def time_to_summary(summary: RegisterSummary, by_cols: list[str]) -> pl.DataFrame:
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
            event_rows(summary, name)
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


def backlog_summary(summary: RegisterSummary, as_of: dt.date, by_cols: list[str]) -> pl.DataFrame:
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


def answer_rate_summary(
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


def counts_as_of(summary: RegisterSummary, as_of: dt.date | None) -> pl.DataFrame:
    counts = summary.counts
    return counts if as_of is None else counts.filter(pl.col("submitted_on") <= as_of)


def days_to(event: str) -> pl.Expr:
    """Days from submission to ``event`` (answered_on or implemented_on); null if not yet."""
    return (pl.col(event) - pl.col("submitted_on")).dt.total_days()
