"""The pages' weights switch (issue 12) from the in-memory summary store (issue 11): the same
``weighted_sums`` / ``weighted_estimates`` / ``pooled_estimates`` as
``queries.metrics.page_weights``, with a ``Snapshot`` in place of the dataset, so a page's cost
is a polars pass over cells whatever the number of respondents.

Every one of them is an exact function of per-cell sums (cell = source|wave|region × sex × age
group × settlement): delivered sums are the chosen cells summed per (by, stratum); calibrated
ones use each whole wave as the snapshot raked it once per data version (the filters a domain,
as the Overview does) and only sum and linearise the domains' cells per call; the pooled
estimate's second pass, v = y − r_g on g's respondents in the domain and 0 elsewhere, has
per-cell sums Σwv = Σwy − r·Σw (and so on) over g's cells plus every respondent's Σw, Σw² and
count (``queries.summaries.page_sums``). ``by``: any of region, sex, age_group, settlement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from queries.metrics.feedback import FEEDBACK_SHARES, feedback_variables
from queries.metrics.filters import Filters
from queries.metrics.page_weights import (
    WeightedEstimates,
    WeightedSums,
    calibrated_result,
    estimates_of,
    pooled_from,
)
from queries.metrics.trust import composite_expr, trust_columns
from queries.summaries.cells import TRUST
from queries.summaries.memory import CALIBRATED, DELIVERED, Snapshot, _raking
from queries.summaries.page_sums import (
    centred_sums,
    delivered_sums,
    kept_strata,
    raked_sums,
    recent,
)
from queries.survey.calibrated_sums import CalibratedSums

__all__ = [
    "Frames",
    "composite_of",
    "feedback_numbers",
    "pooled_estimates",
    "trust_by_region",
    "weighted_estimates",
    "weighted_sums",
]


@dataclass(frozen=True)
class Frames:
    """The register and the NGO rows (small) for metrics that take a dataset only for them
    (``register_numbers``, ``ngo_year``): ``read.register_frames``' pair, no survey row."""

    proposals: object  # the register: its rows or its summary (queries.metrics.register)
    ngo: pl.DataFrame


def _kept(
    snapshot: Snapshot, filters: Filters, source: str, waves: Sequence[str] | None
) -> pl.DataFrame:
    """The strata the raw path's ``selection_rows`` keeps (source, wave, region, period_start,
    n_h); the raw path's messages (an unknown wave)."""
    if waves is None:
        return kept_strata(snapshot, filters, source)
    key = (dataclasses.replace(filters, weights=DELIVERED), source, tuple(waves))

    def make() -> pl.DataFrame:
        kept = kept_strata(snapshot, filters, source)
        return kept.filter(pl.col("wave").is_in(list(waves)))

    return recent(snapshot, "kept_waves", key, make)  # asked again by each page's call


def weighted_sums(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    *,
    by: Sequence[str] = (),
    waves: Sequence[str] | None = None,
) -> WeightedSums:
    """``queries.metrics.page_weights.weighted_sums`` from the summary store: per (by,
    stratum, variable) sums of ``variables`` over ``source``'s chosen waves (``waves``: a
    subset), raked per whole wave when ``filters.weights`` asks for it and a wave has margins.
    ``variables``: stored expressions, or any other (summed from the rows once per snapshot,
    ``Snapshot.built``); ``by``: cell dimensions (region, sex, age_group, settlement)."""
    return _weighted(snapshot, filters, source, variables, list(by), waves)[0]


def _weighted(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    by: list[str],
    waves: Sequence[str] | None,
) -> tuple[WeightedSums, pl.DataFrame | None]:
    """``weighted_sums`` and, when raked, the chosen whole waves' strata (every region: the
    region filter is a domain), which the pooled estimate's second pass starts from."""
    uncalibrated: tuple[str, ...] = ()
    if filters.weights == CALIBRATED:
        whole = _kept(snapshot, dataclasses.replace(filters, regions=()), source, waves)
        chosen = set(whole.select("source", "wave").unique().rows())
        margins = _raking(snapshot).margins if chosen else {}
        if any(margins.get(key) is not None for key in chosen):
            made = raked_sums(snapshot, whole, filters, variables, by)
            return calibrated_result(made, filters, by=by), whole
        uncalibrated = tuple(sorted({w for (_, w) in chosen}))
    kept = _kept(snapshot, filters, source, waves)
    sums = delivered_sums(snapshot, kept, filters, variables, by)
    return WeightedSums(sums, DELIVERED, uncalibrated), None


def weighted_estimates(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    *,
    by: Sequence[str] = (),
    waves: Sequence[str] | None = None,
    shares: Sequence[str] = (),
) -> WeightedEstimates:
    """``page_weights.weighted_estimates`` from the summary store (``weighted_sums`` here)."""
    made = weighted_sums(snapshot, filters, source, variables, by=by, waves=waves)
    return estimates_of(made, by=by, shares=shares)


def pooled_estimates(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    y: pl.Expr,
    *,
    by: str,
    waves: Sequence[str],
) -> WeightedEstimates:
    """``page_weights.pooled_estimates`` from the summary store: the pooled mean of ``y`` per
    ``by`` group over ``waves``, each raked on its own, with the pooled ratio's SE."""
    made, whole = _weighted(snapshot, filters, source, {"y": y}, [by], waves)

    def second(ratio: Mapping[object, tuple[float, float]]) -> CalibratedSums:
        assert whole is not None  # only asked for raked sums
        return centred_sums(snapshot, whole, filters, y, by, ratio)

    return pooled_from(made, by=by, second=second)


def composite_of(snapshot: Snapshot, institutions: Sequence[str]) -> pl.Expr:
    """The composite trust expression over ``institutions`` (all when none), as the raw path
    builds it from the dataset's columns (same order, same message for an unknown one)."""

    def make() -> pl.Expr:
        names = {f"{TRUST}{i}": pl.Float64 for i in snapshot.institutions}
        return composite_expr(trust_columns(pl.DataFrame(schema=names), institutions))

    return recent(snapshot, "composite", tuple(institutions), make)


def feedback_numbers(
    snapshot: Snapshot, filters: Filters, source: str, wave: str
) -> WeightedEstimates:
    """``queries.metrics.feedback.feedback_numbers`` from the summary store."""
    variables = feedback_variables()
    return weighted_estimates(
        snapshot, filters, source, variables, waves=[wave], shares=FEEDBACK_SHARES
    )


def trust_by_region(
    snapshot: Snapshot, filters: Filters, source: str, year: int
) -> WeightedEstimates:
    """``queries.metrics.ngo.trust_by_region`` from the summary store: composite trust per
    region pooled over ``source``'s waves starting in ``year``."""
    kept = _kept(snapshot, filters, source, None)
    waves = kept.filter(pl.col("period_start").dt.year() == year).get_column("wave").unique()
    y = composite_of(snapshot, filters.institutions)
    return pooled_estimates(
        snapshot, filters, source, y, by="region", waves=sorted(waves.to_list())
    )
