"""The Regions page from the summary store (issue 11): the regions' standing (estimates, rank
intervals, above / same / below the country with Holm's correction, the rake-aware contrasts
when the weights are calibrated), composite trust by sex, age group and settlement, and the
wave the page shows, without reading a survey row.

The sums come from ``queries.summaries.pages`` (``weighted_sums`` / ``weighted_estimates``
over the in-memory ``Snapshot``, delivered or raked per whole wave) and the statistics are
``queries.metrics.inference``'s own (``standing_from_sums``, ``calibrated_standing``), so this
path and the raw-row one differ only in where the sums come from. The calibrated standing
uses the snapshot's raking (each wave raked once per data version, ``memory._raking``), as
the Overview does. The one thing added here is the contrasts' cells: a region against the
rest is v = a·(y − c) with (a, c) constant in a cell (the region is a cell key), so its cell
sums follow from y's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

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
from queries.summaries.calibrated import CellArrays
from queries.summaries.memory import CALIBRATED, DELIVERED, Snapshot, _raking
from queries.summaries.page_cells import wave_cells
from queries.summaries.page_sums import kept_strata, raked_arrays
from queries.summaries.pages import composite_of, weighted_estimates, weighted_sums
from queries.summaries.read import chosen_strata

__all__ = [
    "contrast_arrays",
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


def contrast_arrays(
    y: CellArrays, contrasts: Sequence[Contrast], regions: Sequence[str]
) -> dict[str, CellArrays]:
    """Per contrast (named by its region), the cells of v = a·(y − c) from y's cells
    (``regions``: the region codes' values): Σwv = a(Σwy − cΣw), Σw²v = a(Σw²y − cΣw²),
    Σw²v² = a²(Σw²y² − 2cΣw²y + c²Σw²), Σv = a(Σy − cn); n, Σw, Σw² stay (v has a value
    where y has)."""
    code = {region: i for i, region in enumerate(regions)}
    s, out = y.sums, {}
    for k in contrasts:
        inside = y.codes["region"] == code[k.region]
        a = np.where(inside, k.inside[0], k.outside[0])
        c = np.where(inside, k.inside[1], k.outside[1])
        sums = {
            **s,
            "sy": a * (s["sy"] - c * s["n"]),
            "swy": a * (s["swy"] - c * s["sw"]),
            "sw2y": a * (s["sw2y"] - c * s["sw2"]),
            "sw2y2": a * a * (s["sw2y2"] - 2 * c * s["sw2y"] + c * c * s["sw2"]),
        }
        out[k.region] = replace(y, sums=sums)
    return out


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
    weights) from the summary store: the same numbers, rank intervals from the same draws.
    Calibrated: the wave as the snapshot raked it once (``memory._raking``), the region, the
    whole domain and each contrast summed into its raking cells and linearised."""
    y = composite_of(snapshot, filters.institutions)
    variables = {"composite_trust": y}
    kept = kept_strata(snapshot, filters, source).filter(pl.col("wave") == wave)
    margins = _raking(snapshot).margins.get((source, wave)) if kept.height else None
    if filters.weights != CALIBRATED or margins is None:  # as the rows: delivered
        plain = replace(filters, weights=DELIVERED)
        sums = weighted_sums(snapshot, plain, source, variables, by=["region"], waves=[wave])
        made = standing_from_sums(sums.sums, alpha=alpha, draws=draws, seed=seed)
        asked = filters.weights == CALIBRATED and kept.height  # calibration asked, no margins
        return replace(made, uncalibrated_waves=(wave,) if asked else ())
    waves = kept_strata(snapshot, replace(filters, regions=()), source)
    waves = waves.filter(pl.col("wave") == wave)
    y_cells = wave_cells(snapshot, variables, waves)  # the wave's cells only
    # the regions as the Overview's areas (their raw values), the whole domain, the contrasts
    regional = raked_arrays(snapshot, waves, filters, y_cells, ["region"], mapped=False)
    by_region = regional.sums
    if filters.regions:  # other regions: empty domains
        by_region = by_region.filter(pl.col("region").is_in(list(filters.regions)))
    values = _raking(snapshot).values["region"]

    def tested(contrasts: Sequence[Contrast]) -> pl.DataFrame:
        cells = contrast_arrays(y_cells["composite_trust"], contrasts, values)
        return raked_arrays(snapshot, waves, filters, cells, []).sums

    whole = raked_arrays(snapshot, waves, filters, y_cells, []).sums
    made = calibrated_standing(by_region, whole, tested, alpha=alpha, draws=draws, seed=seed)
    left = tuple(sorted({key[1] for key, _ in regional.delivered}))
    return replace(made, uncalibrated_waves=left)


def groups_from_summaries(
    snapshot: Snapshot, filters: Filters, source: str, wave: str, by: str
) -> WeightedEstimates:
    """``inference.weighted_by_group`` (composite trust per sex, age group or settlement in
    one wave, either weights) from the summary store."""
    y = composite_of(snapshot, filters.institutions)
    made = weighted_estimates(snapshot, filters, source, {"composite": y}, by=[by], waves=[wave])
    return groups_shown(made, by)
