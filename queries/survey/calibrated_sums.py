"""Calibrated (raked) estimates from per-cell sums, without the respondents' rows.

The raking margins (region, sex, age group) are cell dimensions, so the raking factor g is
constant within a cell: IPF on the cells' delivered weight totals gives the same g as raking the
respondents (``queries.survey.calibration``), and the rake-aware linearised variable comes from
per-cell sums too. As there (R's ``rake()`` then ``svymean``/``svyciprop``, ``svyrecvar``): per
domain d, e_i = 1_d (y_i − r_d)/W_d on every respondent, R's ten backfitting sweeps of the
UNWEIGHTED category means of e over the margins give per-category shifts a_m, and
z_i = w_i·g·(e_i − s_c) with s_c = Σ_m a_m[category of the cell]. Per cell that needs Σe, i.e.
the unweighted Σy and n (``sy``, ``n``) of the domain's rows with a value, and the cell's
all-row count, Σw and Σw² (``n_cell``, ``sw_cell``, ``sw2_cell``: rows outside the domain or
without a value still get −w·g·s_c). Per stratum the result is Σz and Σz² (``sz``, ``sz2``),
which ``combine_sums`` uses instead of its own Taylor step; calibrated sums are therefore
combined with exactly the ``by`` they were made for. The linearisation itself is
``queries.survey.raked_linear`` (shared with the summary store's kept layouts).

Missing margin values (a respondent without sex or age group) and categories the margins do not
have (e.g. respondents under 18 when the counts start at 18) form a category of their own,
``UNKNOWN``, whose share of the weighted total stays as delivered; the known categories share
the rest in the population's proportions. The frame-based path gives the same numbers when the
frame's values are mapped the same way and the margins come from ``with_unknown``.
A unit (source, wave) whose margins cannot be met (a margin category without respondents)
keeps its delivered weights and is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from queries.survey.calibration import RAKE_TOL
from queries.survey.raked_linear import RakingCells, linearise
from queries.survey.sums import SUM_COLUMNS

__all__ = [
    "CELL_TOTALS",
    "UNKNOWN",
    "CalibratedSums",
    "Raked",
    "RakingCells",
    "calibrated_sums",
    "linearise",
    "outside_margins",
    "rake_cells",
    "rake_unit",
    "with_unknown",
]

UNKNOWN = "unknown"  # a missing margin value, or one the margins do not have
CELL_TOTALS = ("n_cell", "sw_cell", "sw2_cell")  # every row of the cell, whatever the variable
_MAX_ITER = 1000
Margins = Mapping[str, Mapping[object, float]]


@dataclass(frozen=True)
class CalibratedSums:
    """Per (by, stratum, variable) sums for ``combine_sums`` and what was calibrated.

    ``sums``: the by columns, ``stratum``, carried columns, ``variable``, the calibrated Σw, Σwy,
    Σw², Σw²y, Σw²y² (``SUM_COLUMNS``), ``sz`` and ``sz2`` (Σz, Σz² of the rake-aware
    linearised variable), ``n``, ``n_h``, ``N_h``. ``delivered``: (unit key, reason) of every
    unit left with its delivered weights; reason "no_margins" or the raking problem."""

    sums: pl.DataFrame
    calibrated: tuple[tuple[object, ...], ...]
    delivered: tuple[tuple[tuple[object, ...], str], ...]


def with_unknown(margins: Margins, totals: Mapping[str, Mapping[object, float]]) -> dict:
    """``margins`` with an ``UNKNOWN`` category wherever ``totals`` (delivered Σw per category
    of each margin column, the null category keyed ``UNKNOWN``) has one: it keeps its delivered
    share of the total, the other categories are scaled to the rest."""
    out: dict[str, dict[object, float]] = {}
    for column, targets in margins.items():
        have = totals.get(column, {})
        unknown = have.get(UNKNOWN, 0.0)
        if unknown <= 0 or UNKNOWN in targets:
            out[column] = dict(targets)
            continue
        share = unknown / sum(have.values())
        out[column] = {k: v * (1 - share) for k, v in targets.items()}
        out[column][UNKNOWN] = sum(targets.values()) * share
    return out


def rake_cells(
    codes: Sequence[np.ndarray], targets: Sequence[np.ndarray], weights: np.ndarray
) -> np.ndarray:
    """Raking factor g per cell by IPF, as ``queries.survey.raking.rake`` on the respondents
    (margins in the same order, stopped at the same relative error ``RAKE_TOL``).

    ``codes``: per margin, the category code of every cell; ``weights``: delivered Σw per cell."""
    w = weights.astype(float).copy()
    for _ in range(_MAX_ITER):
        for code, target in zip(codes, targets, strict=True):
            have = np.bincount(code, weights=w, minlength=len(target))
            w = w * target[code] / have[code]
        error = max(
            np.max(np.abs(np.bincount(c, weights=w, minlength=len(t)) - t) / t)
            for c, t in zip(codes, targets, strict=True)
        )
        if error < RAKE_TOL:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(weights > 0, w / weights, 1.0)
    raise ValueError("did_not_converge")


def _codes(cells: pl.DataFrame, margins: Margins) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Category codes of each cell and targets per margin; ValueError names a mismatch."""
    codes, targets = [], []
    for column, wanted in margins.items():
        keys = list(wanted)
        index = {k: i for i, k in enumerate(keys)}
        values = cells.get_column(column).to_list()
        extra = [v for v in values if v not in index]
        if extra:
            raise ValueError(f"no_margin:{column}={extra[0]}")
        code = np.array([index[v] for v in values], dtype=int)
        if len(np.unique(code)) < len(keys):
            absent = next(k for k in keys if index[k] not in set(code))
            raise ValueError(f"no_respondents:{column}={absent}")
        codes.append(code)
        targets.append(np.array([float(wanted[k]) for k in keys]))
    return codes, targets


@dataclass(frozen=True)
class Raked:
    """One unit's raking: the factor g per cell, each margin's category code per cell (none
    when delivered weights are kept) and why they were kept (None: raked)."""

    g: np.ndarray
    codes: tuple[np.ndarray, ...]
    reason: str | None


def _cell_totals(rows: pl.DataFrame, totals: pl.DataFrame | None, dims: list[str]) -> pl.DataFrame:
    """Per (stratum, dims) cell: every row's count, Σw, Σw² (from ``totals``, or the largest
    over the variables of the cells' own ``CELL_TOTALS``, which every variable repeats)."""
    keys = ["stratum", *dims]
    if totals is not None:
        chosen = totals.join(rows.select("stratum").unique(), on="stratum", how="semi")
        return chosen.group_by(keys).agg(pl.col(*CELL_TOTALS).sum()).sort(keys)
    per = rows.group_by("variable", *keys).agg(pl.col(*CELL_TOTALS).sum())
    return per.group_by(keys).agg(pl.col(*CELL_TOTALS).max()).sort(keys)


def rake_unit(cells: pl.DataFrame, margins: Margins | None) -> Raked:
    """One unit's raking on its cells (``CELL_TOTALS`` per (stratum, margin columns), the
    margin columns already mapped to ``UNKNOWN`` where the margins lack the value)."""
    if margins is None:
        return Raked(np.ones(cells.height), (), "no_margins")
    totals = {
        col: dict(cells.group_by(col).agg(pl.col("sw_cell").sum()).iter_rows()) for col in margins
    }
    try:
        codes, targets = _codes(cells, with_unknown(margins, totals))
        return Raked(rake_cells(codes, targets, cells.get_column("sw_cell").to_numpy()),
                     tuple(codes), None)  # fmt: skip
    except ValueError as exc:
        return Raked(np.ones(cells.height), (), str(exc))


def outside_margins(margins: Margins) -> list[pl.Expr]:
    """A category the margins do not have (e.g. under 18) joins the unknown one."""
    return [
        pl.when(pl.col(c).is_in(list(t))).then(pl.col(c)).otherwise(pl.lit(UNKNOWN)).alias(c)
        for c, t in margins.items()
    ]


def _unit_sums(
    rows: pl.DataFrame,
    margins: Margins | None,
    by: list[str],
    dims: list[str],
    totals: pl.DataFrame | None,
) -> tuple[pl.DataFrame, str | None]:
    """One unit's per (by, stratum, variable) sums, raked when ``margins`` can be met."""
    if margins:
        rows = rows.with_columns(outside_margins(margins))
        totals = None if totals is None else totals.with_columns(outside_margins(margins))
    cells = _cell_totals(rows, totals, dims)
    raked = rake_unit(cells, margins or None)
    return _linearised_sums(rows, cells, raked, by), raked.reason


def _linearised_sums(
    rows: pl.DataFrame, cells: pl.DataFrame, raked: Raked, by: list[str]
) -> pl.DataFrame:
    """Per (variable, by domain, stratum) of one unit: ``linearise`` on its cells' arrays."""
    cell_keys = ["stratum", *[c for c in cells.columns if c not in ("stratum", *CELL_TOTALS)]]
    domains = rows.select(by).unique().drop_nulls().sort(by) if by else pl.DataFrame({"_": [0]})
    names = rows.select("variable").unique(maintain_order=True)
    strata = rows.select("stratum", "n_h", "N_h").unique("stratum").sort("stratum")
    part = rows.join(cells.select(cell_keys).with_row_index("_cell"), on=cell_keys)
    part = part.join(names.with_row_index("_var"), on="variable")
    if by:
        part = part.join(domains.with_row_index("_dom"), on=by)
    else:
        part = part.with_columns(_dom=pl.lit(0, pl.UInt32))
    shape = (names.height, cells.height, domains.height)
    at = tuple(part.get_column(c).to_numpy() for c in ("_var", "_cell", "_dom"))
    a = {}
    for col in ("n", "sy", *SUM_COLUMNS):
        a[col] = np.zeros(shape)
        np.add.at(a[col], at, part.get_column(col).cast(pl.Float64).to_numpy())
    h_of_cell = cells.join(strata.with_row_index("_h"), on="stratum", maintain_order="left")
    layout = RakingCells(
        unit=np.zeros(cells.height, dtype=np.int64),
        stratum=h_of_cell.get_column("_h").to_numpy(),
        strata=strata.height,
        count=cells.get_column("n_cell").cast(pl.Float64).to_numpy(),
        sw=cells.get_column("sw_cell").to_numpy(),
        sw2=cells.get_column("sw2_cell").to_numpy(),
        g=raked.g,
        groups=((np.arange(cells.height), raked.codes),) if raked.codes else (),
    )
    # rows in (variable, domain, stratum) order
    stacked = {name: values.ravel() for name, values in linearise(a, layout).items()}
    keys = names.join(domains, how="cross").join(strata, how="cross")
    frame = pl.DataFrame(stacked).with_columns(pl.col("n").round().cast(pl.Int64))
    return pl.concat([keys.drop("_", strict=False), frame], how="horizontal")


def calibrated_sums(
    cells: pl.DataFrame,
    margins: Mapping[tuple[object, ...], Margins | None],
    *,
    unit: Sequence[str],
    by: Sequence[str] = (),
    dims: Sequence[str] = ("region", "sex", "age_group"),
    carry: Sequence[str] = (),
    totals: pl.DataFrame | None = None,
) -> CalibratedSums:
    """Per-stratum sums of every unit (``unit`` columns, e.g. source and wave), raked to its
    margins (``margins[unit key]``; None or missing: delivered weights).

    ``cells``: ``stratum_sums(..., cells=dims)`` output (per by, stratum, cell, variable: n,
    ``sy``, SUM_COLUMNS, ``CELL_TOTALS``, n_h, N_h); ``by`` are the domains estimated (each
    ``by`` group gets a row in every stratum of its unit: its z is not zero outside it).
    ``carry``: columns constant within a stratum returned as they are (region, period_start).
    Rows with a null ``by`` value count in their cells but get no domain of their own.
    ``totals``: per (stratum, dims, any finer keys) ``CELL_TOTALS`` of every respondent, when
    ``cells`` do not carry them on every row (e.g. a store that keeps only cells with values).
    """
    by, unit = list(by), list(unit)
    dims = [d for d in dims if d in cells.columns]
    work = cells.with_columns(pl.col(dims).cast(pl.String).fill_null(UNKNOWN))
    unknown = pl.col(dims).cast(pl.String).fill_null(UNKNOWN)
    total_cells = None if totals is None else totals.with_columns(unknown)
    parts, done, delivered = [], [], []
    for key, rows in work.group_by(unit, maintain_order=True):
        key = tuple(key)
        used = margins.get(key)
        used = None if used is None else {c: t for c, t in used.items() if c in dims}
        out, reason = _unit_sums(rows, used or None, by, dims, total_cells)
        extra = [c for c in dict.fromkeys([*unit, *carry]) if c not in by]
        stratum_cols = rows.select("stratum", *extra)
        out = out.join(stratum_cols.unique("stratum"), on="stratum", how="left")
        parts.append(out.select(*dict.fromkeys([*by, *unit, *carry]), *_OUT))
        if reason is None:
            done.append(key)
        else:
            delivered.append((key, reason))
    if not parts:
        schema = {c: cells.schema[c] for c in dict.fromkeys([*by, *unit, *carry])}
        empty = pl.DataFrame(schema={**schema, **_EMPTY})
        return CalibratedSums(empty, (), ())
    return CalibratedSums(pl.concat(parts), tuple(done), tuple(delivered))


_OUT = ("stratum", "variable", *SUM_COLUMNS, "sz", "sz2", "n", "n_h", "N_h")
_EMPTY = {
    "stratum": pl.String,
    "variable": pl.String,
    **dict.fromkeys((*SUM_COLUMNS, "sz", "sz2"), pl.Float64),
    "n": pl.Int64,
    "n_h": pl.Int64,
    "N_h": pl.Float64,
}
