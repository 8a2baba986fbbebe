"""Composite trust region by region: the regions that moved most between one source's last two
waves (Holm-corrected over every region tested) and the composite per region or per group —
the Overview's list and map, the Regions page's cross-tabs (raw-row path; the summary path
builds the same from cell sums)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from queries.errors import SenimError
from queries.metrics import combine, variable_sums
from queries.metrics.inference import with_holm
from queries.metrics.trend import trend_from_sums
from queries.metrics.trust import composite_expr, trust_columns

# fixed within a stratum (source|wave|region): carried along, the sums group on the stratum only
SURVEY_BY = ["region", "wave", "period_start"]
COMPOSITE = "composite_trust"  # the variable of the map and the regions that moved


def waves_of(sums: pl.DataFrame) -> pl.DataFrame:
    """The waves of ``sums`` (wave, period_start) in time order (eager: on a few thousand rows
    a lazy query's planning costs more than the work)."""
    return sums.select("wave", "period_start").unique().sort("period_start", "wave")


def check_one_source(responses: pl.DataFrame) -> None:
    if "source" in responses.columns and responses.get_column("source").n_unique() > 1:
        found = ", ".join(sorted(responses.get_column("source").unique().drop_nulls().to_list()))
        raise SenimError(
            f"The Overview compares waves of one survey source, but the data has several "
            f"({found}); choose one source."
        )


def _composite_sums(responses: pl.DataFrame, institutions: Sequence[str]) -> pl.DataFrame:
    check_one_source(responses)
    variables = {COMPOSITE: composite_expr(trust_columns(responses, institutions))}
    return variable_sums(responses, variables, by=SURVEY_BY)


TOP_MOVED = 5  # the regions that moved most, shown on the Overview
_MOVED = ["region", "wave", "previous_wave", "estimate", "change", "change_se", "p_value",
          "p_adjusted", "significant", "tested", "n"]  # fmt: skip
_MOVED_TYPES = {"region": pl.String, "wave": pl.String, "previous_wave": pl.String,
                "significant": pl.Boolean, "tested": pl.Int64, "n": pl.Int64}  # fmt: skip


def regions_moved(
    responses: pl.DataFrame,
    institutions: Sequence[str] = (),
    top: int = TOP_MOVED,
    *,
    sums: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Composite trust's change per region between one source's last two waves, with the
    change's SE, raw p-value and Holm-adjusted p (``p_adjusted``, over every region tested:
    ``tested``); ``significant`` is the adjusted test. The ``top`` rows: significant regions
    first, then by absolute change. Regions without an estimate in either wave (too few
    responses) are left out of the list and of the family (issue 12: multiplicity)."""
    if sums is None:
        sums = _composite_sums(responses, institutions) if responses.height else pl.DataFrame()
    sums, waves = last_two_waves(sums)
    if waves.height < 2:
        return no_moves()
    trend = trend_from_sums(sums, waves, by=["region"])
    return moved_from_trend(trend, *waves.get_column("wave"), top)


def last_two_waves(sums: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Composite trust's sums in its last two waves, and those waves (``waves_of``: fewer than
    two when it has fewer)."""
    sums = sums.filter(pl.col("variable") == COMPOSITE) if sums.height else sums
    waves = waves_of(sums).tail(2) if sums.height else pl.DataFrame()
    if waves.height == 2:
        sums = sums.filter(pl.col("wave").is_in(waves.get_column("wave").to_list()))
    return sums, waves


def no_moves() -> pl.DataFrame:
    return pl.DataFrame(schema={c: _MOVED_TYPES.get(c, pl.Float64) for c in _MOVED})


def moved_from_trend(trend: pl.DataFrame, before: str, last: str, top: int) -> pl.DataFrame:
    """The regions that moved from ``trend_from_sums(..., by=["region"])`` over two waves."""
    family = trend.filter(
        (pl.col("wave") == last) & (pl.col("previous_wave") == before),
        pl.col("change").is_not_null(),
    )
    return (
        with_holm(family)  # the family: every region tested, not just the rows shown
        .with_columns(tested=pl.lit(family.get_column("p_value").is_not_null().sum(), pl.Int64))
        .sort("significant", pl.col("change").abs(), "region", descending=[True, True, False])
        .head(top)
        .select(_MOVED)
    )


def composite_by_region(
    responses: pl.DataFrame, institutions: Sequence[str] = (), *, sums: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Composite trust per region (estimate, se, CI, n, suppressed): over all the given
    responses, or from ``overview_sums`` output restricted to one wave by the caller."""
    if sums is None:
        variables = {COMPOSITE: composite_expr(trust_columns(responses, institutions))}
        sums = variable_sums(responses, variables, by=["region"])
    sums = sums.filter(pl.col("variable") == COMPOSITE)
    return combine(sums, by=["region"]).drop("variable")


def composite_by_group(
    responses: pl.DataFrame, by: str, institutions: Sequence[str] = ()
) -> pl.DataFrame:
    """Composite trust per value of ``by`` (sex, age group, ...), each a domain; respondents
    with no value left out (the Regions page's cross-tabs)."""
    variables = {"composite": composite_expr(trust_columns(responses, institutions))}
    sums = variable_sums(responses, variables, by=[by])
    return combine(sums, by=[by]).filter(pl.col(by).is_not_null())
