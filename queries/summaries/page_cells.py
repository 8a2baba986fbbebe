"""The snapshot's cells coded for the pages' sums (``queries.summaries.page_sums``), kept per
snapshot (issue 11): none of it depends on the filters, so a filter change finds it made.

Each stored cell's raking cell, unit, stratum and per coded column its raw value's code; per
``by`` the domains' values and each cell's domain; which domains have a respondent per unit
or stratum; the strata's positions; and, for the last few selections, the kept strata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import polars as pl

from queries.metrics.calibrated import DIMS
from queries.metrics.filters import Filters, strata_cut
from queries.summaries.calibrated import (
    _MISSING,  # a null dimension value: never a domain of its own
    CellArrays,
    WaveRaking,
)
from queries.summaries.kept import make_room
from queries.summaries.memory import Snapshot, _cell_arrays, _raking
from queries.summaries.read import chosen_strata

__all__ = [
    "Coding",
    "FineCells",
    "StrataIndex",
    "cached",
    "cell_arrays",
    "coding_of",
    "counts",
    "existing_domains",
    "fine_cells",
    "kept_strata",
    "recent",
    "strata_index",
    "texts",
    "wave_cells",
]

T = TypeVar("T")


def cached(snapshot: Snapshot, key: object, make: Callable[[], T]) -> T:
    """``make()`` once per snapshot under ``key`` (in the snapshot's raking store)."""
    key = ("page_sums", key)
    with snapshot._raking_lock:
        found = snapshot._raked.get(key)
    if found is None:
        found = make()
        with snapshot._raking_lock:
            found = snapshot._raked.setdefault(key, found)
    return found


def recent(snapshot: Snapshot, name: str, key: object, make: Callable[[], T]) -> T:
    """``make()`` kept per snapshot for the last ``_RECENT`` keys of ``name`` (they depend on
    the selection, so an unbounded store would grow with every filter combination)."""
    with snapshot._raking_lock:
        kept = snapshot._raked.setdefault(("page_sums", name), {})
        found = kept.get(key)
    if found is None:
        found = make()
        with snapshot._raking_lock:
            make_room(kept, _RECENT)
            kept[key] = found
    return found


_RECENT = 16


def kept_strata(snapshot: Snapshot, filters: Filters, source: str | None) -> pl.DataFrame:
    """``read.chosen_strata`` of the snapshot's strata, kept for the last few selections (a
    page asks for the same one several times per filter change; ~10 ms of polars each), keyed
    on what picks them (``strata_cut``: a change of the domain reuses them)."""
    cut = strata_cut(filters)

    def make() -> pl.DataFrame:
        return chosen_strata(None, cut, source, strata=snapshot.strata)

    return recent(snapshot, "kept", (cut, source), make)


def cell_arrays(snapshot: Snapshot, variables: Mapping[str, pl.Expr]) -> dict[str, CellArrays]:
    """``memory._cell_arrays``, its name matching done once per (institutions, expression)
    per snapshot instead of per call (matching every stored expression costs ~6 ms)."""
    out: dict[str, CellArrays] = {}
    for name, expr in variables.items():
        key = ("arrays", str(expr))
        out[name] = cached(snapshot, key, lambda e=expr: _cell_arrays(snapshot, {"v": e})["v"])
    return out


def wave_cells(
    snapshot: Snapshot, variables: Mapping[str, pl.Expr], strata: pl.DataFrame
) -> dict[str, CellArrays]:
    """``cell_arrays`` of just the cells of the waves ``strata`` (source, wave rows) are in,
    kept for the last few sets of waves: a page's pass then runs over its waves' cells, not
    every wave's (the same cut whatever regions a filter keeps). Exact: the cells left out
    lie in strata the passes mask out, and the order is kept."""
    raking = _raking(snapshot)
    of_wave = strata_index(snapshot, raking).wave
    pairs = zip(strata.get_column("source").to_list(), strata.get_column("wave").to_list(),
                strict=True)  # fmt: skip
    chosen = tuple(sorted({of_wave[pair] for pair in pairs if pair in of_wave}))
    key = (tuple((name, str(expr)) for name, expr in variables.items()), chosen)

    def make() -> dict[str, CellArrays]:
        wanted = np.isin(strata_index(snapshot, raking).wave_code, chosen)
        return {name: _subset(cells, wanted[cells.stratum])
                for name, cells in cell_arrays(snapshot, variables).items()}  # fmt: skip

    return recent(snapshot, "wave_cells", key, make)


def _subset(cells: CellArrays, keep: np.ndarray) -> CellArrays:
    at = np.flatnonzero(keep)
    return CellArrays(
        cells.k[at], cells.unit[at], cells.stratum[at],
        {c: x[at] for c, x in cells.codes.items()}, {c: x[at] for c, x in cells.sums.items()},
    )  # fmt: skip


@dataclass(frozen=True)
class FineCells:
    """Every stored cell of the snapshot: its raking cell, unit, stratum and per coded column
    its raw value's code (into ``WaveRaking.values``)."""

    k: np.ndarray
    unit: np.ndarray
    stratum: np.ndarray
    codes: dict[str, np.ndarray]


def fine_cells(snapshot: Snapshot, raking: WaveRaking) -> FineCells:
    """Every stored cell's raking cell, unit, stratum and codes, once per snapshot."""

    def make() -> FineCells:
        fine = raking.fine
        codes = raking.codes(fine)
        columns = (fine.get_column(c).to_numpy() for c in ("_k", "_u", "_s"))
        return FineCells(*columns, codes)

    return cached(snapshot, "fine", make)


@dataclass(frozen=True)
class Coding:
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
            out.append(texts(column, values, rest % len(values)))
            rest //= len(values)
        return out[::-1]


def texts(name: str, values: Sequence[str], codes: np.ndarray) -> pl.Series:
    """``values`` at ``codes`` as a text column (a list lookup: a Series gather is an
    expression run, ~40 us on a few rows)."""
    return pl.Series(name, [values[i] for i in codes.tolist()], pl.String)


def counts(name: str, values: np.ndarray) -> pl.Series:
    """Whole-number sums (float) as an Int64 column."""
    return pl.Series(name, np.rint(values).astype(np.int64))


def coding_of(snapshot: Snapshot, raking: WaveRaking, by: tuple[str, ...], mapped: bool) -> Coding:
    """``mapped``: a margin column's domains are the values raking uses (``calibrated_sums``'
    by groups); else the raw values (the delivered path's, and the Overview's areas)."""

    def make() -> Coding:
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
        return Coding(by, tuple(values), tuple(raw_valid), tuple(of_k))

    return cached(snapshot, ("coding", by, mapped), make)


def existing_domains(
    snapshot: Snapshot, raking: WaveRaking, coding: Coding, raked: bool
) -> np.ndarray:
    """Which domains have a respondent: units × domains (raked) or strata × domains."""
    key = ("existing", coding.by, tuple(x is None for x in coding.of_k), raked)

    def make() -> np.ndarray:
        fine = fine_cells(snapshot, raking)
        where = fine.unit if raked else fine.stratum
        rows = raking.units.height if raked else len(raking.strata)
        out = np.zeros((rows, coding.size), dtype=bool)
        d = coding.code(fine.k, fine.codes)
        out[where[d >= 0], d[d >= 0]] = True
        return out

    return cached(snapshot, key, make)


@dataclass(frozen=True)
class StrataIndex:
    """The raking's strata: each name's position, each stratum's wave (a code) and each
    (source, wave)'s code."""

    index: dict[str, int]
    wave_code: np.ndarray
    wave: dict[tuple[str, str], int]


def strata_index(snapshot: Snapshot, raking: WaveRaking) -> StrataIndex:
    """The raking's strata by name (``source|wave|region``), once per snapshot."""

    def make() -> StrataIndex:
        waves: dict[tuple[str, str], int] = {}
        codes = [
            waves.setdefault(tuple(name.split("|", 2)[:2]), len(waves)) for name in raking.strata
        ]
        index = {name: i for i, name in enumerate(raking.strata)}
        return StrataIndex(index, np.array(codes, dtype=np.int64), waves)

    return cached(snapshot, "strata", make)
