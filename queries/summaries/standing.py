"""The Regions page from the summary store (issue 11): the regions' standing (estimates, rank
intervals, above / same / below the country with Holm's correction, the rake-aware contrasts
when the weights are calibrated), composite trust by sex, age group and settlement, and the
wave the page shows, without reading a survey row.

The sums come from ``queries.summaries.pages`` (``weighted_sums`` / ``weighted_estimates``
over the in-memory ``Snapshot``, delivered or raked per whole wave) and the statistics are
``queries.metrics.inference``'s own (``standing_from_sums``, ``calibrated_standing``), so this
path and the raw-row one differ only in where the sums come from. The one thing added here
is the contrasts' cells: a region against the rest is v = a·(y − c) with (a, c) constant in a
cell (the region is a cell key), so its cell sums follow from y's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from queries.metrics.calibrated import UNIT
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
from queries.metrics.page_weights import WeightedEstimates
from queries.summaries.memory import CALIBRATED, DELIVERED, Snapshot
from queries.summaries.pages import (
    _whole,  # the whole waves' cells, margins and totals
    composite_of,
    weighted_estimates,
    weighted_sums,
)
from queries.summaries.read import chosen_strata
from queries.survey.calibrated_sums import calibrated_sums

__all__ = [
    "contrast_cells",
    "groups_from_summaries",
    "latest_wave",
    "latest_wave_of_rows",
    "standing_from_summaries",
]


def latest_wave(strata: pl.DataFrame, filters: Filters, source: str | None) -> str | None:
    """The latest wave of ``source`` (any source when None) that the selection keeps, the
    wave the Regions page shows; ``strata``: the store's strata (or any frame with source,
    wave, region, period_start). SenimError for an unknown wave label, as on the rows."""
    kept = chosen_strata(None, filters, source, strata=strata)
    return kept.sort("period_start", "wave").get_column("wave")[-1] if kept.height else None


def latest_wave_of_rows(data: object, filters: Filters, source: str | None) -> str | None:
    """``latest_wave`` from a Dataset's rows (the fallback while the store is incomplete)."""
    return latest_wave(data.responses, filters, source)


def contrast_cells(cells: pl.DataFrame, contrasts: Sequence[Contrast]) -> pl.DataFrame:
    """The cells of every contrast's variable v = a·(y − c) (named by its region) from y's
    cells (any frame of per-cell n, Σy, Σw, Σwy, Σw², Σw²y, Σw²y² with the region):
    Σwv = a(Σwy − cΣw), Σw²v = a(Σw²y − cΣw²), Σw²v² = a²(Σw²y² − 2cΣw²y + c²Σw²),
    Σv = a(Σy − cn); n, Σw, Σw² stay (v has a value where y has)."""
    table = pl.DataFrame(
        [(k.region, *k.inside, *k.outside) for k in contrasts],
        schema=["_region", "_a_in", "_c_in", "_a_out", "_c_out"],
        orient="row",
    )
    inside = pl.col("region") == pl.col("_region")
    a = pl.when(inside).then(pl.col("_a_in")).otherwise(pl.col("_a_out"))
    c = pl.when(inside).then(pl.col("_c_in")).otherwise(pl.col("_c_out"))
    sw, sw2, sw2y = pl.col("sw"), pl.col("sw2"), pl.col("sw2y")
    return (
        cells.join(table, how="cross")
        .with_columns(a.alias("_a"), c.alias("_c"))
        .with_columns(
            (pl.col("_a") * (pl.col("swy") - pl.col("_c") * sw)).alias("swy"),
            (pl.col("_a") * (sw2y - pl.col("_c") * sw2)).alias("sw2y"),
            (
                pl.col("_a") ** 2
                * (pl.col("sw2y2") - 2 * pl.col("_c") * sw2y + pl.col("_c") ** 2 * sw2)
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
    y = composite_of(snapshot, filters.institutions)
    variables = {"composite_trust": y}
    kept = chosen_strata(None, filters, source, strata=snapshot.strata)
    asked = filters.weights == CALIBRATED and (pl.col("wave") == wave).any()
    if not kept.select(asked).item():  # as the rows: nothing selected, delivered
        filters = replace(filters, weights=DELIVERED)
    kw = {"waves": [wave]}
    regional = weighted_sums(snapshot, filters, source, variables, by=["region"], **kw)
    if regional.weights != CALIBRATED:  # delivered, or no margins for this wave
        plain = standing_from_sums(regional.sums, alpha=alpha, draws=draws, seed=seed)
        return replace(plain, uncalibrated_waves=regional.uncalibrated_waves)
    whole = weighted_sums(snapshot, filters, source, variables, **kw)
    waves = _whole(snapshot, filters, source, [wave])
    y_cells = waves.cells(snapshot, filters, variables)

    def tested(contrasts: Sequence[Contrast]) -> pl.DataFrame:
        cells = contrast_cells(y_cells, contrasts)
        made = calibrated_sums(cells, waves.margins, unit=UNIT, carry=["period_start"],
                               totals=waves.totals)  # fmt: skip
        return made.sums

    made = calibrated_standing(
        regional.sums, whole.sums, tested, alpha=alpha, draws=draws, seed=seed
    )
    return replace(made, uncalibrated_waves=regional.uncalibrated_waves)


def groups_from_summaries(
    snapshot: Snapshot, filters: Filters, source: str, wave: str, by: str
) -> WeightedEstimates:
    """``inference.weighted_by_group`` (composite trust per sex, age group or settlement in
    one wave, either weights) from the summary store."""
    y = composite_of(snapshot, filters.institutions)
    made = weighted_estimates(snapshot, filters, source, {"composite": y}, by=[by], waves=[wave])
    return groups_shown(made, by)
