"""The summary store (issue 11, ``queries/summaries/``): per-cell sums of the survey, the
proposals register without its rows, the composite cache and the persisted snapshot."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from queries.schema.base import metadata

# --- summary store (issue 11): per-cell sums of the survey, see queries/summaries/ ---


def cell_sum_columns() -> list[Column]:
    """A cell's keys and its sums for one variable, as the summary store and the composite
    cache both lay them out (new Column objects each time: a column belongs to one table)."""
    return [
        Column("source", String(32), nullable=False),
        Column("wave", String(32), nullable=False),
        Column("region", String(8), nullable=False),
        Column("sex", String(8)),  # NULL: not answered (outside any sex filter)
        Column("age_group", String(8)),
        Column("settlement", String(8)),
        Column("variable", String(96), nullable=False),
        Column("n", Integer, nullable=False),
        *(Column(name, Float, nullable=False) for name in ("sw", "swy", "sw2", "sw2y", "sw2y2")),
        Column("sy", Float, nullable=False),  # unweighted Σy: calibrated (raked) estimates need it
    ]


# One row per stratum (source|wave|region) with its respondent count, and one row per
# cell (stratum × sex × age group × settlement) × variable with a value. Keyed by the wave's
# labels rather than survey_waves.id: the summaries of a wave are a pure function of its rows.
summary_strata = Table(
    "summary_strata",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("wave", String(32), primary_key=True),
    Column("region", String(8), primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("n_h", Integer, nullable=False),
)

summary_cells = Table(
    "summary_cells",
    metadata,
    *cell_sum_columns(),
    Index("ix_summary_cells_wave", "source", "wave", "variable"),
)

# The variables each wave has a value for (a few dozen rows per wave): which institutions
# exist is read here, not from millions of cells.
summary_variables = Table(
    "summary_variables",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("wave", String(32), primary_key=True),
    Column("variable", String(96), primary_key=True),
    Column("n", Integer, nullable=False),
)

# --- register summaries (issue 11, migration 0007): the proposals register without its rows,
# see queries/summaries/register.py. Counts per (source, region, topic, day submitted, status)
# and per-day histograms of the days to answer and to implement under the same keys: every
# register number (30-day rates, backlog ages on any "as of" day, medians and quantiles) is an
# exact function of them. Rewritten in the transaction of each proposals upload or rollback.
register_counts = Table(
    "register_counts",
    metadata,
    Column("source", String(32), nullable=False),
    Column("region", String(8)),  # NULL: a national proposal
    Column("topic", Text, nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("n", Integer, nullable=False),
    Column("n_answered", Integer, nullable=False),  # of which have an answer date
)

register_days = Table(
    "register_days",
    metadata,
    Column("source", String(32), nullable=False),
    Column("region", String(8)),
    Column("topic", Text, nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("event", String(16), nullable=False),  # answer | implement
    Column("days", Integer, nullable=False),  # the event's date - submitted_on
    Column("n", Integer, nullable=False),
    Index("ix_register_days_submitted_on", "submitted_on"),
)
# An upload rewrites the summaries of the submission days it touched: found by upload_id, read
# and rewritten by day (register_counts' index; the proposals' own are in data.py; migration 0007).
Index("ix_register_counts_submitted_on", register_counts.c.submitted_on)

# --- composite cache (issue 11, migration 0008): queries/summaries/composite.py ---
# The composite trust index over a non-default set of institutions (``institutions``: the set's
# names, sorted, comma-separated), summed per cell like summary_cells, one wave at a time; a
# (set, wave) row in summary_composite_waves says the wave is there (cells without a value
# have no row). An upload or rollback deletes a wave's rows with its other summaries.
summary_composite_waves = Table(
    "summary_composite_waves",
    metadata,
    Column("institutions", Text, primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("wave", String(32), primary_key=True),
)

summary_composites = Table(
    "summary_composites",
    metadata,
    Column("institutions", Text, nullable=False),
    *cell_sum_columns(),
    Index("ix_summary_composites_set", "institutions", "variable", "source", "wave"),
    Index("ix_summary_composites_wave", "source", "wave"),
)

# --- persisted snapshot (issue 11, migration 0009): queries/summaries/persisted.py ---
# The in-memory snapshot's frames (strata, the Overview's cells, cell totals, population) as
# one compressed Arrow IPC blob per data version, so a starting process reads one row instead of
# summing the store again; a row of another version or format is ignored. A cache: it may be
# empty, and ``summaries rebuild`` empties it.
summary_snapshots = Table(
    "summary_snapshots",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("format", Integer, nullable=False),
    Column("frames", LargeBinary, nullable=False),
)
