"""Any survey metric as a series over waves, with the change vs the previous wave."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from queries.metrics import as_list, combine, variable_sums
from queries.metrics.calibrated import calibrated_trend_sums  # issue 12
from queries.reference.reform import comparable_expr, crosses_reform
from queries.survey.design import difference_from_sums, p_values, z_value


def trend_from_sums(
    sums: pl.DataFrame,
    waves: pl.DataFrame,
    *,
    by: Sequence[str] = (),
    shares: Sequence[str] = (),
    level: float = 0.95,
    contrast: bool | None = None,
) -> pl.DataFrame:
    """Per (by, variable) the series over waves with ``change``, ``change_se``, ``p_value``
    (a t-test: the change over its SE, with the two waves' design df added).

    ``sums`` must have a ``wave`` column; ``waves`` maps ``wave`` to ``period_start`` (sort key).
    Waves are independent samples (each wave has its own strata), so the variances of two waves
    add; if some stratum spans two waves the linearised contrast is used instead (``contrast``:
    whether that is so, when the caller already knows; see ``spans_waves``).
    """
    keys = [*by, "variable"]
    if "region" in by:  # region-reform: regions across 2022 are compared on comparable units
        sums = on_units(sums)
    order = waves.select("wave", "period_start").unique("wave")
    est = combine(sums, by=[*by, "wave"], shares=shares, level=level)
    est = est.join(order, on="wave", how="left").sort([*keys, "period_start", "wave"])
    # sorted so: the row before is the previous wave of the same (by, variable) when its keys
    # are the same (a mask, much cheaper than shifting over groups on a loaded machine)
    same = pl.all_horizontal(pl.col(k) == pl.col(k).shift(1) for k in keys)

    def before(column: str) -> pl.Expr:
        return pl.when(same).then(pl.col(column).shift(1))

    est = est.with_columns(
        before("wave").alias("previous_wave"),
        (pl.col("estimate") - before("estimate")).alias("change"),
        (pl.col("se").pow(2) + before("se").pow(2)).sqrt().alias("change_se"),
        # a t-test with the design df of both waves (R: svycontrast, df = degf of each design)
        (pl.col("df") + before("df")).alias("_df"),
    )
    if spans_waves(sums) if contrast is None else contrast:
        est = _contrast_se(sums, est, by)
    z = est.get_column("change") / est.get_column("change_se")
    p = p_values(z, df=est.get_column("_df"))
    return est.drop("_df").with_columns(p, (p < 1 - level).fill_null(False).alias("significant"))


def spans_waves(sums: pl.DataFrame) -> bool:
    """Whether some stratum has rows in two waves (then the waves are not independent samples
    and a change's SE is the linearised contrast): more (stratum, wave) pairs than strata."""
    if sums.is_empty():
        return False
    pairs, strata = sums.select(pl.struct("stratum", "wave").n_unique().alias("pairs"),
                                pl.col("stratum").n_unique()).row(0)  # fmt: skip
    return pairs > strata


def on_units(frame: pl.DataFrame, *, wave: str = "wave", region: str = "region") -> pl.DataFrame:
    """``reform.on_comparable_units``: ``region`` on comparable units when the frame's waves
    lie on both sides of the reform, else unchanged."""
    if frame.is_empty():
        return frame
    labels = frame.get_column(wave).unique().to_list()
    return frame.with_columns(comparable_expr(region)) if crosses_reform(labels) else frame


def _contrast_se(sums: pl.DataFrame, est: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Replace change_se by the linearised contrast for each pair of consecutive waves."""
    pairs = est.select("previous_wave", "wave").drop_nulls().unique()
    rows = []
    for a, b in pairs.iter_rows():
        d = difference_from_sums(sums, "wave", a, b, by=list(by) or None)
        rows.append(d.select(*by, "variable", pl.lit(b).alias("wave"), pl.col("se").alias("_cse")))
    if not rows:
        return est
    joined = est.join(pl.concat(rows), on=[*by, "variable", "wave"], how="left", nulls_equal=True)
    return joined.with_columns(pl.col("_cse").alias("change_se")).drop("_cse")


def metric_trend(
    responses: pl.DataFrame,
    variables: Mapping[str, pl.Expr],
    *,
    by: str | Sequence[str] | None = None,
    shares: Sequence[str] = (),
    level: float = 0.95,
    margins: Mapping[tuple[str, str], Mapping | None] | None = None,
) -> pl.DataFrame:
    """The wave series of any derived survey variables (see ``trend_from_sums``).

    ``margins`` (issue 12): per (source, wave) population margins (``calibrated.wave_margins``);
    those waves are raked to them with rake-aware SEs, the responses being whole waves."""
    by_cols = as_list(by)
    if margins is not None:  # issue 12: weights calibrated to the population
        sums = calibrated_trend_sums(responses, variables, by_cols, margins)
    else:
        sums = variable_sums(responses, variables, by=[*by_cols, "wave"])
    waves = responses.select("wave", "period_start").unique("wave")
    return trend_from_sums(sums, waves, by=by_cols, shares=shares, level=level)


__all__ = ["metric_trend", "on_units", "spans_waves", "trend_from_sums", "z_value"]
