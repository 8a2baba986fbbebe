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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from queries.metrics.calibrated import DIMS
from queries.metrics.filters import Filters
from queries.metrics.margins import Margins
from queries.summaries.unit_plan import ZEROED, _plan
from queries.survey.calibrated_sums import (
    CELL_TOTALS,
    UNKNOWN,
    CalibratedSums,
    Raked,
    linearise,
    rake_unit,
)

STRATUM_KEYS = ("source", "wave", "region")
CELL_KEYS = (*STRATUM_KEYS, "sex", "age_group", "settlement")
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


__all__ = [
    "CellArrays",
    "ChosenWaves",
    "WaveRaking",
    "calibrated_maker",
    "cell_totals",
    "chosen_waves",
    "domain_masks",
    "inside",
    "wave_raking",
    "whole_wave_cells",
]


# --- the Overview's calibrated sums straight from the snapshot's cells (issue 11: a filter
# change in a few numpy passes). What does not depend on the filters is laid out once per data
# version (``WaveRaking``): each wave's raking cells and factors (a wave is raked whole, so its
# raking does not depend on the domain), and every stored cell's place among them; a filter
# change only sums the domain's cells into them and linearises (``linearise``, the same code as
# ``calibrated_sums``). ---------------------------------------------------------------------
_MISSING = "\x00missing"  # a null dimension value: never inside a filter


@dataclass(frozen=True)
class CellArrays:
    """One stored variable's cells as arrays: each cell's raking cell (``k``), unit, domain
    codes (region, sex, age group, settlement: codes into ``WaveRaking.values``) and sums."""

    k: np.ndarray
    unit: np.ndarray
    stratum: np.ndarray  # into ``WaveRaking.strata``
    codes: dict[str, np.ndarray]
    sums: dict[str, np.ndarray]


@dataclass(frozen=True)
class WaveRaking:
    """Every wave (unit) of a snapshot raked whole, once per data version.

    ``units``: source, wave, period_start per unit (``_u``); ``cells``: the raking cells
    (``_u``, stratum, the margin columns mapped as ``calibrated_sums`` maps them, ``CELL_TOTALS``,
    ``_k``), sorted by unit and stratum; ``fine``: the stored cell keys -> ``_k``, ``_u``;
    ``margins``: per (source, wave); ``raked``: per unit."""

    units: pl.DataFrame
    cells: pl.DataFrame
    fine: pl.DataFrame
    margins: Mapping[tuple[str, str], Margins | None]
    raked: dict[int, Raked]
    values: dict[str, tuple[str, ...]]  # per domain column, its values (codes index them)
    strata: tuple[str, ...]  # every stratum (source|wave|region), sorted
    # issue 11: each (units, domains, variables)'s layout, which no filter changes (``_plan``)
    plans: dict = field(default_factory=dict, compare=False, repr=False)

    def codes(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """Each coded column of ``frame`` as its index among the wave raking's values (−1:
        a value it does not know)."""
        return {
            column: frame.get_column(column)
            .fill_null(_MISSING)
            .replace_strict(self.values[column], range(len(self.values[column])), default=-1)
            .to_numpy()
            for column in _CODED
        }

    def arrays(self, cells: pl.DataFrame) -> CellArrays:
        """The arrays of one variable's stored cells (``CELL_SCHEMA`` rows)."""
        part = cells.join(self.fine, on=list(CELL_KEYS), how="inner", nulls_equal=True)
        codes = self.codes(part)
        return CellArrays(
            k=part.get_column("_k").to_numpy(),
            unit=part.get_column("_u").to_numpy(),
            stratum=part.get_column("_s").to_numpy(),
            codes=codes,
            sums={c: part.get_column(c).cast(pl.Float64).to_numpy() for c in ZEROED},
        )


_CODED = ("region", "sex", "age_group", "settlement")


def _mapped(frame: pl.DataFrame, units: pl.DataFrame, margins: Mapping) -> pl.DataFrame:
    """The margin columns as ``calibrated_sums`` rakes them: a missing value or one the unit's
    margins do not have is ``UNKNOWN`` (units without margins: missing values only)."""
    out = frame.with_columns(pl.col(DIMS).cast(pl.String).fill_null(UNKNOWN))
    for column in DIMS:
        allowed = [
            (u, value)
            for u, source, wave in units.select("_u", "source", "wave").iter_rows()
            for value in (margins.get((source, wave)) or {}).get(column, {})
        ]
        having = sorted({u for u, _ in allowed})
        ok = pl.DataFrame(allowed, schema={"_u": pl.UInt32, column: pl.String}, orient="row")
        out = out.join(ok.with_columns(_ok=pl.lit(True)), on=["_u", column], how="left")
        outside = pl.col("_u").is_in(having) & pl.col("_ok").is_null()
        out = out.with_columns(
            pl.when(outside).then(pl.lit(UNKNOWN)).otherwise(pl.col(column)).alias(column)
        ).drop("_ok")
    return out


def wave_raking(
    strata: pl.DataFrame, totals: pl.DataFrame, margins: Mapping[tuple[str, str], Margins | None]
) -> WaveRaking:
    """Lay out and rake every unit of the store (``strata``: all strata; ``totals``:
    ``cell_totals``; ``margins``: per (source, wave), None for none)."""
    units = (
        strata.select("source", "wave", "period_start")
        .unique()
        .sort("source", "wave")
        .with_row_index("_u")
    )
    fine = totals.join(units.select("_u", "source", "wave"), on=["source", "wave"])
    fine = fine.with_columns(_mapped(fine, units, margins).select(DIMS).rename(_RAKE))
    keys = ["_u", "stratum", *_RAKE.values()]
    cells = (
        fine.group_by(keys)
        .agg(pl.col(*CELL_TOTALS).sum())
        .sort(keys)
        .with_row_index("_k")
        .rename({v: k for k, v in _RAKE.items()})
    )
    fine = fine.join(cells.select("_k", *keys[:2], *(pl.col(d).alias(_RAKE[d]) for d in DIMS)),
                     on=keys)  # fmt: skip
    strata_ = tuple(sorted(fine.get_column("stratum").unique().to_list()))
    code = pl.Series(strata_).to_frame("stratum").with_row_index("_s")
    fine = fine.join(code, on="stratum").select(*CELL_KEYS, "_k", "_u", "_s")
    raked = {}
    for (u,), part in cells.group_by("_u", maintain_order=True):
        source, wave = units.row(u)[1:3]
        used = margins.get((source, wave))
        used = {c: t for c, t in used.items() if c in DIMS} if used else None
        raked[u] = rake_unit(part, used or None)
    values = {
        c: tuple(sorted(totals.get_column(c).fill_null(_MISSING).unique().to_list()))
        for c in _CODED
    }
    return WaveRaking(units, cells, fine, dict(margins), raked, values, strata_)


_RAKE = {d: f"_rake_{d}" for d in DIMS}


def _allowed(raking: WaveRaking, column: str, chosen: Sequence[str]) -> np.ndarray:
    values = raking.values[column]
    if not chosen:
        return np.ones(len(values), dtype=bool)
    return np.isin(np.array(values, dtype=object), list(chosen))


def domain_masks(raking: WaveRaking, filters: Filters, *, regions: bool) -> dict[str, np.ndarray]:
    """Per filtered column, which of its values (codes) the filters keep (a missing value is
    outside any filter on it); the region only when it is a domain (calibrated weights)."""
    columns = _FILTERED if regions else {c: a for c, a in _FILTERED.items() if c != "region"}
    return {c: _allowed(raking, c, getattr(filters, a)) for c, a in columns.items()}


def inside(cells: CellArrays, masks: Mapping[str, np.ndarray]) -> np.ndarray:
    """Which of a variable's cells lie in the domain ``masks`` describe."""
    keep = np.ones(len(cells.k), dtype=bool)
    for column, allowed in masks.items():
        keep &= allowed[cells.codes[column]]
    return keep


@dataclass(frozen=True)
class ChosenWaves:
    """The whole waves a selection rakes (only the sources and the wave range choose them, so
    a caller may keep this per such choice): their units (``WaveRaking.units`` rows), their
    strata's n_h, their labels in time order and their margins (None: none)."""

    units: pl.DataFrame
    n_h: pl.DataFrame
    labels: tuple[str, ...]
    margins: dict[tuple[str, str], Margins | None]
    # the units of some of the waves (``of``), made once
    _some: dict = field(default_factory=dict, compare=False, repr=False)

    def of(self, labels: Sequence[str] | None) -> pl.DataFrame:
        """The units of the waves ``labels`` (None: all)."""
        if labels is None:
            return self.units
        key = tuple(labels)
        if key not in self._some:
            self._some[key] = self.units.filter(pl.col("wave").is_in(list(labels)))
        return self._some[key]


def chosen_waves(raking: WaveRaking, waves: pl.DataFrame) -> ChosenWaves:
    """``ChosenWaves`` of ``waves`` (the chosen waves' strata, every region)."""
    chosen = waves.select("source", "wave").unique()
    units = raking.units.join(chosen, on=["source", "wave"], how="semi")
    stratum = pl.concat_str(*STRATUM_KEYS, separator="|").alias("stratum")
    labels = waves.select("wave", "period_start").unique().sort("period_start", "wave")
    margins = {key: raking.margins.get(key) for key in chosen.rows()}
    return ChosenWaves(units, waves.select(stratum, "region", "n_h"),
                       tuple(labels.get_column("wave")), margins)  # fmt: skip


def calibrated_maker(
    raking: WaveRaking,
    waves: ChosenWaves,
    variables: Mapping[str, CellArrays],
    filters: Filters,
    *,
    by_area: Sequence[str] | None = None,
) -> Callable[[Sequence[str] | None, pl.Expr | None], CalibratedSums]:
    """The ``calibrated_overview_sums`` maker over the chosen waves: the filters are the
    domain; ``variables``: Overview name -> its cells; ``by_area``: the only variables made
    for area domains (None: all; each variable is linearised on its own, so leaving the
    others out changes none of these)."""
    masks = domain_masks(raking, filters, regions=True)
    areal = {n: c for n, c in variables.items() if by_area is None or n in by_area}

    def make(labels: Sequence[str] | None, area: pl.Expr | None) -> CalibratedSums:
        made = variables if area is None else areal or variables
        return _unit_sums_at_once(raking, waves.of(labels), waves.n_h, made, masks, area)

    return make


_FILTERED = {"region": "regions", "sex": "sexes", "age_group": "age_groups",
             "settlement": "settlements"}  # fmt: skip


def _unit_sums_at_once(
    raking: WaveRaking,
    units: pl.DataFrame,
    n_h: pl.DataFrame,
    variables: Mapping[str, CellArrays],
    masks: Mapping[str, np.ndarray],
    area: pl.Expr | None,
) -> CalibratedSums:
    """``calibrated_sums`` of ``units`` (by: wave, or ``area`` of the region and wave)."""
    plan = _plan(raking, units, n_h, area, tuple(variables))
    # issue 11: only the live domains (a region the filters keep) are summed and linearised;
    # the others' sums are all 0 (linearise gives 0 for an all-zero domain), filled in so
    live, compact = plan.live(masks)
    a = plan.summed(list(variables.values()), masks, compact, len(live))
    return plan.sums(linearise(a, plan.layout), compact)
