"""Rebuilding the summary store from the raw rows, and checking it against them.

Both work wave by wave (one wave's rows in memory at a time) inside the caller's transaction;
the command line (``python -m queries summaries rebuild|check``) holds the survey writer lock.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import polars as pl
from sqlalchemy import Connection, delete, select

from queries.schema.data import survey_waves
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from queries.summaries.cells import CELL_SCHEMA, DIMENSIONS, STRATUM_KEYS, STRATUM_SCHEMA, cell_sums
from queries.summaries.register import check_register, rebuild_register
from queries.summaries.store import Wave, refresh_waves, stored_rows
from queries.survey.sums import SUM_COLUMNS

# The same rows summed in another order (e.g. the upload's frame, then the stored rows) may
# differ in the last bits; anything beyond this relative difference is a real difference.
TOLERANCE = 1e-12
Progress = Callable[[int, int, Wave], None]


def raw_waves(conn: Connection) -> list[Wave]:
    """Every (source, wave) that has stored survey rows."""
    w = survey_waves.c
    return sorted(tuple(r) for r in conn.execute(select(w.source, w.wave)).all())


def summarised_waves(conn: Connection) -> list[Wave]:
    """Every (source, wave) the summary store holds something for."""
    found: set[Wave] = set()
    for table in (summary_strata, summary_variables):
        query = select(table.c.source, table.c.wave).distinct()
        found |= {tuple(r) for r in conn.execute(query).all()}
    return sorted(found)


def rebuild(conn: Connection, *, progress: Progress | None = None) -> int:
    """Recompute every wave's summaries from its rows and drop those of waves without rows;
    returns the number of waves summed."""
    waves = raw_waves(conn)
    for source, wave in sorted(set(summarised_waves(conn)) - set(waves)):
        for table in (summary_cells, summary_strata, summary_variables):
            conn.execute(delete(table).where(table.c.source == source, table.c.wave == wave))
    for i, wave in enumerate(waves):
        refresh_waves(conn, [wave])
        if progress:
            progress(i + 1, len(waves), wave)
    rebuild_register(conn)  # register summaries (issue 11): queries/summaries/register.py
    return len(waves)


def _stored(conn: Connection, wave: Wave) -> tuple[pl.DataFrame, pl.DataFrame]:
    def read(table, schema):
        query = select(*(table.c[c] for c in schema)).where(
            table.c.source == wave[0], table.c.wave == wave[1]
        )
        return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row", strict=False)

    return read(summary_strata, STRATUM_SCHEMA), read(summary_cells, CELL_SCHEMA)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def compare_wave(conn: Connection, wave: Wave) -> list[str]:
    """What differs between the stored summaries of a wave and those of its rows now."""
    want_strata, want_cells = cell_sums(stored_rows(conn, wave))
    have_strata, have_cells = _stored(conn, wave)
    label = f"{wave[0]} / {wave[1]}"
    found = []
    keys = list(STRATUM_KEYS)
    strata = want_strata.join(have_strata, on=keys, how="full", suffix="_db", coalesce=True)
    for row in strata.iter_rows(named=True):
        if (row["n_h"], row["period_start"]) != (row["n_h_db"], row["period_start_db"]):
            found.append(
                f"{label}, region {row['region']}: {row['n_h_db']} respondents stored in the "
                f"summaries, {row['n_h']} in the rows"
            )
    cell_keys = [*STRATUM_KEYS, *DIMENSIONS, "variable"]
    cells = want_cells.join(
        have_cells, on=cell_keys, how="full", suffix="_db", coalesce=True, nulls_equal=True
    )
    for row in cells.iter_rows(named=True):
        bad = [c for c in ("n", *SUM_COLUMNS, "sy") if not _close(row[c], row[f"{c}_db"])]
        if bad:
            cell = ", ".join(f"{k}={row[k]}" for k in cell_keys[2:])
            found.append(f"{label}, {cell}: {', '.join(bad)} differ")
    return found


def check(conn: Connection, *, progress: Progress | None = None) -> list[str]:
    """Recompute every wave's summaries and list what differs from the stored ones."""
    waves = sorted(set(raw_waves(conn)) | set(summarised_waves(conn)))
    found: list[str] = []
    for i, wave in enumerate(waves):
        found += compare_wave(conn, wave)
        if progress:
            progress(i + 1, len(waves), wave)
    return found + check_register(conn)  # register summaries (issue 11)
