"""Demo register of citizen proposals 2019 -> ``as_of``, in the contract's file format.

Answer delays are log-normal (median ~20-25 days, a long tail past 90 days); implementation
comes months after acceptance; proposals whose answer would fall after ``as_of`` are still
``received`` or ``in_review``, so the register looks like a living list on that date.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from queries.contract import PROPOSALS
from queries.demo.common import (
    AS_OF,
    STREAM_PROPOSALS,
    before_reform,
    old_units,
    region_names,
    regions,
    rng_for,
)

START = dt.date(2019, 1, 1)
PROPOSAL_SOURCES = ("eotinish", "kurultai", "public_trust_council", "other")
SOURCE_SHARES = (0.45, 0.2, 0.2, 0.15)
ID_PREFIX = ("EOT", "KUR", "PTC", "OTH")
ANSWER_MEDIAN_DAYS = (15.0, 35.0, 30.0, 25.0)  # per source; e-Otinish has a statutory deadline
TOPICS = (
    "education",
    "healthcare",
    "housing",
    "ecology",
    "economy",
    "transport",
    "culture",
    "social_protection",
    "governance",
    "digitalisation",
)
TOPIC_SHARES = (0.16, 0.16, 0.13, 0.09, 0.10, 0.09, 0.05, 0.10, 0.07, 0.05)
NATIONAL_SHARE = 0.12  # proposals addressed to the country, not one region: blank region
OUTCOMES = ("rejected", "answered", "accepted", "implemented")
OUTCOME_SHARES = (0.22, 0.38, 0.25, 0.15)
STUCK_SHARE = 0.02  # never answered: stays in_review however old
PROPOSAL_COLUMNS = tuple(c.name for c in PROPOSALS.columns)


def generate_proposals(seed: int, as_of: dt.date = AS_OF) -> pl.DataFrame:
    """Demo proposals register (~8,000-10,000 rows, text columns) as it stood on ``as_of``."""
    if as_of <= START:
        raise ValueError(f"as_of must be after {START.isoformat()}, got {as_of.isoformat()}")
    rng = rng_for(seed, STREAM_PROPOSALS)
    n = int(rng.integers(8_000, 10_000))
    span = (as_of - START).days + 1
    # More proposals in later years (digital channels grow): density rises over time.
    submitted = np.floor(span * rng.random(n) ** 0.75).astype(np.int64)
    source = rng.choice(len(PROPOSAL_SOURCES), size=n, p=SOURCE_SHARES)
    topic = rng.choice(len(TOPICS), size=n, p=TOPIC_SHARES)
    table = regions()
    region = rng.choice(table.height, size=n, p=table.get_column("share").to_numpy())
    national = rng.random(n) < NATIONAL_SHARE

    median = np.array(ANSWER_MEDIAN_DAYS)[source]
    delay = np.maximum(1, np.rint(median * np.exp(rng.normal(0, 0.8, n)))).astype(np.int64)
    answered = submitted + delay
    is_answered = (answered < span) & (rng.random(n) >= STUCK_SHARE)
    outcome = rng.choice(len(OUTCOMES), size=n, p=OUTCOME_SHARES)
    implement_delay = np.rint(120 * np.exp(rng.normal(0, 0.5, n))).astype(np.int64)
    implemented = answered + implement_delay
    is_implemented = is_answered & (outcome == 3) & (implemented < span)
    # An implementation still under way on as_of is "accepted" for now.
    outcome = np.where((outcome == 3) & ~is_implemented, 2, outcome)
    recent = (span - 1 - submitted) < 7

    status = np.where(
        is_answered,
        np.array(OUTCOMES)[outcome],
        np.where(recent, "received", "in_review"),
    )
    base = pl.DataFrame(
        {
            "source_i": source,
            "submitted": submitted,
            "answered": np.where(is_answered, answered, -1),
            "implemented": np.where(is_implemented, implemented, -1),
        }
    ).with_columns(pl.int_range(pl.len()).alias("draw"))
    start = pl.lit(START)
    day_first = pl.col("source_i") == PROPOSAL_SOURCES.index("other")

    def as_text(column: str) -> pl.Expr:
        date = start + pl.duration(days=pl.col(column))
        text = (
            pl.when(day_first)
            .then(date.dt.strftime("%d.%m.%Y"))
            .otherwise(date.dt.strftime("%Y-%m-%d"))
        )
        return pl.when(pl.col(column) >= 0).then(text).alias(f"{column}_on")

    # proposals submitted before the 2022 reform name the old, larger units
    day = np.datetime64(START.isoformat()) + submitted.astype("timedelta64[D]")
    names = region_names(old_units(region, before_reform(day)), rng)
    frame = base.with_columns(
        as_text("submitted"),
        as_text("answered"),
        as_text("implemented"),
        source=pl.Series(PROPOSAL_SOURCES).gather(source),
        topic=pl.Series(TOPICS).gather(topic),
        status=pl.Series(status),
        region=pl.when(pl.Series(national)).then(None).otherwise(names),
    )
    # Register order: by submission date; ids numbered in that order within each source.
    frame = frame.sort("submitted", "source_i", "draw")
    prefix = pl.col("source_i").replace_strict(dict(enumerate(ID_PREFIX)), return_dtype=pl.String)
    number = pl.int_range(1, pl.len() + 1).over("source_i").cast(pl.String).str.zfill(6)
    return frame.with_columns(proposal_id=prefix + "-" + number).select(PROPOSAL_COLUMNS)
