"""The Regions page from the summary store (issue 11): the regions' standing (estimates, rank
intervals, above / same / below the country with Holm's correction, the rake-aware contrasts
when the weights are calibrated), composite trust by sex, age group and settlement, and the
wave the page shows, without reading a survey row.

Each is a function of per-cell sums (cell: source|wave|region × sex × age group × settlement).
Delivered weights: the chosen cells summed per (domain, stratum), as ``variable_sums`` sums the
rows. Calibrated weights: the whole wave's cells laid out for ``calibrated_sums`` as the
calibrated Overview does (the raking margins are cell dimensions). The statistics are
``queries.metrics.inference``'s own (``standing_from_sums``, ``calibrated_standing``), so this
path and the raw-row one differ only in where the sums come from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from queries.metrics import combine
from queries.metrics.calibrated import UNIT, wave_margins
from queries.metrics.filters import Filters
from queries.metrics.inference import (
    ALPHA,
    RANK_DRAWS,
    RANK_SEED,
    Contrast,
    Standing,
    calibrated_standing,
    groups_shown,
    standing_from_sums,
)
from queries.metrics.page_weights import WeightedEstimates, WeightedSums
from queries.metrics.trust import composite_expr, trust_columns
from queries.reference.regions import reference_regions
from queries.summaries.calibrated import (
    _domain,  # the filters' domain over cells
    whole_wave_cells,
)
from queries.summaries.cells import STRATUM_KEYS, TRUST
from queries.summaries.memory import CALIBRATED, DELIVERED, Snapshot, _named_cells, snapshot_sums
from queries.summaries.read import chosen_strata
from queries.survey.calibrated_sums import calibrated_sums
from queries.survey.sums import SUM_COLUMNS

__all__ = [
    "groups_from_summaries",
    "latest_wave",
    "latest_wave_of_rows",
    "standing_from_summaries",
]

_KEYS = list(STRATUM_KEYS)
_LAID_OUT = ("region", "sex", "age_group")  # cell dimensions ``whole_wave_cells`` keeps


def latest_wave(strata: pl.DataFrame, filters: Filters, source: str | None) -> str | None:
    """The latest wave of ``source`` (any source when None) that the selection keeps, the
    wave the Regions page shows; ``strata``: the store's strata (or any frame with source,
    wave, region, period_start). SenimError for an unknown wave label, as on the rows."""
    kept = chosen_strata(None, filters, source, strata=strata)
    return kept.sort("period_start", "wave").get_column("wave")[-1] if kept.height else None


@dataclass(frozen=True)
class _Wave:
    """One wave of one source under the filters, as the store holds it."""

    snapshot: Snapshot
    filters: Filters
    kept: pl.DataFrame  # the selection's strata (the region filter applied)
    whole: pl.DataFrame  # every region's strata (raking takes the whole wave)


def _wave(snapshot: Snapshot, filters: Filters, source: str, wave: str) -> _Wave:
    strata, this = snapshot.strata, pl.col("wave") == wave
    kept = chosen_strata(None, filters, source, strata=strata).filter(this)
    whole = chosen_strata(None, replace(filters, regions=()), source, strata=strata).filter(this)
    return _Wave(snapshot, filters, kept, whole)


def _composite(snapshot: Snapshot, institutions: Sequence[str]) -> pl.Expr:
    """The composite over ``institutions`` (all when none), as the rows' path builds it."""
    columns = pl.DataFrame(schema={f"{TRUST}{i}": pl.Float64 for i in snapshot.institutions})
    return composite_expr(trust_columns(columns, institutions))


def _delivered(w: _Wave, variables: Mapping[str, pl.Expr], by: str | None) -> pl.DataFrame:
    """``variable_sums(selection rows, variables, by=[by])`` from the cells: per (by value,
    stratum) where the stratum has a respondent with that value, zero sums without an answer."""
    if w.kept.is_empty():
        return pl.DataFrame()
    if by is None or by in STRATUM_KEYS:  # per stratum already
        return snapshot_sums(w.snapshot, w.kept, w.filters, variables)
    keys = [*_KEYS, by]
    cells, names = _named_cells(w.snapshot, variables)
    strata = w.kept.select(_KEYS)
    found = (
        cells.join(strata, on=_KEYS, how="semi")
        .filter(_domain(w.filters))
        .group_by(*keys, "variable")
        .agg(pl.col("n", *SUM_COLUMNS).sum())
        .rename({"variable": "stored"})
    )
    wanted = pl.DataFrame(
        {"variable": list(names), "stored": list(names.values())},
        schema={"variable": pl.String, "stored": pl.String},
    )
    present = w.snapshot.totals.join(strata, on=_KEYS, how="semi").select(keys).unique()
    return (
        present.join(w.kept.select(*_KEYS, "n_h"), on=_KEYS)
        .join(wanted, how="cross")
        .join(found, on=[*keys, "stored"], how="left", nulls_equal=True)
        .with_columns(
            pl.col("n", *SUM_COLUMNS).fill_null(0),
            pl.concat_str(*_KEYS, separator="|").alias("stratum"),
            pl.lit(None, pl.Float64).alias("N_h"),
        )
        .select(by, "stratum", "variable", *SUM_COLUMNS, "n", "n_h", "N_h")
    )


def _wave_cells(w: _Wave, variables: Mapping[str, pl.Expr]) -> tuple[pl.DataFrame, dict]:
    """The stored cells of ``variables`` in the wave, and each name's stored name."""
    cells, names = _named_cells(w.snapshot, variables)
    return cells.join(w.whole.select(_KEYS), on=_KEYS, how="semi"), names


def _laid_out(
    w: _Wave, totals: pl.DataFrame, cells: pl.DataFrame, names: dict, by: str | None
) -> pl.DataFrame:
    """``whole_wave_cells`` of the wave with the ``by`` column (the settlement, which that
    layout sums over, is laid out one value at a time)."""
    if by is None or by in _LAID_OUT:
        return whole_wave_cells(w.whole, totals, cells, names, w.filters)
    parts = []
    for value in totals.get_column(by).unique().to_list():
        pick = pl.col(by).is_null() if value is None else pl.col(by) == value
        part = whole_wave_cells(w.whole, totals.filter(pick), cells.filter(pick), names, w.filters)
        parts.append(part.with_columns(pl.lit(value, pl.String).alias(by)))
    return pl.concat(parts)


def _raked(
    w: _Wave, cells: pl.DataFrame, names: dict, margins: Mapping, by: str | None
) -> WeightedSums:
    """As ``page_weights.weighted_sums`` with calibrated weights: the wave raked to its
    margins, the filters (region included) as the domain, domains per ``by`` value."""
    totals = w.snapshot.totals.join(w.whole.select(_KEYS), on=_KEYS, how="semi")
    rows = _laid_out(w, totals, cells, names, by)
    domains = [by] if by else []
    made = calibrated_sums(
        rows, margins, unit=UNIT, by=domains, carry=["period_start"], totals=totals
    )
    sums = made.sums
    if w.filters.regions and by == "region":  # other regions: empty domains
        sums = sums.filter(pl.col("region").is_in(list(w.filters.regions)))
    left = tuple(sorted({key[1] for key, _ in made.delivered}))
    return WeightedSums(sums, CALIBRATED, left)


def _margins(w: _Wave) -> dict:
    return wave_margins(w.whole, w.snapshot.population, reference_regions())


def _weighted_sums(w: _Wave, variables: Mapping[str, pl.Expr], by: str | None) -> WeightedSums:
    """``page_weights.weighted_sums`` for one wave, from the store."""
    uncalibrated: tuple[str, ...] = ()
    if w.filters.weights == CALIBRATED and w.whole.height:
        margins = _margins(w)
        if any(m is not None for m in margins.values()):
            cells, names = _wave_cells(w, variables)
            return _raked(w, cells, names, margins, by)
        uncalibrated = tuple(sorted({wave for (_, wave) in margins}))
    return WeightedSums(_delivered(w, variables, by), DELIVERED, uncalibrated)


def _contrast_cells(cells: pl.DataFrame, contrasts: Sequence[Contrast]) -> pl.DataFrame:
    """The cells of every contrast's variable v = a·(y − c) from y's cells (the region is a
    cell key, so a and c are constant in a cell): Σwv = a(Σwy − cΣw), Σw²v = a(Σw²y − cΣw²),
    Σw²v² = a²(Σw²y² − 2cΣw²y + c²Σw²), Σv = a(Σy − cn); n, Σw, Σw² stay."""
    table = pl.DataFrame(
        [(k.region, *k.inside, *k.outside) for k in contrasts],
        schema=["_region", "_a_in", "_c_in", "_a_out", "_c_out"],
        orient="row",
    )
    inside = pl.col("region") == pl.col("_region")
    a = pl.when(inside).then(pl.col("_a_in")).otherwise(pl.col("_a_out"))
    c = pl.when(inside).then(pl.col("_c_in")).otherwise(pl.col("_c_out"))
    return (
        cells.join(table, how="cross")
        .with_columns(a.alias("_a"), c.alias("_c"))
        .with_columns(
            (pl.col("_a") * (pl.col("swy") - pl.col("_c") * pl.col("sw"))).alias("swy"),
            (pl.col("_a") * (pl.col("sw2y") - pl.col("_c") * pl.col("sw2"))).alias("sw2y"),
            (
                pl.col("_a") ** 2
                * (
                    pl.col("sw2y2")
                    - 2 * pl.col("_c") * pl.col("sw2y")
                    + pl.col("_c") ** 2 * pl.col("sw2")
                )
            ).alias("sw2y2"),
            (pl.col("_a") * (pl.col("sy") - pl.col("_c") * pl.col("n"))).alias("sy"),
            pl.col("_region").alias("variable"),
        )
        .select(cells.columns)
    )


def standing_from_summaries(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    wave: str,
    *,
    alpha: float = ALPHA,
    draws: int = RANK_DRAWS,
    seed: int = RANK_SEED,
) -> Standing:
    """``inference.weighted_standing`` (the Regions page's ranking of one wave, either
    weights) from the summary store: the same numbers, rank intervals from the same draws."""
    w = _wave(snapshot, filters, source, wave)
    variables = {"composite_trust": _composite(snapshot, filters.institutions)}

    def plain() -> Standing:
        sums = _delivered(w, variables, "region")
        return standing_from_sums(sums, alpha=alpha, draws=draws, seed=seed)

    if filters.weights != CALIBRATED or w.kept.is_empty():
        return plain()
    regional = _weighted_sums(w, variables, "region")
    if regional.weights != CALIBRATED:  # no margins for this wave: as delivered
        return replace(plain(), uncalibrated_waves=regional.uncalibrated_waves)
    whole = _weighted_sums(w, variables, None)
    cells, names = _wave_cells(w, variables)
    y_cells = cells.filter(pl.col("variable") == names["composite_trust"])
    margins = _margins(w)

    def tested(contrasts: Sequence[Contrast]) -> pl.DataFrame:
        made = _contrast_cells(y_cells, contrasts)
        return _raked(w, made, {k.region: k.region for k in contrasts}, margins, None).sums

    made = calibrated_standing(
        regional.sums, whole.sums, tested, alpha=alpha, draws=draws, seed=seed
    )
    return replace(made, uncalibrated_waves=regional.uncalibrated_waves)


def groups_from_summaries(
    snapshot: Snapshot, filters: Filters, source: str, wave: str, by: str
) -> WeightedEstimates:
    """``inference.weighted_by_group`` (composite trust per sex, age group or settlement in
    one wave, either weights) from the summary store."""
    w = _wave(snapshot, filters, source, wave)
    made = _weighted_sums(w, {"composite": _composite(snapshot, filters.institutions)}, by)
    sums = made.sums
    out = combine(sums, by=[by]) if sums.height else pl.DataFrame()
    return groups_shown(WeightedEstimates(out, made.weights, made.uncalibrated_waves), by)


def latest_wave_of_rows(data: object, filters: Filters, source: str | None) -> str | None:
    """``latest_wave`` from a Dataset's rows (the fallback while the store is incomplete)."""
    return latest_wave(data.responses, filters, source)
