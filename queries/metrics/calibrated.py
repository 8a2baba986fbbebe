"""The Overview with weights calibrated to the population (issue 12, point 6), raw-row path.

Each wave (source, wave) of the selection is raked to the margins of its year
(``queries.metrics.margins.population_margins``: uploaded counts, or the shipped 2024 region
totals) through per-cell sums (``queries.survey.calibrated_sums``); a wave without margins, or
whose margins cannot be met, keeps its delivered weights and is named in
``OverviewNumbers.uncalibrated_waves``. Raking uses the whole wave, so a region filter is a
domain here (its rows stay and count in the raking), not a cut of rows; sex, age group and
settlement filters are domains as always. Calibrated sums hold for the domains they were made
for only, so the national series (per wave), the map (per region of the latest wave) and the
regions that moved (per region, or comparable unit across the 2022 reform, of the last two
waves) each get their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from queries.metrics import variable_sums
from queries.metrics.filters import Filters, apply_filters
from queries.metrics.margins import Margins, population_margins
from queries.reference.reform import comparable_expr, comparable_region, crosses_reform
from queries.reference.regions import reference_regions
from queries.survey.calibrated_sums import CalibratedSums, calibrated_sums

__all__ = [
    "AREA",
    "DIMS",
    "CalibratedOverviewSums",
    "calibrated_overview_sums",
    "calibrated_trend_sums",
    "overview_sums_from",
    "wave_margins",
]

DIMS = ("region", "sex", "age_group")  # the margins' dimensions, all of them cell dimensions
UNIT = ["source", "wave"]  # each wave of each source is raked on its own
CARRY = ["source", "wave", "period_start"]
AREA = "_area"  # the regions-moved domain: a region, or a comparable unit across the reform


def wave_margins(
    waves: pl.DataFrame, population: pl.DataFrame, regions: pl.DataFrame
) -> dict[tuple[str, str], Margins | None]:
    """Per (source, wave): the margins of the year its period starts in, or None."""
    by_year: dict[int, Margins | None] = {}
    out = {}
    for source, wave, start in waves.select("source", "wave", "period_start").unique().rows():
        if start.year not in by_year:
            by_year[start.year] = population_margins(population, regions, year=start.year)
        out[(source, wave)] = by_year[start.year]
    return out


@dataclass(frozen=True)
class CalibratedOverviewSums:
    """The three sets of calibrated sums the Overview combines, and the waves left delivered."""

    national: pl.DataFrame  # domains: wave
    by_region: pl.DataFrame | None  # domains: region × the latest wave (the map); None: not made
    moved: pl.DataFrame | None  # domains: region (comparable unit) × the last two waves
    uncalibrated_waves: tuple[str, ...]


def _within(sums: pl.DataFrame, column: str, chosen: Sequence[str]) -> pl.DataFrame:
    return sums.filter(pl.col(column).is_in(list(chosen))) if chosen else sums


# a maker of calibrated sums (the raw-row path's or the summary store's): (the waves kept,
# None for all; None for a domain per wave, or an expression over ``region`` whose value
# per wave is a domain, in an ``AREA`` column) -> the sums
SumsMaker = Callable[[Sequence[str] | None, pl.Expr | None], CalibratedSums]


def calibrated_overview_sums(
    cells: pl.DataFrame,
    margins: Mapping[tuple[str, str], Margins | None],
    *,
    regions: Sequence[str] = (),
    totals: pl.DataFrame | None = None,
) -> CalibratedOverviewSums:
    """From per-cell sums (``variable_sums(..., carry=CARRY, cells=DIMS)`` of whole waves, a
    region filter in the domain), the calibrated sums of the Overview's three uses;
    ``regions``: the region filter (other regions' domains are not returned); ``totals``: every
    respondent's per-cell n, Σw, Σw² when ``cells`` do not carry them (``calibrated_sums``)."""
    kw = {"unit": UNIT, "carry": ["period_start"], "totals": totals}

    def make(labels: Sequence[str] | None, area: pl.Expr | None) -> CalibratedSums:
        rows = cells if labels is None else cells.filter(pl.col("wave").is_in(list(labels)))
        if area is None:
            return calibrated_sums(rows, margins, by=["wave"], **kw)
        return calibrated_sums(rows.with_columns(area.alias(AREA)), margins, by=[AREA, "wave"],
                               **kw)  # fmt: skip

    waves = cells.select("wave", "period_start").unique().sort("period_start", "wave")
    return overview_sums_from(make, waves.get_column("wave").to_list(), regions=regions)


def overview_sums_from(
    make: SumsMaker, labels: Sequence[str], *, regions: Sequence[str] = (), areas: bool = True
) -> CalibratedOverviewSums:
    """The Overview's three sets of calibrated sums from ``make`` over the waves ``labels``
    (in time order): per wave, per region of the latest wave, per region (comparable unit
    across the reform) of the last two waves; ``areas=False``: per wave only (the other two
    None)."""
    result = make(None, None)
    left = {key[1] for key, _ in result.delivered}
    uncalibrated = tuple(w for w in labels if w in left)
    if not areas:
        return CalibratedOverviewSums(result.sums, None, None, uncalibrated)
    latest, last_two = list(labels[-1:]), list(labels[-2:])
    by_region = make(latest, pl.col("region")).sums.rename({AREA: "region"})
    across = crosses_reform(last_two)  # region-reform: compared on comparable units
    area = comparable_expr("region") if across else pl.col("region")
    moved = make(last_two, area).sums
    units = {comparable_region(c) for c in regions} | set(regions) if across else set(regions)
    moved = _within(moved, AREA, sorted(units)).rename({AREA: "region"})
    return CalibratedOverviewSums(
        national=result.sums,
        by_region=_within(by_region, "region", regions),
        moved=moved,
        uncalibrated_waves=uncalibrated,
    )


def population_of(data: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A dataset's population counts and regions (a bare namespace of frames has neither:
    no uploaded counts, the shipped regions)."""
    population = getattr(data, "population", None)
    regions = getattr(data, "regions", None)
    return (
        pl.DataFrame() if population is None else population,
        reference_regions() if regions is None else regions,
    )


def whole_waves(responses: pl.DataFrame, filters: Filters, source: str | None) -> pl.DataFrame:
    """The rows of the chosen waves (of ``source``) with every region kept: the region filter
    joins sex, age group and settlement in ``in_domain``."""
    rows = apply_filters(responses, replace(filters, regions=()))
    if source is not None and rows.height:
        rows = rows.filter(pl.col("source") == source)
    if filters.regions:
        inside = pl.col("in_domain") & pl.col("region").is_in(list(filters.regions))
        rows = rows.with_columns(inside.fill_null(False).alias("in_domain"))
    absent = [d for d in DIMS if d not in rows.columns]  # a frame without them: one "unknown"
    return rows.with_columns(pl.lit(None, pl.String).alias(d) for d in absent)


def calibrated_trend_sums(
    responses: pl.DataFrame,
    variables: Mapping[str, pl.Expr],
    by: Sequence[str],
    margins: Mapping[tuple[str, str], Margins | None],
) -> pl.DataFrame:
    """Sums for ``trend_from_sums(..., by=by)`` with each wave raked (domains: ``by`` × wave);
    a region ``by`` across the 2022 reform is made on comparable units, as the trend compares
    them. ``responses``: whole waves (filters as the ``in_domain`` column)."""
    absent = [d for d in DIMS if d not in responses.columns]
    rows = responses.with_columns(pl.lit(None, pl.String).alias(d) for d in absent)
    cells = variable_sums(rows, variables, by=list(by), carry=CARRY, cells=DIMS)
    waves = rows.get_column("wave").unique().to_list()
    across = "region" in by and crosses_reform(waves)  # region-reform
    if across:
        cells = cells.with_columns(comparable_expr("region").alias(AREA))
    domains = [AREA if across and c == "region" else c for c in by]
    made = calibrated_sums(cells, margins, unit=UNIT, by=[*domains, "wave"], carry=["period_start"])
    return made.sums.rename({AREA: "region"}) if across else made.sums


def overview_cells(rows: pl.DataFrame, variables: Mapping[str, pl.Expr]) -> pl.DataFrame:
    """The per-cell sums of the Overview's variables over whole waves (one pass)."""
    return variable_sums(rows, variables, carry=CARRY, cells=DIMS)
