"""The pages' sums per ``by`` domain straight from the snapshot's cell arrays (issue 11: a
filter change in a few numpy passes over cells, whatever the number of respondents).

Calibrated: every wave is raked whole once per data version (``memory._raking``); the raking
factor g of a cell is the same whatever the domain, so a filter change only sums each domain's
cells (the filters' domain × a ``by`` group) into the raking cells and linearises them
(``calibrated_sums.linearise``, the code ``calibrated_sums`` itself runs). Delivered: the
kept strata's cells in the filters' domain summed per (by group, stratum). Both give exactly
the frames ``calibrated_sums`` / ``variable_sums`` give from the same cells: the same domains
(a ``by`` group of the unit, or of the stratum, with a respondent), the same zero rows.

A ``by`` value is a raw cell value on the delivered path; on the calibrated one a margin
column (region, sex, age group) is the value raking uses (``UNKNOWN`` for a missing value or
one the wave's margins lack, as ``calibrated_sums`` maps it), the settlement its raw value.
The cells' codes, domains and strata come from ``queries.summaries.page_cells`` (per snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from queries.metrics.filters import Filters
from queries.summaries.calibrated import CellArrays, WaveRaking, domain_masks, inside
from queries.summaries.cells import STRATUM_KEYS
from queries.summaries.memory import Snapshot, _raking
from queries.summaries.page_cells import (
    Coding,
    cell_arrays,
    coding_of,
    counts,
    existing_domains,
    kept_strata,
    recent,
    strata_index,
    texts,
    wave_cells,
)
from queries.summaries.unit_plan import raking_layout  # the Overview's raking cells
from queries.survey.calibrated_sums import CalibratedSums, RakingCells, linearise
from queries.survey.sums import SUM_COLUMNS

__all__ = [
    "cell_arrays",
    "centred_sums",
    "delivered_sums",
    "kept_strata",
    "raked_arrays",
    "raked_sums",
    "recent",
]

_ZEROED = ("n", "sy", *SUM_COLUMNS)


def delivered_sums(
    snapshot: Snapshot,
    kept: pl.DataFrame,
    filters: Filters,
    variables: Mapping[str, pl.Expr],
    by: Sequence[str],
) -> pl.DataFrame:
    """``variable_sums`` of the kept strata's rows in the filters' domain per (by group with
    a respondent in the stratum, stratum, variable); zero where nobody in the domain answered."""
    if kept.is_empty():
        return pl.DataFrame()
    raking = _raking(snapshot)
    arrays = wave_cells(snapshot, variables, kept)
    coding = coding_of(snapshot, raking, tuple(by), mapped=False)
    size, domains = len(raking.strata), coding.size
    strata = strata_index(snapshot, raking)
    n_h = np.zeros(size, dtype=np.int64)
    wanted = np.zeros(size, dtype=bool)
    for *key, n in zip(*(kept.get_column(c).to_list() for c in (*STRATUM_KEYS, "n_h")),
                       strict=True):  # fmt: skip
        at = strata.index.get("|".join(key))
        if at is not None:  # a kept stratum the store has cells of
            n_h[at], wanted[at] = n, True
    s, d = np.nonzero(existing_domains(snapshot, raking, coding, raked=False) & wanted[:, None])
    flat = s * domains + d  # the rows: (stratum, domain) pairs with a respondent
    masks = domain_masks(raking, filters, regions=False)
    sums = {c: np.zeros((len(arrays), len(flat))) for c in ("n", *SUM_COLUMNS)}
    for v, cells in enumerate(arrays.values()):
        dom = coding.code(cells.k, cells.codes)
        keep = wanted[cells.stratum] & inside(cells, masks) & (dom >= 0)
        where = cells.stratum[keep] * domains + dom[keep]
        for c in sums:
            sums[c][v] = np.bincount(where, cells.sums[c][keep], size * domains)[flat]
    v = np.repeat(np.arange(len(arrays)), len(flat))
    rows = np.tile(np.arange(len(flat)), len(arrays))
    return pl.DataFrame(
        [
            *coding.frame(d[rows]),
            texts("stratum", raking.strata, s[rows]),
            texts("variable", list(arrays), v),
            *(pl.Series(c, sums[c].ravel()) for c in SUM_COLUMNS),
            counts("n", sums["n"].ravel()),
            pl.Series("n_h", n_h[s[rows]]),
            pl.Series("N_h", [None] * len(rows), pl.Float64),
        ]
    )


@dataclass(frozen=True)
class _Units:
    """The chosen units' raking cells as ``linearise`` takes them, and their strata."""

    units: pl.DataFrame  # _u, source, wave, period_start
    position: np.ndarray  # per raking cell: its place among the picked ones, or -1
    local_unit: np.ndarray  # per unit: its place among the chosen ones, or -1
    strata: pl.DataFrame  # _h, _u, stratum, n_h
    layout: RakingCells
    calibrated: tuple[tuple[str, str], ...]  # the units raked, as calibrated_sums names them
    delivered: tuple[tuple[tuple[str, str], str], ...]  # the others, and why

    @property
    def cells(self) -> int:
        return len(self.layout.g)

    @cached_property
    def info(self) -> pl.DataFrame:
        """Per stratum (``_h``): source, wave, period_start, stratum."""
        info = self.strata.join(self.units, on="_u", how="left", maintain_order="left")
        return info.select("source", "wave", "period_start", "stratum")

    @cached_property
    def n_h(self) -> np.ndarray:
        return self.strata.get_column("n_h").cast(pl.Int64).to_numpy()


def _units(snapshot: Snapshot, raking: WaveRaking, waves: pl.DataFrame) -> _Units:
    """``waves``: the chosen strata (source, wave, region, n_h), every region. None of it
    depends on the filters' domain: kept per snapshot and set of waves (the last few)."""
    key = tuple(sorted(waves.select("source", "wave").unique().rows()))

    def make() -> _Units:
        units = raking.units.join(pl.DataFrame(list(key), schema=["source", "wave"], orient="row"),
                                  on=["source", "wave"], how="semi")  # fmt: skip
        picked = raking.cells.join(units.select("_u"), on="_u", how="semi").sort("_k")
        position = np.full(raking.cells.height, -1)
        position[picked.get_column("_k").to_numpy()] = np.arange(picked.height)
        local_unit = np.full(raking.units.height, -1)
        local_unit[units.get_column("_u").to_numpy()] = np.arange(units.height)
        n_h = waves.select(pl.concat_str(*STRATUM_KEYS, separator="|").alias("stratum"), "n_h")
        strata = picked.select("_u", "stratum").unique(maintain_order=True).with_row_index("_h")
        strata = strata.join(n_h, on="stratum", how="left", maintain_order="left")
        cell_h = picked.join(strata.select("stratum", "_h"), on="stratum", maintain_order="left")
        h = cell_h.get_column("_h").to_numpy()
        layout = raking_layout(raking, picked, local_unit, h, strata.height)
        rows = units.select("_u", "source", "wave").iter_rows()
        reasons = [((source, wave), raking.raked[u].reason) for u, source, wave in rows]
        done = tuple(key for key, reason in reasons if reason is None)
        left = tuple((key, reason) for key, reason in reasons if reason is not None)
        return _Units(units, position, local_unit, strata, layout, done, left)

    return recent(snapshot, "units", key, make)


def _frame(
    raking: WaveRaking,
    chosen: _Units,
    made: Mapping[str, np.ndarray],
    names: Sequence[str],
    coding: Coding,
    existing: np.ndarray,
) -> CalibratedSums:
    """``calibrated_sums``' frame: a row per (variable, domain of the unit, stratum)."""
    unit_of_h = chosen.local_unit[chosen.strata.get_column("_u").to_numpy()]
    local = existing[chosen.units.get_column("_u").to_numpy()]  # chosen units × domains
    h, d = np.nonzero(local[unit_of_h])
    v = np.repeat(np.arange(len(names)), len(h))
    h, d = np.tile(h, len(names)), np.tile(d, len(names))
    rows = chosen.info[h]
    columns = [
        *coding.frame(d),
        *rows.get_columns(),
        texts("variable", list(names), v),
        *(pl.Series(c, made[c][v, d, h]) for c in (*SUM_COLUMNS, "sz", "sz2")),
        counts("n", made["n"][v, d, h]),
        pl.Series("n_h", chosen.n_h[h]),
        pl.Series("N_h", [None] * len(h), pl.Float64),
    ]
    return CalibratedSums(pl.DataFrame(columns), chosen.calibrated, chosen.delivered)


def raked_arrays(
    snapshot: Snapshot,
    waves: pl.DataFrame,
    filters: Filters,
    arrays: Mapping[str, CellArrays],
    by: Sequence[str],
    *,
    mapped: bool = True,
) -> CalibratedSums:
    """Raked sums per (by domain, stratum) of cell arrays (``cell_arrays``, or made from
    them) over the chosen whole waves, the filters a domain. ``mapped``: a margin column's
    domains as ``calibrated_sums`` makes them (else the raw values, as the Overview's areas)."""
    raking = _raking(snapshot)
    coding = coding_of(snapshot, raking, tuple(by), mapped)
    chosen = _units(snapshot, raking, waves)
    masks = domain_masks(raking, filters, regions=True)
    shape = (len(arrays), chosen.cells, coding.size)
    a = {c: np.zeros(shape) for c in _ZEROED}
    placed: tuple[object, np.ndarray, np.ndarray] | None = None
    for v, cells in enumerate(arrays.values()):
        if placed is None or placed[0] is not cells.k:  # contrasts share their cells' keys
            at, dom = chosen.position[cells.k], coding.code(cells.k, cells.codes)
            keep = (at >= 0) & inside(cells, masks) & (dom >= 0)
            placed = (cells.k, keep, at[keep] * shape[2] + dom[keep])
        _, keep, flat = placed
        for c in _ZEROED:
            a[c][v] = np.bincount(flat, cells.sums[c][keep], shape[1] * shape[2]).reshape(shape[1:])
    made = linearise(a, chosen.layout)
    existing = existing_domains(snapshot, raking, coding, raked=True)
    return _frame(raking, chosen, made, list(arrays), coding, existing)


def raked_sums(
    snapshot: Snapshot,
    waves: pl.DataFrame,
    filters: Filters,
    variables: Mapping[str, pl.Expr],
    by: Sequence[str],
) -> CalibratedSums:
    """``calibrated_sums(whole_wave_cells(...), by=by, carry=period_start)`` of the chosen
    whole waves (``waves``: their strata, every region) from the snapshot's raking."""
    return raked_arrays(snapshot, waves, filters, wave_cells(snapshot, variables, waves), by)


def centred_sums(
    snapshot: Snapshot,
    waves: pl.DataFrame,
    filters: Filters,
    y: pl.Expr,
    by: str,
    ratio: Mapping[object, tuple[float, float]],
) -> CalibratedSums:
    """The pooled estimate's second pass (``page_weights.pooled_from``): per group g a
    variable ``str(g)``, v = y − r_g on g's respondents with a value in the filters' domain
    and 0 on every other respondent of the wave, raked from the snapshot's raking. Every
    raking cell brings its count, Σw, Σw² (v is never null); g's cells of y bring
    Σv = Σy − r·n, Σwv = Σwy − r·Σw, Σw²v = Σw²y − r·Σw², Σw²v² = Σw²y² − 2r·Σw²y + r²·Σw²."""
    raking = _raking(snapshot)
    cells = wave_cells(snapshot, {"y": y}, waves)["y"]
    chosen = _units(snapshot, raking, waves)
    masks = domain_masks(raking, filters, regions=True)
    layout = chosen.layout
    shape = (len(ratio), chosen.cells, 1)
    a = {c: np.zeros(shape) for c in _ZEROED}
    a["n"][:, :, 0], a["sw"][:, :, 0], a["sw2"][:, :, 0] = layout.count, layout.sw, layout.sw2
    at = chosen.position[cells.k]
    keep = (at >= 0) & inside(cells, masks)
    values = raking.values[by]  # the group is the raw value (as the rows' join on it)
    s = cells.sums
    for v, (group, (r, _)) in enumerate(ratio.items()):
        code = values.index(str(group)) if str(group) in values else -2
        mine = keep & (cells.codes[by] == code)
        where, size = at[mine], shape[1]
        made = {
            "sy": s["sy"] - r * s["n"],
            "swy": s["swy"] - r * s["sw"],
            "sw2y": s["sw2y"] - r * s["sw2"],
            "sw2y2": s["sw2y2"] - 2 * r * s["sw2y"] + r * r * s["sw2"],
        }
        for c, x in made.items():
            a[c][v, :, 0] = np.bincount(where, x[mine], size)
    made = linearise(a, layout)
    coding = Coding((), (), (), ())
    existing = np.ones((raking.units.height, 1), dtype=bool)
    return _frame(raking, chosen, made, [str(g) for g in ratio], coding, existing)
