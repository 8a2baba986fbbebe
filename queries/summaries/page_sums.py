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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from queries.metrics.calibrated import DIMS
from queries.metrics.filters import Filters
from queries.summaries.calibrated import (
    _MISSING,  # a null dimension value: never a domain of its own
    CellArrays,
    WaveRaking,
    domain_masks,
    inside,
)
from queries.summaries.cells import STRATUM_KEYS
from queries.summaries.memory import DELIVERED, Snapshot, _cell_arrays, _raking
from queries.summaries.read import chosen_strata
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
]

_ZEROED = ("n", "sy", *SUM_COLUMNS)
_CODED = ("region", "sex", "age_group", "settlement")


def _cached(snapshot: Snapshot, key: object, make):
    """``make()`` once per snapshot under ``key`` (in the snapshot's raking store)."""
    key = ("page_sums", key)
    with snapshot._raking_lock:
        found = snapshot._raked.get(key)
    if found is None:
        found = make()
        with snapshot._raking_lock:
            found = snapshot._raked.setdefault(key, found)
    return found


def _recent(snapshot: Snapshot, name: str, key: object, make):
    """``make()`` kept per snapshot for the last ``_RECENT`` keys of ``name`` (they depend on
    the selection, so an unbounded store would grow with every filter combination)."""
    with snapshot._raking_lock:
        recent = snapshot._raked.setdefault(("page_sums", name), {})
        found = recent.get(key)
    if found is None:
        found = make()
        with snapshot._raking_lock:
            if len(recent) >= _RECENT:
                recent.pop(next(iter(recent)))
            recent[key] = found
    return found


_RECENT = 16


def kept_strata(snapshot: Snapshot, filters: Filters, source: str | None) -> pl.DataFrame:
    """``read.chosen_strata`` of the snapshot's strata, kept for the last few selections (a
    page asks for the same one several times per filter change; ~10 ms of polars each)."""
    key = (dataclasses.replace(filters, weights=DELIVERED), source)

    def make() -> pl.DataFrame:
        return chosen_strata(None, filters, source, strata=snapshot.strata)

    return _recent(snapshot, "kept", key, make)


def cell_arrays(snapshot: Snapshot, variables: Mapping[str, pl.Expr]) -> dict[str, CellArrays]:
    """``memory._cell_arrays``, its name matching done once per (institutions, expression)
    per snapshot instead of per call (matching every stored expression costs ~6 ms)."""
    out: dict[str, CellArrays] = {}
    for name, expr in variables.items():
        key = ("arrays", str(expr))
        out[name] = _cached(snapshot, key, lambda e=expr: _cell_arrays(snapshot, {"v": e})["v"])
    return out


@dataclass(frozen=True)
class _Fine:
    """Every stored cell of the snapshot: its raking cell, unit, stratum and per coded column
    its raw value's code (into ``WaveRaking.values``)."""

    k: np.ndarray
    unit: np.ndarray
    stratum: np.ndarray
    codes: dict[str, np.ndarray]


def _fine(snapshot: Snapshot, raking: WaveRaking) -> _Fine:
    def make() -> _Fine:
        fine = raking.fine
        codes = {
            c: fine.get_column(c)
            .fill_null(_MISSING)
            .replace_strict(raking.values[c], range(len(raking.values[c])), default=-1)
            .to_numpy()
            for c in _CODED
        }
        columns = (fine.get_column(c).to_numpy() for c in ("_k", "_u", "_s"))
        return _Fine(*columns, codes)

    return _cached(snapshot, "fine", make)


@dataclass(frozen=True)
class _Coding:
    """How cells map to the domains of ``by``: per column, its values and each cell's code
    (raw: from the cell's own code; raked margin columns: from its raking cell's)."""

    by: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]  # per by column
    raw_valid: tuple[np.ndarray, ...]  # per by column: raw code -> value index or -1
    of_k: tuple[np.ndarray | None, ...]  # per by column: raking cell -> value index

    @property
    def size(self) -> int:
        return int(np.prod([len(v) for v in self.values])) if self.by else 1

    def code(self, k: np.ndarray, codes: Mapping[str, np.ndarray]) -> np.ndarray:
        """Each cell's domain (mixed radix over the by columns), -1 for a missing value."""
        out = np.zeros(len(k), dtype=np.int64)
        for column, values, raw, by_k in zip(
            self.by, self.values, self.raw_valid, self.of_k, strict=True
        ):
            value = raw[codes[column]] if by_k is None else by_k[k]
            out = np.where((out < 0) | (value < 0), -1, out * len(values) + value)
        return out

    def frame(self, domains: np.ndarray) -> list[pl.Series]:
        """The by columns of ``domains`` (codes)."""
        out, rest = [], domains.copy()
        for column, values in reversed(list(zip(self.by, self.values, strict=True))):
            out.append(pl.Series(column, values, pl.String)[rest % len(values)])
            rest //= len(values)
        return out[::-1]


def _coding(snapshot: Snapshot, raking: WaveRaking, by: tuple[str, ...], mapped: bool) -> _Coding:
    """``mapped``: a margin column's domains are the values raking uses (``calibrated_sums``'
    by groups); else the raw values (the delivered path's, and the Overview's areas)."""

    def make() -> _Coding:
        values, raw_valid, of_k = [], [], []
        for column in by:
            if mapped and column in DIMS:  # the value raking uses (mapped as calibrated_sums)
                used = raking.cells.get_column(column)
                kept = tuple(sorted(used.unique().to_list()))
                codes = used.replace_strict(kept, range(len(kept))).to_numpy()
                values.append(kept)
                raw_valid.append(np.zeros(0, dtype=np.int64))
                of_k.append(codes.astype(np.int64))
            else:
                everything = raking.values[column]
                kept = tuple(v for v in everything if v != _MISSING)
                index = {v: i for i, v in enumerate(kept)}
                values.append(kept)
                raw_valid.append(np.array([index.get(v, -1) for v in everything], np.int64))
                of_k.append(None)
        return _Coding(by, tuple(values), tuple(raw_valid), tuple(of_k))

    return _cached(snapshot, ("coding", by, mapped), make)


def _existing(snapshot: Snapshot, raking: WaveRaking, coding: _Coding, raked: bool) -> np.ndarray:
    """Which domains have a respondent: units × domains (raked) or strata × domains."""
    key = ("existing", coding.by, tuple(x is None for x in coding.of_k), raked)

    def make() -> np.ndarray:
        fine = _fine(snapshot, raking)
        where = fine.unit if raked else fine.stratum
        rows = raking.units.height if raked else len(raking.strata)
        out = np.zeros((rows, coding.size), dtype=bool)
        d = coding.code(fine.k, fine.codes)
        out[where[d >= 0], d[d >= 0]] = True
        return out

    return _cached(snapshot, key, make)


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
    arrays = cell_arrays(snapshot, variables)
    coding = _coding(snapshot, raking, tuple(by), mapped=False)
    size, domains = len(raking.strata), coding.size
    codes = pl.DataFrame({"stratum": raking.strata}).with_row_index("_s")
    named = kept.with_columns(pl.concat_str(*STRATUM_KEYS, separator="|").alias("stratum"))
    at = named.join(codes, on="stratum", how="inner").select("_s", "n_h")
    n_h = np.zeros(size, dtype=np.int64)
    n_h[at.get_column("_s").to_numpy()] = at.get_column("n_h").to_numpy()
    wanted = np.zeros(size, dtype=bool)
    wanted[at.get_column("_s").to_numpy()] = True
    s, d = np.nonzero(_existing(snapshot, raking, coding, raked=False) & wanted[:, None])
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
            pl.Series("stratum", raking.strata, pl.String)[s[rows]],
            pl.Series("variable", list(arrays), pl.String)[v],
            *(pl.Series(c, sums[c].ravel()) for c in SUM_COLUMNS),
            pl.Series("n", sums["n"].ravel()).round().cast(pl.Int64),
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

    return _recent(snapshot, "units", key, make)


def _frame(
    raking: WaveRaking,
    chosen: _Units,
    made: Mapping[str, np.ndarray],
    names: Sequence[str],
    coding: _Coding,
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
        pl.Series("variable", list(names), pl.String)[v],
        *(pl.Series(c, made[c][v, d, h]) for c in (*SUM_COLUMNS, "sz", "sz2")),
        pl.Series("n", made["n"][v, d, h]).round().cast(pl.Int64),
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
    coding = _coding(snapshot, raking, tuple(by), mapped)
    chosen = _units(snapshot, raking, waves)
    masks = domain_masks(raking, filters, regions=True)
    shape = (len(arrays), chosen.cells, coding.size)
    a = {c: np.zeros(shape) for c in _ZEROED}
    for v, cells in enumerate(arrays.values()):
        at, dom = chosen.position[cells.k], coding.code(cells.k, cells.codes)
        keep = (at >= 0) & inside(cells, masks) & (dom >= 0)
        flat = at[keep] * shape[2] + dom[keep]
        for c in _ZEROED:
            a[c][v] = np.bincount(flat, cells.sums[c][keep], shape[1] * shape[2]).reshape(shape[1:])
    made = linearise(a, chosen.layout)
    existing = _existing(snapshot, raking, coding, raked=True)
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
    return raked_arrays(snapshot, waves, filters, cell_arrays(snapshot, variables), by)


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
    cells = cell_arrays(snapshot, {"y": y})["y"]
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
    coding = _Coding((), (), (), ())
    existing = np.ones((raking.units.height, 1), dtype=bool)
    return _frame(raking, chosen, made, [str(g) for g in ratio], coding, existing)
