"""What an Overview miss reuses from the in-memory snapshot (issue 11): the parts of its
work that only some of the filters decide, kept on the ``Snapshot`` per such choice (the
selection's strata and widened regions, the whole waves it rakes, the register side) or per
set of variables (their cells stacked), so a filter change redoes only what it changes.
Everything here is keyed on exactly what decides it; nothing is kept when it raises."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from queries.metrics.filters import Filters, strata_cut
from queries.metrics.overview import _apply, _comparable
from queries.metrics.overview_register import RegisterPart, register_part
from queries.summaries.calibrated import CellArrays, ChosenWaves, WaveRaking, chosen_waves
from queries.summaries.cells import DIMENSIONS
from queries.summaries.kept import make_room
from queries.summaries.read import chosen_strata
from queries.summaries.unit_plan import Stacked, stack

if TYPE_CHECKING:  # memory.py imports this module
    from queries.summaries.memory import Snapshot

__all__ = [
    "kept_register",
    "kept_waves",
    "register_side",
    "selection",
    "stacked_cells",
    "stratum_codes",
]


def register_side(
    strata: pl.DataFrame, proposals: pl.DataFrame, ngo: pl.DataFrame, filters: Filters
) -> RegisterPart:
    """The Overview's register side: the register and NGO rows cut exactly as on the raw-row
    path (its own _apply, given the strata in place of the responses: the same columns but
    the cell dimensions)."""
    probe = strata.with_columns(pl.lit(None, pl.String).alias(c) for c in DIMENSIONS)
    _, proposals, ngo = _apply(probe, proposals, ngo, filters, None)
    return register_part(proposals, ngo)


_REGISTERS_KEPT = 128  # register cuts (regions x sources) kept per snapshot
_SELECTIONS_KEPT = 512  # selections (regions x sources x wave range) kept per snapshot
_STACKS_KEPT = 4  # sets of variables stacked (~16 MB each at 10M: institution filters)


def _kept(snapshot: Snapshot, kind: str, limit: int) -> dict:
    """The snapshot's dict of what is kept of ``kind``, room made for one more (the oldest
    go: a long run's many selections). Two sessions missing at once may both make an entry;
    the later one stays, equal to the other."""
    with snapshot._raking_lock:
        found = snapshot._raked.setdefault(("kept", kind), {})
        make_room(found, limit)
    return found


def kept_register(
    snapshot: Snapshot, proposals: pl.DataFrame, ngo: pl.DataFrame, filters: Filters
) -> RegisterPart:
    """``register_side``, kept on the snapshot per cut (only the regions and sources cut these
    frames) for the frames the caller keeps: issue 11, a miss that changes sex, age group or
    settlement reuses it. Kept with the frames themselves, so an id is never another's."""
    key = (id(proposals), id(ngo), filters.regions, filters.sources)
    found = snapshot._registers.get(key)
    if found is not None and found[0] is proposals and found[1] is ngo:
        return found[2]
    made = register_side(snapshot.strata, proposals, ngo, filters)
    make_room(snapshot._registers, _REGISTERS_KEPT)
    snapshot._registers[key] = (proposals, ngo, made)
    return made


def stacked_cells(snapshot: Snapshot, arrays: list[CellArrays], size: int) -> Stacked:
    """The variables' cells stacked, binned per (variable, stratum) (``unit_plan.Stacked``),
    kept per snapshot and set of variables."""
    kept = _kept(snapshot, "stacked", _STACKS_KEPT)
    key = tuple(id(cells) for cells in arrays)
    found = kept.get(key)
    if found is None:

        def bins(v: int, cells: CellArrays) -> tuple[np.ndarray, np.ndarray]:
            return np.ones(len(cells.k), dtype=bool), v * size + cells.stratum

        found = kept[key] = stack(arrays, bins)  # holds the arrays: their ids stay theirs
    return found


def selection(
    snapshot: Snapshot, filters: Filters, source: str
) -> tuple[tuple[str, ...], tuple[str, ...], pl.DataFrame]:
    """The region filter widened to comparable units over both vintages (region-reform), those
    units, and the strata kept: only the regions, sources and wave range decide them, so they
    are kept per such choice (issue 11: a miss that changes the domain reuses them)."""
    kept = _kept(snapshot, "selection", _SELECTIONS_KEPT)
    key = (strata_cut(filters), source)
    found = kept.get(key)
    if found is None:  # an unknown wave label raises here, and nothing is kept
        widened, comparable = _comparable(snapshot.strata, filters, source)
        strata = chosen_strata(None, widened, source, strata=snapshot.strata)
        found = kept[key] = (widened.regions, comparable, strata)
    return found


def kept_waves(
    snapshot: Snapshot, raking: WaveRaking, filters: Filters, source: str
) -> ChosenWaves:
    """The whole waves the selection rakes (every region), kept per choice of sources and
    wave range (issue 11: the same for every miss that changes anything else)."""
    kept = _kept(snapshot, "waves", _SELECTIONS_KEPT)
    key = (filters.sources, filters.wave_from, filters.wave_to, source)
    found = kept.get(key)
    if found is None:
        whole = replace(filters, regions=(), sexes=(), age_groups=(), settlements=())
        waves = chosen_strata(None, whole, source, strata=snapshot.strata)
        found = kept[key] = chosen_waves(raking, waves)
    return found


def stratum_codes(snapshot: Snapshot, raking: WaveRaking) -> dict[str, int]:
    """Each stratum key's place in ``raking.strata`` (kept per snapshot)."""
    with snapshot._raking_lock:
        found = snapshot._raked.get("stratum codes")
        if found is None:
            found = snapshot._raked["stratum codes"] = {s: i for i, s in enumerate(raking.strata)}
    return found  # type: ignore[return-value]
