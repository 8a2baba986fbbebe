"""Population margins for calibrating survey weights (issue 12): from the uploaded population
counts of a year, or, for the reference year, the region totals shipped in data/regions.csv.

Margins are one-dimensional ({"region": {...}, "sex": {...}, "age_group": {...}}), the form the
raking of ``queries.survey`` takes, and only over dimensions every summary cell carries.
"""

from __future__ import annotations

import polars as pl

from queries.contract.vocabulary import TOTAL

REFERENCE_YEAR = 2024  # the year of the populations in data/regions.csv
Margins = dict[str, dict[str, float]]


def _margin(rows: pl.DataFrame, column: str) -> dict[str, float]:
    sums = rows.group_by(column).agg(pl.col("count").sum()).sort(column)
    return {k: float(v) for k, v in sums.iter_rows()}


def population_margins(
    population: pl.DataFrame, regions: pl.DataFrame, *, year: int
) -> Margins | None:
    """The margins for ``year``, or None when there are none (weights are then used as
    delivered). Uploaded rows win: a region's total row (sex and age group ``total``), else the
    sum of its detailed rows; the sex and age-group margins come from the rows that give them
    (summed over regions), else from the detailed rows. Without uploaded rows for the year, the
    reference year falls back to the shipped region totals."""
    rows = population.filter(pl.col("year") == year) if population.height else population
    if rows.height == 0:
        if year != REFERENCE_YEAR:
            return None
        return {"region": {c: float(p) for c, p in regions.select("code", "population").rows()}}
    sex_total, age_total = pl.col("sex") == TOTAL, pl.col("age_group") == TOTAL
    detail = rows.filter(~sex_total & ~age_total)
    totals = rows.filter(sex_total & age_total)
    margins: Margins = {"region": _margin(totals if totals.height else detail, "region")}
    for column, given in (("sex", ~sex_total & age_total), ("age_group", sex_total & ~age_total)):
        source = rows.filter(given)
        source = source if source.height else detail
        if source.height:
            margins[column] = _margin(source, column)
    return margins
