"""The calibrated Overview (issue 12, point 6) from the summary store, without survey rows.

The raw-row path (``queries.metrics.overview.overview_numbers`` with weights "calibrated")
rakes every chosen wave whole to its year's population margins, from per-cell sums of the
wave's rows in which the filters (region, sex, age group, settlement) are a domain. The store
keeps the same sums per finer cell (the settlement is a cell key too) plus the unweighted Σy
(``sy``), and every respondent's n, Σw, Σw² per cell (variable ``respondents``): summing them
gives exactly what ``queries.metrics.calibrated.calibrated_overview_sums`` reads, so this module
only lays the stored cells out in that shape; the raking and the estimates are B3's code.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from queries.metrics.filters import Filters
from queries.survey.calibrated_sums import CELL_TOTALS
from queries.survey.sums import SUM_COLUMNS

STRATUM_KEYS = ("source", "wave", "region")
CELL_KEYS = (*STRATUM_KEYS, "sex", "age_group", "settlement")
ZEROED = ("n", "sy", *SUM_COLUMNS)  # what lies outside the filters' domain counts nothing
# the columns calibrated_overview_sums reads, in this order (then n, sy, the sums, n_h, N_h)
_LAYOUT = ("source", "wave", "period_start", "stratum", "region", "sex", "age_group", "variable")
# issue 11 pages: the settlement rides along (a page's domains may be by settlement; raking
# ignores it, the rows of a finer cell add up in their raking cell)
_LAYOUT = (*_LAYOUT, "settlement")
_DOMAIN = {"sexes": "sex", "age_groups": "age_group", "settlements": "settlement"}


def cell_totals(respondents: pl.DataFrame) -> pl.DataFrame:
    """Every respondent's per-cell count, Σw, Σw² (``CELL_TOTALS``) from the stored cells of
    the variable ``respondents`` (a constant 1, so its n, Σw, Σw² cover every row)."""
    return respondents.select(
        *CELL_KEYS,
        pl.concat_str(*STRATUM_KEYS, separator="|").alias("stratum"),
        *(pl.col(s).alias(t) for s, t in zip(("n", "sw", "sw2"), CELL_TOTALS, strict=True)),
    )


def _domain(filters: Filters) -> pl.Expr:
    """The filters' domain over cells: region (a domain here, as raking uses the whole wave),
    sex, age group, settlement; a missing value is outside any filter on it."""
    inside = pl.lit(True)
    if filters.regions:
        inside &= pl.col("region").is_in(list(filters.regions))
    for attribute, column in _DOMAIN.items():
        chosen = getattr(filters, attribute)
        if chosen:
            inside &= pl.col(column).is_in(list(chosen)).fill_null(False)
    return inside


def whole_wave_cells(
    strata: pl.DataFrame,
    totals: pl.DataFrame,
    stored: pl.DataFrame,
    names: Mapping[str, str],
    filters: Filters,
) -> pl.DataFrame:
    """Per-cell sums of the chosen whole waves in ``calibrated_overview_sums``' shape.

    ``strata``: the strata of the chosen waves, every region (source, wave, region,
    period_start, n_h); ``totals``: ``cell_totals`` of the store; ``stored``: stored cells
    (``CELL_SCHEMA``) of the stored names; ``names``: Overview name -> stored name. Every cell
    with a respondent gets a row per variable (zero where nobody answered), as the raw-row path
    has; n, sy and the sums are zero outside the filters' domain."""
    keys = list(STRATUM_KEYS)
    cells = totals.join(strata.select(*keys, "period_start", "n_h"), on=keys, how="inner")
    wanted = pl.DataFrame(
        {"variable": list(names), "stored": list(names.values())},
        schema={"variable": pl.String, "stored": pl.String},
    )
    found = stored.rename({"variable": "stored"}).select(*CELL_KEYS, "stored", *ZEROED)
    inside = _domain(filters)
    return (
        cells.join(wanted, how="cross")
        .join(found, on=[*CELL_KEYS, "stored"], how="left", nulls_equal=True)
        .with_columns(
            pl.when(inside).then(pl.col(c).fill_null(0)).otherwise(0).alias(c) for c in ZEROED
        )
        .with_columns(pl.lit(None, pl.Float64).alias("N_h"))
        .select(
            *_LAYOUT,
            pl.col("n").cast(pl.Int64),
            *(pl.col(c).cast(pl.Float64) for c in ZEROED[1:]),
            "n_h",
            "N_h",
        )
    )


__all__ = ["cell_totals", "whole_wave_cells"]
