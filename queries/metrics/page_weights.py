"""The weights switch on every survey page (issue 12, point 6): per-stratum sums of a page's
variables with each wave raked to its year's margins, or as delivered.

A thin adapter over ``queries.metrics.calibrated`` (whole waves, the filters as the domain) and
``queries.survey.calibrated_sums``: one call per set of domains a page estimates, because raked
sums hold for the domains they were made for only (``combine`` them with the same ``by``).
Waves without margins, or whose margins cannot be met, keep their delivered weights and are
named in ``uncalibrated_waves``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from queries.metrics import combine, variable_sums
from queries.metrics.calibrated import (
    CARRY,
    DIMS,
    UNIT,
    population_of,
    wave_margins,
    whole_waves,
)
from queries.metrics.filters import Filters, apply_filters
from queries.survey.calibrated_sums import UNKNOWN, CalibratedSums, calibrated_sums, with_unknown

__all__ = [
    "WeightedEstimates",
    "WeightedSums",
    "calibrated_result",
    "estimates_of",
    "pooled_estimates",
    "pooled_from",
    "raking_margins",
    "selection_rows",
    "weighted_estimates",
    "weighted_sums",
]


@dataclass(frozen=True)
class WeightedSums:
    """Sums for ``combine(..., by=by)`` and which weights they carry."""

    sums: pl.DataFrame
    weights: str  # "calibrated" when at least one wave was raked, else "delivered"
    uncalibrated_waves: tuple[str, ...] = ()  # asked to calibrate, left delivered


def _chosen(rows: pl.DataFrame, waves: Sequence[str] | None) -> pl.DataFrame:
    return rows if waves is None else rows.filter(pl.col("wave").is_in(list(waves)))


def selection_rows(
    data: object, filters: Filters, source: str, waves: Sequence[str] | None = None
) -> pl.DataFrame:
    """The filtered responses of ``source`` (of ``waves`` when given), as the pages use them."""
    rows = apply_filters(data.responses, filters)
    return _chosen(rows.filter(pl.col("source") == source), waves)


def weighted_sums(
    data: object,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    *,
    by: Sequence[str] = (),
    waves: Sequence[str] | None = None,
) -> WeightedSums:
    """Per (by, stratum, variable) sums of ``variables`` over ``source``'s chosen waves.

    ``filters.weights == "calibrated"``: every wave raked to its year's margins (region, sex,
    age group) over the whole wave, the filters (region included) as the domain, with the
    rake-aware Σz, Σz²; else, or when no wave has margins, the delivered sums of the filtered
    rows. ``data``: a Dataset (responses, population, regions)."""
    by = list(by)
    uncalibrated: tuple[str, ...] = ()
    if filters.weights == "calibrated":
        rows = _chosen(whole_waves(data.responses, filters, source), waves)
        margins = wave_margins(rows, *population_of(data)) if rows.height else {}
        if any(m is not None for m in margins.values()):
            cells = variable_sums(rows, variables, by=by, carry=CARRY, cells=DIMS)
            made = calibrated_sums(cells, margins, unit=UNIT, by=by, carry=["period_start"])
            return calibrated_result(made, filters, by=by)
        uncalibrated = tuple(sorted({w for (_, w) in margins}))
    own = selection_rows(data, filters, source, waves)
    sums = variable_sums(own, variables, by=by) if own.height else pl.DataFrame()
    return WeightedSums(sums, "delivered", uncalibrated)


def calibrated_result(made: CalibratedSums, filters: Filters, *, by: Sequence[str]) -> WeightedSums:
    """``WeightedSums`` of raked sums: other regions' domains dropped under a region filter,
    the waves left delivered named (both paths: rows and the summary store)."""
    left = sorted({key[1] for key, _ in made.delivered})
    sums = made.sums
    if filters.regions and "region" in by:  # other regions: empty domains
        sums = sums.filter(pl.col("region").is_in(list(filters.regions)))
    return WeightedSums(sums, "calibrated", tuple(left))


@dataclass(frozen=True)
class WeightedEstimates:
    """``combine`` output per (by, variable) and which weights it used."""

    estimates: pl.DataFrame
    weights: str
    uncalibrated_waves: tuple[str, ...] = ()


def weighted_estimates(
    data: object,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    *,
    by: Sequence[str] = (),
    waves: Sequence[str] | None = None,
    shares: Sequence[str] = (),
) -> WeightedEstimates:
    """Estimates of ``variables`` per ``by`` group with the switch's weights
    (``weighted_sums`` then ``combine``); rows with a null ``by`` value are left out."""
    made = weighted_sums(data, filters, source, variables, by=by, waves=waves)
    return estimates_of(made, by=by, shares=shares)


def estimates_of(
    made: WeightedSums, *, by: Sequence[str] = (), shares: Sequence[str] = ()
) -> WeightedEstimates:
    """``combine`` of ``weighted_sums`` output (from the rows or from the summary store)."""
    sums = made.sums
    out = combine(sums, by=list(by), shares=shares) if sums.height else pl.DataFrame()
    return WeightedEstimates(out, made.weights, made.uncalibrated_waves)


def raking_margins(
    data: object, rows: pl.DataFrame
) -> dict[tuple[str, str], dict[str, dict[object, float]] | None]:
    """Per (source, wave) of ``rows`` (whole waves): the margins to rake it to, with the
    ``UNKNOWN`` category that ``calibrated_sums`` adds (missing or out-of-margin values keep
    their delivered share), ready for the frame-based ``calibrated_weights``; None: no
    margins. The rows' margin columns must be mapped with ``unknown_mapped`` first."""
    out = {}
    for key, margins in wave_margins(rows, *population_of(data)).items():
        if margins is None:
            out[key] = None
            continue
        wave = rows.filter((pl.col("source") == key[0]) & (pl.col("wave") == key[1]))
        wave = unknown_mapped(wave, margins)
        totals = {
            col: dict(wave.group_by(col).agg(pl.col("weight").sum()).iter_rows()) for col in margins
        }
        out[key] = with_unknown(margins, totals)
    return out


def unknown_mapped(rows: pl.DataFrame, margins: Mapping[str, Mapping[object, float]]):
    """``rows`` with each margin column's missing or out-of-margin values as ``UNKNOWN``."""
    return rows.with_columns(
        pl.when(pl.col(c).cast(pl.String).is_in([str(k) for k in t]))
        .then(pl.col(c).cast(pl.String))
        .otherwise(pl.lit(UNKNOWN))
        .alias(c)
        for c, t in margins.items()
    )


def pooled_estimates(
    data: object,
    filters: Filters,
    source: str,
    y: pl.Expr,
    *,
    by: str,
    waves: Sequence[str],
) -> WeightedEstimates:
    """Mean of ``y`` per ``by`` group pooled over several waves, each raked on its own.

    Raked sums add up across waves for the estimate, but their Σz, Σz² are each wave's own
    ratio's (centred at that wave's mean), so ``combine`` over two raked waves would add the
    waves' variances instead of giving the pooled ratio's. Here, for group g with pooled mean
    r_g and raked total W_g, a second pass rakes v = (y − r_g) on g's respondents with a value
    and 0 on every other row of the wave (all rows in the domain): its calibrated z per wave
    is P[w·g·v]/W_D (W_D the wave's raked total; the centring constant lies in the margins'
    span and is projected away), rescaled by W_D/W_g to the pooled ratio's z. A wave left
    delivered gets w·v/W_g unprojected. Groups of a single wave get the same SE as
    ``weighted_estimates``."""
    made = weighted_sums(data, filters, source, {"y": y}, by=[by], waves=waves)

    def second(ratio: Mapping[object, tuple[float, float]]) -> CalibratedSums:
        rows = _chosen(whole_waves(data.responses, filters, source), waves)
        inside = pl.col("in_domain") & y.is_not_null()
        names = {g: f"_v{i}" for i, g in enumerate(ratio)}  # made before the domain is widened
        rows = rows.with_columns(
            pl.when(inside & (pl.col(by) == g)).then(y - r).otherwise(0.0).alias(names[g])
            for g, (r, _) in ratio.items()
        ).with_columns(in_domain=pl.lit(True))
        variables = {str(g): pl.col(name) for g, name in names.items()}
        cells = variable_sums(rows, variables, carry=CARRY, cells=DIMS)
        return calibrated_sums(cells, wave_margins(rows, *population_of(data)), unit=UNIT,
                               carry=["period_start"])  # fmt: skip

    return pooled_from(made, by=by, second=second)


def pooled_from(
    made: WeightedSums,
    *,
    by: str,
    second: Callable[[Mapping[object, tuple[float, float]]], CalibratedSums],
) -> WeightedEstimates:
    """``pooled_estimates`` from the first pass's sums ``made`` and ``second``: given each
    group's (pooled mean r_g, raked total W_g), the calibrated sums per wave of v_g = y − r_g
    on g's respondents with a value in the domain and 0 on every other row of the wave (all
    rows in the domain), one variable ``str(g)`` per group. Shared by the raw-row path and the
    summary store's (``queries.summaries.pages``), which make ``second`` their own way."""
    if made.sums.is_empty():
        return WeightedEstimates(pl.DataFrame(), made.weights, made.uncalibrated_waves)
    first = combine(made.sums, by=[by]).drop("variable")
    if made.weights != "calibrated":
        return WeightedEstimates(first, made.weights, made.uncalibrated_waves)
    per = made.sums.group_by(by).agg(pl.col("sw", "swy").sum()).filter(pl.col("sw") > 0)
    ratio = {g: (wy / w, w) for g, w, wy in per.iter_rows()}
    if not ratio:  # nobody in any group answered: no pooled SE (nor a second pass to make)
        unknown = (pl.lit(None, first.schema[c]).alias(c) for c in ("se", "ci_low", "ci_high"))
        return WeightedEstimates(first.with_columns(unknown), made.weights, made.uncalibrated_waves)
    raked = second(ratio)
    left = ["\x00".join(map(str, key)) for key, _ in raked.delivered]
    delivered = pl.concat_str(pl.col(UNIT), separator="\x00").is_in(left)
    w_g = pl.col("variable").replace_strict({str(g): w for g, (_, w) in ratio.items()})
    scale = pl.col("sw").sum().over("variable", *UNIT) / w_g  # W_D / W_g
    sums = raked.sums.with_columns(
        sz=pl.when(delivered).then(pl.col("swy") / w_g).otherwise(pl.col("sz") * scale),
        sz2=pl.when(delivered).then(pl.col("sw2y2") / w_g**2).otherwise(pl.col("sz2") * scale**2),
    )
    se = combine(sums).select(pl.col("variable").alias("_g"), pl.col("se").alias("_se"))
    out = first.with_columns(pl.col(by).cast(pl.String).alias("_g")).join(se, on="_g", how="left")
    # the same t quantile (same df) times the pooled SE
    half = (pl.col("ci_high") - pl.col("estimate")) / pl.col("se") * pl.col("_se")
    out = out.with_columns(
        pl.when(pl.col("se").is_null()).then(None).otherwise(pl.col("_se")).alias("se"),
        (pl.col("estimate") - half).alias("ci_low"),
        (pl.col("estimate") + half).alias("ci_high"),
    )
    return WeightedEstimates(out.select(first.columns), made.weights, made.uncalibrated_waves)
