"""The calibrated Overview's per-unit layout (issue 11), apart from ``calibrated.py``: what
``_unit_sums_at_once`` lays out before any filter counts (the chosen units' raking cells,
each (unit, region)'s domain, the result's rows), made once per (units, domains, variables)
and kept on the data version's ``WaveRaking``; a filter change then only sums its domain's
cells and linearises them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from queries.metrics.calibrated import AREA, DIMS
from queries.summaries.kept import make_room
from queries.survey.calibrated_sums import CalibratedSums, RakingCells
from queries.survey.sums import SUM_COLUMNS

if TYPE_CHECKING:  # calibrated.py imports this module
    from queries.summaries.calibrated import CellArrays, WaveRaking

ZEROED = ("n", "sy", *SUM_COLUMNS)  # what lies outside the filters' domain counts nothing
_CODED = ("region", "sex", "age_group", "settlement")  # the domain columns a filter cuts


@dataclass(frozen=True)
class Stacked:
    """Variables' cells stacked variable after variable (issue 11: one pass per filter change
    instead of one per variable): where each sums (``vat``: its bin, variable-major), its
    domain under a plan (``d``; None elsewhere), its combination of domain codes (``combo``,
    into ``combos``: per coded column, each combination's code) and its sums (``ZEROED`` ×
    cells). ``made_from``: the variables' arrays (kept, so their ids stay theirs)."""

    made_from: tuple
    vat: np.ndarray
    d: np.ndarray | None
    combo: np.ndarray
    combos: dict[str, np.ndarray]
    sums: np.ndarray

    def inside(self, masks: Mapping[str, np.ndarray]) -> np.ndarray:
        """Which cells lie in the domain ``masks`` describe (per column, the codes kept;
        tested once per combination of codes, a few hundred)."""
        ok = np.ones(len(self.combos["region"]), dtype=bool)
        for column, allowed in masks.items():
            ok &= allowed[self.combos[column]]
        return ok[self.combo]


def stack(
    variables: Sequence[CellArrays],
    bins: Callable[[int, CellArrays], tuple[np.ndarray, np.ndarray]],
    domain: Callable[[CellArrays, np.ndarray], np.ndarray] | None = None,
) -> Stacked:
    """``Stacked`` of ``variables``: ``bins(v, cells)`` gives which of the v-th variable's
    cells count and their bins; ``domain(cells, which)``: their domains (a plan's)."""
    vat, d, codes, sums = [], [], [], []
    for v, cells in enumerate(variables):
        mine, at = bins(v, cells)
        vat.append(at.astype(np.int32))  # int32: ~16 instead of ~20 MB a stack at 10M
        if domain is not None:
            d.append(domain(cells, mine).astype(np.int32))
        codes.append(np.stack([cells.codes[c][mine] for c in _CODED]))
        sums.append(np.stack([cells.sums[c][mine] for c in ZEROED]))
    combos, combo = np.unique(np.concatenate(codes, axis=1), axis=1, return_inverse=True)
    return Stacked(
        made_from=tuple(variables),
        vat=np.concatenate(vat),
        d=np.concatenate(d) if domain is not None else None,
        combo=combo.ravel().astype(np.int32),
        combos={c: combos[i] for i, c in enumerate(_CODED)},
        sums=np.concatenate(sums, axis=1),
    )


@dataclass(frozen=True)
class _Plan:
    """What ``_unit_sums_at_once`` lays out before any filter counts: the chosen units' raking
    cells (``position``, ``layout``), each (unit, region)'s domain (``d_of``), and the result
    frame's rows (``base``: per (unit, variable, domain, stratum), ``v``, ``d``, ``h``: where
    each row reads the linearised arrays)."""

    position: np.ndarray
    local_unit: np.ndarray
    d_of: np.ndarray
    domains: int
    cells: int
    layout: RakingCells
    base: pl.DataFrame
    n_h: pl.Series
    at: tuple[np.ndarray, np.ndarray, np.ndarray]
    done: tuple[tuple[str, str], ...]
    delivered: tuple[tuple[tuple[str, str], str], ...]
    # the stacked cells of each set of variables summed under this plan (``summed``)
    stacked: dict = field(default_factory=dict, compare=False, repr=False)

    def live(self, masks: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The domains with a region the filters keep, and each domain's place among them
        (-1: none): only those are summed and linearised (a region profile: one area of ~20;
        the others have no row in the domain, so every sum of theirs is 0)."""
        every = np.arange(self.domains)
        if "region" not in masks:
            return every, every
        live = np.unique(self.d_of[:, masks["region"]])
        if len(live) == self.domains:
            return every, every
        compact = np.full(self.domains, -1)
        compact[live] = np.arange(len(live))
        return live, compact

    def summed(
        self,
        variables: Sequence[CellArrays],
        masks: Mapping[str, np.ndarray],
        compact: np.ndarray,
        live: int,
    ) -> dict[str, np.ndarray]:
        """Per column of ``ZEROED``, the cells in the filters' domain (``masks``) summed per
        (variable, plan cell, live domain): what ``linearise`` takes."""
        stacked = self._stacked(variables)
        keep = stacked.inside(masks)
        flat = stacked.vat[keep]
        if self.domains > 1:
            flat = flat * live + compact[stacked.d[keep]]
        values = stacked.sums[:, keep]
        size = len(variables) * self.cells * live
        shape = (len(variables), self.cells, live)
        return {c: np.bincount(flat, values[i], size).reshape(shape) for i, c in enumerate(ZEROED)}

    def _stacked(self, variables: Sequence[CellArrays]) -> Stacked:
        key = tuple(id(cells) for cells in variables)
        found = self.stacked.get(key)
        if found is None:
            make_room(self.stacked, _STACKS_KEPT)
            found = self.stacked[key] = _stack(self, tuple(variables))
        return found

    def sums(self, made: Mapping[str, np.ndarray], compact: np.ndarray) -> CalibratedSums:
        """``calibrated_sums``' frame: per unit, rows in (variable, domain, stratum) order;
        ``made``: the live domains' (``live``), every sum 0 in the others."""
        v, d, h = self.at
        d = compact[d]
        live = d >= 0
        at = (v, np.where(live, d, 0), h)
        values = {c: np.where(live, made[c][at], 0.0) for c in (*SUM_COLUMNS, "sz", "sz2", "n")}
        values["n"] = np.round(values["n"]).astype(np.int64)  # whole counts summed
        frame = self.base.hstack(pl.DataFrame(values)).hstack(self.fixed)
        return CalibratedSums(frame, self.done, self.delivered)

    @cached_property
    def fixed(self) -> pl.DataFrame:
        """The rows' n_h and N_h (none: no fpc), the same on every filter change."""
        return pl.DataFrame(
            {"n_h": self.n_h, "N_h": pl.repeat(None, len(self.n_h), dtype=pl.Float64, eager=True)}
        )


_PLANS_KEPT = 64  # (units, domains, variables) of the last few filter changes
_STACKS_KEPT = 4  # sets of variables (institution filters) stacked per plan (~16 MB each)


def _stack(plan: _Plan, variables: tuple[CellArrays, ...]) -> Stacked:
    """``Stacked`` of ``variables`` under ``plan`` (once per plan and set of variables): the
    cells in the plan's raking cells, binned per (variable, plan cell), with their domain."""

    def bins(v: int, cells: CellArrays) -> tuple[np.ndarray, np.ndarray]:
        at = plan.position[cells.k]
        mine = at >= 0
        return mine, v * plan.cells + at[mine]

    def domain(cells: CellArrays, mine: np.ndarray) -> np.ndarray:
        return plan.d_of[plan.local_unit[cells.unit[mine]], cells.codes["region"][mine]]

    return stack(variables, bins, domain)


def _plan(
    raking: WaveRaking,
    units: pl.DataFrame,
    n_h: pl.DataFrame,
    area: pl.Expr | None,
    names: tuple[str, ...],
) -> _Plan:
    """The filter-free layout of ``_unit_sums_at_once``, kept on ``raking`` (issue 11: half of
    a calibrated Overview's time was these joins and index grids, the same on every filter
    change). ``n_h`` is the snapshot's, fixed per stratum, so the units' ids name it."""
    key = (
        tuple(units.get_column("_u").to_list()),
        None if area is None else area.meta.serialize(format="binary"),
        names,
    )
    found = raking.plans.get(key)
    if found is None:
        make_room(raking.plans, _PLANS_KEPT)  # a new data version makes a new raking anyway
        found = raking.plans[key] = _new_plan(raking, units, n_h, area, names)
    return found


def _new_plan(
    raking: WaveRaking,
    units: pl.DataFrame,
    n_h: pl.DataFrame,
    area: pl.Expr | None,
    names: tuple[str, ...],
) -> _Plan:
    picked = raking.cells.join(units.select("_u"), on="_u", how="semi").sort("_k")
    position = np.full(raking.cells.height, -1)
    position[picked.get_column("_k").to_numpy()] = np.arange(picked.height)
    local_unit = np.full(raking.units.height, -1)
    local_unit[units.get_column("_u").to_numpy()] = np.arange(units.height)
    strata = picked.select("_u", "stratum").unique(maintain_order=True).with_row_index("_h")
    strata = strata.join(n_h, on="stratum", how="left", maintain_order="left")
    cell_h = picked.join(strata.select("stratum", "_h"), on="stratum", maintain_order="left")
    # the domains of each unit: one (its wave), or the areas of its regions, in order
    if area is None:
        strata = strata.with_columns(_d=pl.lit(0, pl.UInt32), _area=pl.lit(None, pl.String))
    else:
        strata = strata.with_columns(area.alias("_area")).with_columns(
            (pl.col("_area").rank("dense").over("_u") - 1).cast(pl.UInt32).alias("_d")
        )
    domains = int(strata.get_column("_d").max()) + 1
    d_of = np.zeros((units.height, len(raking.values["region"])), dtype=np.int64)
    regions = {r: i for i, r in enumerate(raking.values["region"])}
    for u, region, d in strata.select("_u", "region", "_d").iter_rows():
        d_of[local_unit[u], regions[region]] = d
    cell_strata = cell_h.get_column("_h").to_numpy()
    layout = raking_layout(raking, picked, local_unit, cell_strata, strata.height)
    base, n_h_rows, at = _rows(raking, strata, list(names), area is not None)
    # issue 11: a delivered unit's stratum outside a domain has every sum and Σz exactly 0
    # there (no raking shift reaches it), adding nothing to any estimate, variance or df, and
    # every domain keeps its own strata: those rows are left out (the map's and the regions
    # moved's ~1,200 rows were 90% such zeros)
    own = strata.get_column("_d").to_numpy()[at[2]] == at[1]
    raked = np.array([raking.raked[u].reason is None for u in strata.get_column("_u")])
    needed = own | raked[at[2]]
    if not needed.all():
        base, n_h_rows = base.filter(needed), n_h_rows.filter(needed)
        at = tuple(x[needed] for x in at)
    done, delivered = [], []
    for u, source, wave in units.select("_u", "source", "wave").iter_rows():
        reason = raking.raked[u].reason
        if reason is None:
            done.append((source, wave))
        else:
            delivered.append(((source, wave), reason))
    return _Plan(position, local_unit, d_of, domains, picked.height, layout, base, n_h_rows, at,
                 tuple(done), tuple(delivered))  # fmt: skip


def raking_layout(
    raking: WaveRaking, picked: pl.DataFrame, local_unit: np.ndarray, cell_h: np.ndarray, h: int
) -> RakingCells:
    """The chosen units' raking cells for ``linearise`` (codes made unique across units)."""
    unit_of = picked.get_column("_u").to_numpy()
    g = np.empty(picked.height)
    groups: dict[tuple[str, ...], list] = {}
    start = 0
    for u, part in picked.group_by("_u", maintain_order=True):
        raked, size = raking.raked[u[0]], part.height
        g[start : start + size] = raked.g
        if raked.codes:
            source, wave = raking.units.row(u[0])[1:3]
            key = tuple(c for c in raking.margins[(source, wave)] if c in DIMS)
            groups.setdefault(key, []).append((np.arange(start, start + size), raked.codes))
        start += size
    made = []
    for parts in groups.values():
        at = np.concatenate([p for p, _ in parts])
        codes = []
        for m in range(len(parts[0][1])):
            offsets = np.cumsum([0, *(int(c[m].max()) + 1 for _, c in parts[:-1])])
            shifted = [c[m] + o for (_, c), o in zip(parts, offsets, strict=True)]
            codes.append(np.concatenate(shifted))
        made.append((at, tuple(codes)))
    return RakingCells(
        unit=local_unit[unit_of], stratum=cell_h, strata=h,
        count=picked.get_column("n_cell").cast(pl.Float64).to_numpy(),
        sw=picked.get_column("sw_cell").to_numpy(), sw2=picked.get_column("sw2_cell").to_numpy(),
        g=g, groups=tuple(made),
    )  # fmt: skip


def _rows(
    raking: WaveRaking,
    strata: pl.DataFrame,
    names: list[str],
    by_area: bool,
) -> tuple[pl.DataFrame, pl.Series, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``calibrated_sums``' rows: per unit, in (variable, domain, stratum) order (the key
    columns, n_h, and where each row reads the arrays: variable, domain, stratum)."""
    info = strata.join(raking.units.select("_u", "source", "wave", "period_start"), on="_u",
                       maintain_order="left")  # fmt: skip
    domains = strata.select("_u", "_d", "_area").unique().sort("_u", "_d")
    first = domains.with_row_index("_at").group_by("_u").agg(pl.col("_at").min(), pl.len())
    v_at, d_at, h_at = [], [], []
    h_of = info.get_column("_u").to_numpy()
    for u, at, count in first.sort("_u").iter_rows():
        h = np.flatnonzero(h_of == u)  # the unit's strata, in stratum order
        grid = np.meshgrid(np.arange(len(names)), np.arange(count), h, indexing="ij")
        v_at.append(grid[0].ravel())
        d_at.append(at + grid[1].ravel())
        h_at.append(grid[2].ravel())
    v, d, h = (np.concatenate(x) for x in (v_at, d_at, h_at))
    local_d = d - np.repeat(first.sort("_u").get_column("_at").to_numpy(),
                            [len(x) for x in v_at])  # fmt: skip
    rows = info[h].select("wave", "source", "period_start", "stratum", "n_h")
    domain = [domains.get_column("_area")[d].alias(AREA)] if by_area else []
    base = pl.DataFrame([*domain, *rows.get_columns()[:4], pl.Series("variable", names)[v]])
    return base, rows.get_column("n_h").cast(pl.Int64), (v, local_d, h)
