"""The summary store held in memory for one data version, so a filter change costs a few
numpy passes over the cells (tens to hundreds of thousands of rows, whatever the number of
respondents) instead of a database query.

A ``Snapshot`` holds the strata and the cells of the variables the Overview reads (those of
any institution filter included), laid out once per snapshot as arrays per variable
(``queries.summaries.calibrated.CellArrays``). The composite over another set of institutions
comes from the database's composite cache (``queries.summaries.composite``: summed in SQL on
first use, for every process); any other variable the store does not hold is summed into cells
once per snapshot from the survey rows. For calibrated weights (issue 12) it also holds every
respondent's per-cell n, Σw, Σw² and the population counts: each whole wave is raked once per
snapshot (``WaveRaking``), and a filter change only sums its domain into the raking cells.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl
from sqlalchemy import Engine, select

from queries.contract import POPULATION
from queries.db import data_version
from queries.metrics.calibrated import overview_sums_from, wave_margins
from queries.metrics.dataset import _read  # the fast CSV hand-over of both databases
from queries.metrics.dataset import _stored as _stored_upload  # the typed population table
from queries.metrics.feedback import feedback_variables
from queries.metrics.filters import Filters
from queries.metrics.moved import COMPOSITE
from queries.metrics.overview import (  # the raw-row path's own rules
    OverviewNumbers,
    overview_from_sums,
    overview_variables,
)
from queries.reference.regions import reference_regions
from queries.schema.data import responses, survey_waves, trust_score
from queries.schema.summaries import summary_cells
from queries.summaries.calibrated import (  # noqa: F401 (whole_wave_cells: for pages)
    CellArrays,
    ChosenWaves,
    WaveRaking,
    calibrated_maker,
    cell_totals,
    chosen_waves,
    domain_masks,
    wave_raking,
    whole_wave_cells,
)
from queries.summaries.cells import (
    CELL_SCHEMA,
    RESPONDENTS,
    ROW_COLUMNS,
    STRATUM_KEYS,
    TRUST,
    cell_sums,
    variables_for,
)
from queries.summaries.composite import composite_cells, composite_measure
from queries.summaries.miss_kept import (
    kept_register,
    kept_waves,
    register_side,
    selection,
    stacked_cells,
    stratum_codes,
)
from queries.summaries.persisted import SnapshotFrames, store_frames, stored_frames
from queries.summaries.read import (
    all_strata,
    register_frames,
    stored_institutions,
)
from queries.summaries.unit_plan import ZEROED
from queries.survey.sums import SUM_COLUMNS

DELIVERED = "delivered"  # the weights as in the files
CALIBRATED = "calibrated"  # raked to the population margins of the wave's year (issue 12)


@dataclass(frozen=True)
class Snapshot:
    """One data version of the summary store in memory (see the module docstring)."""

    engine: Engine
    version: str
    strata: pl.DataFrame
    institutions: tuple[str, ...]
    cells: pl.DataFrame  # CELL_SCHEMA rows of the Overview's stored variables
    # issue 12: every respondent's per-cell n, Σw, Σw² (``cell_totals``) and the population
    # counts (small), which raking each wave to its year's margins starts from
    totals: pl.DataFrame
    population: pl.DataFrame
    # variables built from rows: expression text -> their cells (filled on first use)
    _built: dict[str, pl.DataFrame] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    # calibrated weights: every wave raked whole (``WaveRaking``) and each variable's cells as
    # arrays over its raking cells, laid out on first use (none of it depends on the filters)
    _raked: dict[str, object] = field(default_factory=dict, compare=False, repr=False)
    _raking_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    # the Overview's register side per cut of the caller's register frames (``_kept_register``)
    _registers: dict = field(default_factory=dict, compare=False, repr=False)

    def variables(self, institutions: tuple[str, ...]) -> dict[str, pl.Expr]:
        """The Overview's variables for an institution filter (as on the raw-row path)."""
        columns = pl.DataFrame(schema={f"{TRUST}{i}": pl.Float64 for i in self.institutions})
        return overview_variables(columns, institutions)

    def built(self, name: str, expr: pl.Expr) -> pl.DataFrame:
        """The cells of a variable the store does not hold: a composite over another set of
        institutions from the database's composite cache (summed in SQL on first use, for every
        process); anything else summed from the rows once per snapshot."""
        key = str(expr)
        with self._lock:  # one build per snapshot even when sessions ask at once
            if key not in self._built:
                composite = composite_measure(expr)
                if composite is not None:
                    waves = self.strata.select("source", "wave").unique().sort("source", "wave")
                    institutions, measure = composite
                    cells = composite_cells(self.engine, institutions, waves.rows(), measure)
                    self._built[key] = cells.sort(list(CELL_SCHEMA)[:6], nulls_last=True)
                else:
                    rows = _rows_for(self.engine, set(expr.meta.root_names()))
                    self._built[key] = cell_sums(rows, {name: expr})[1]
            return self._built[key].with_columns(variable=pl.lit(name))


def _raking(snapshot: Snapshot) -> WaveRaking:
    """Every wave of the snapshot raked whole to its year's margins (once per snapshot)."""
    with snapshot._raking_lock:
        if "" not in snapshot._raked:
            strata = snapshot.strata
            margins = wave_margins(strata, snapshot.population, reference_regions())
            snapshot._raked[""] = wave_raking(strata, snapshot.totals, margins)
        return snapshot._raked[""]  # type: ignore[return-value]


def _cell_arrays(snapshot: Snapshot, variables: Mapping[str, pl.Expr]) -> dict[str, CellArrays]:
    """Per Overview variable, its cells laid out over the raking cells (kept per snapshot,
    keyed by the expression's text: the same expression has the same cells)."""
    raking = _raking(snapshot)
    out = {}
    for name, expr in variables.items():
        key = f"expr:{expr}"
        with snapshot._raking_lock:
            found = snapshot._raked.get(key)
        if found is None:
            store = variables_for(snapshot.institutions).stored
            same = next((s for s, e in store.items() if e.meta.eq(expr)), None)
            if same is None:
                cells = snapshot.built(f"built:{name}", expr)
            else:
                cells = snapshot.cells.filter(pl.col("variable") == same)
            found = raking.arrays(cells)
            with snapshot._raking_lock:
                snapshot._raked[key] = found
        out[name] = found  # type: ignore[assignment]
    return out


def _stored_overview_names(institutions: tuple[str, ...]) -> list[str]:
    """Stored names of every Overview variable under any institution filter."""
    store = variables_for(institutions)
    columns = pl.DataFrame(schema={f"{TRUST}{i}": pl.Float64 for i in institutions})
    wanted = overview_variables(columns) if institutions else {}
    wanted = {**wanted, **feedback_variables()}  # issue 11: the Feedback page reads them too
    return sorted({s for s, e in store.stored.items() for w in wanted.values() if e.meta.eq(w)})


def load_snapshot(engine: Engine) -> Snapshot:
    """Read the strata and the Overview's cells of the current data version: the frames
    persisted for that version (``queries.summaries.persisted``: one row) when there are,
    else built from the store and persisted for the next process."""
    version = data_version(engine)
    with engine.connect() as conn, conn.begin():
        institutions = stored_institutions(conn)
    names = tuple(_stored_overview_names(institutions))
    frames = stored_frames(engine, version=version, names=names)
    if frames is None or frames.institutions != institutions:
        frames = _built_frames(engine, version, institutions, names)
        store_frames(engine, frames)
    return Snapshot(engine, version, frames.strata, frames.institutions, frames.cells,
                    frames.totals, frames.population)  # fmt: skip


def _built_frames(
    engine: Engine, version: str, institutions: tuple[str, ...], names: tuple[str, ...]
) -> SnapshotFrames:
    """The snapshot's frames summed from the store (what ``load_snapshot`` persists)."""
    with engine.connect() as conn, conn.begin():
        strata = all_strata(conn)
    c = summary_cells.c
    query = select(*(c[name] for name in CELL_SCHEMA)).where(c.variable.in_(names))
    cells = _read(engine, query, dict(CELL_SCHEMA)) if names else pl.DataFrame(schema=CELL_SCHEMA)
    query = select(*(c[name] for name in CELL_SCHEMA)).where(c.variable == RESPONDENTS)
    totals = cell_totals(_read(engine, query, dict(CELL_SCHEMA)))
    population = _stored_upload(engine, POPULATION)
    return SnapshotFrames(version, names, institutions, strata, cells, totals, population)


def warm_snapshot(snapshot: Snapshot) -> None:
    """Do now what the Overview's first page with the default filters would (every wave
    raked, each variable's cells laid out as arrays, the modules its statistics import on
    first use): for a server warming up before its first visitor. What is laid out stays in
    the snapshot, so the page finds it done."""
    sources = snapshot.strata.get_column("source").unique().sort().to_list()
    if sources:  # an empty store has nothing to lay out
        overview_from_summaries(snapshot.engine, Filters(), sources[0], snapshot=snapshot)


def _rows_for(engine: Engine, columns: set[str]) -> pl.DataFrame:
    """Every survey row with the cell keys, the weight and just ``columns`` (trust_* ones
    looked up per respondent), read in the dataset's fast way."""
    r, w = responses.c, survey_waves.c
    plain = sorted(c for c in columns if not c.startswith(TRUST))
    chosen = sorted(c.removeprefix(TRUST) for c in columns if c.startswith(TRUST))
    ratings = [trust_score(i) for i in chosen]
    keys = ["region", "sex", "age", "settlement", "weight"]
    query = select(
        r.id, w.source, w.wave, w.period_start, *(r[k] for k in [*keys, *plain]), *ratings
    ).join_from(responses, survey_waves, r.wave_id == w.id)
    schema = {
        "id": pl.Int64,
        **{k: ROW_COLUMNS[k] for k in ("source", "wave", "period_start", *keys, *plain)},
        **{f"{TRUST}{i}": pl.Float64 for i in chosen},
    }
    return _read(engine, query, schema, key=True)


def snapshot_sums(
    snapshot: Snapshot,
    kept: pl.DataFrame,
    filters: Filters,
    variables: Mapping[str, pl.Expr],
) -> pl.DataFrame:
    """As ``read.summary_sums``, from the snapshot: the kept strata's cells in the domain,
    summed per stratum, every kept stratum with a row per variable (zero sums where it has no
    value). Each variable's cells are arrays kept per snapshot: a filter change is a few
    ``bincount`` passes over them."""
    if kept.is_empty() or not variables:
        return pl.DataFrame()  # what overview_numbers sums when no row is left
    raking = _raking(snapshot)
    arrays = _cell_arrays(snapshot, variables)
    size = len(raking.strata) + 1  # the last: a kept stratum without cells (zero sums)
    code = stratum_codes(snapshot, raking)
    keys = kept.select(pl.concat_str(*STRATUM_KEYS, separator="|")).to_series()
    at = np.array([code.get(k, size - 1) for k in keys.to_list()], dtype=np.int64)
    # all variables at once (issue 11): binned per (variable, stratum); only the kept strata's
    # bins are read, and the last (a kept stratum without cells) is 0
    stacked = stacked_cells(snapshot, list(arrays.values()), size)
    keep = stacked.inside(domain_masks(raking, filters, regions=False))
    flat, values = stacked.vat[keep], stacked.sums[:, keep]
    sums = {}
    for c in ("n", *SUM_COLUMNS):
        found = np.bincount(flat, values[ZEROED.index(c)], len(arrays) * size)
        found = found.reshape(len(arrays), size)
        found[:, size - 1] = 0.0
        sums[c] = found[:, at].T.ravel()  # rows: per kept stratum, every variable
    rows = np.repeat(np.arange(kept.height), len(arrays))
    names = pl.Series("variable", list(arrays), pl.String)
    carried = kept.select(*_CARRIED, keys.alias("stratum"), "n_h")[rows]
    return pl.DataFrame(
        [*carried.get_columns()[:4], names.gather(np.tile(np.arange(len(arrays)), kept.height)),
         *(pl.Series(c, sums[c]) for c in SUM_COLUMNS),
         pl.Series("n", sums["n"]).cast(pl.Int64), carried.get_column("n_h"),
         pl.repeat(None, len(rows), dtype=pl.Float64, eager=True).alias("N_h")]
    )  # fmt: skip


_CARRIED = ("region", "wave", "period_start")  # per stratum, as read.summary_sums carries


def overview_from_summaries(
    engine: Engine,
    filters: Filters,
    source: str,
    *,
    snapshot: Snapshot | None = None,
    proposals: pl.DataFrame | None = None,
    ngo: pl.DataFrame | None = None,
    areas: bool = True,
) -> OverviewNumbers:
    """``overview_numbers`` for (filters, source) from the summary store: no survey row is read
    (but once per snapshot for a composite the store does not hold). ``snapshot``,
    ``proposals``, ``ngo``: what the caller keeps per data version (read here otherwise).
    ``areas=False``: the cards and the trend only (``overview_from_sums``)."""
    snapshot = load_snapshot(engine) if snapshot is None else snapshot
    regions, comparable, kept = selection(snapshot, filters, source)
    filters = replace(filters, regions=regions)
    # as on the raw-row path: no rows left, no variable built (and no error for one)
    variables = snapshot.variables(filters.institutions) if kept.height else {}
    if proposals is None or ngo is None:
        proposals, ngo = register_frames(engine)
        register = register_side(snapshot.strata, proposals, ngo, filters)
    else:
        register = kept_register(snapshot, proposals, ngo, filters)
    uncalibrated: tuple[str, ...] = ()
    # --- issue 12: each whole wave raked to its year's margins, as overview_numbers does ---
    if getattr(filters, "weights", DELIVERED) == CALIBRATED and kept.height:
        raking = _raking(snapshot)
        waves = kept_waves(snapshot, raking, filters, source)
        margins = waves.margins
        uncalibrated = tuple(w for (_, w), m in sorted(margins.items()) if m is None)
        if any(m is not None for m in margins.values()):
            cells = _cell_arrays(snapshot, variables)
            # the map and the regions moved draw composite trust only (issue 11: the area
            # domains' sums of the other variables were made and dropped on every miss)
            make = calibrated_maker(raking, waves, cells, filters, by_area=(COMPOSITE,))
            made = overview_sums_from(make, list(waves.labels), regions=filters.regions,
                                      areas=areas)  # fmt: skip
            numbers = overview_from_sums(made.national, proposals, ngo, filters.institutions,
                                         by_region=made.by_region, moved=made.moved,
                                         register=register, areas=areas)  # fmt: skip
            return replace(numbers, comparable_units=comparable, weights=CALIBRATED,
                           uncalibrated_waves=made.uncalibrated_waves)  # fmt: skip
    # --- end issue 12 ---
    sums = snapshot_sums(snapshot, kept, filters, variables)
    numbers = overview_from_sums(sums, proposals, ngo, filters.institutions, register=register,
                                 areas=areas)  # fmt: skip
    return replace(numbers, comparable_units=comparable, uncalibrated_waves=uncalibrated)


__all__ = [
    "Snapshot",
    "load_snapshot",
    "overview_from_summaries",
    "snapshot_sums",
    "warm_snapshot",
]
