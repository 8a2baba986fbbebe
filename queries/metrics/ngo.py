"""NGO activity per region: density per 10,000 residents, grants per capita, and the (honestly
labelled) region-level association between NGO density and trust."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from queries.metrics.filters import Filters
from queries.reference.reform import with_population
from queries.survey.design import z_value

PER = 10_000


def _prepared(ngo: pl.DataFrame) -> pl.DataFrame:
    """Dataset.ngo as is; a validated upload (no year or population) made alike."""
    if "year" not in ngo.columns:
        ngo = ngo.with_columns(year=pl.col("period").str.slice(0, 4).cast(pl.Int32))
    if "population" not in ngo.columns:  # region-reform: old units' population before 2022
        ngo = with_population(ngo)
    return ngo


def ngo_density(ngo: pl.DataFrame) -> pl.DataFrame:
    """Per region and year: registered and active NGOs per 10,000 residents, grants per capita.

    Population is the reference table's (2024, ``reference_regions()``) for every year: a stated
    approximation; years before the 2022 reform use the 17 old units' (sums of today's).
    When a year has a whole-year row it is used; otherwise its quarters are:
    NGO counts are a stock (the last quarter's), grants a flow (summed over the quarters).
    """
    frame = _prepared(ngo)
    annual = pl.col("period").str.len_chars() == 4
    frame = frame.filter(annual | ~annual.any().over("region", "year"))
    yearly = (
        frame.sort("period")
        .group_by("region", "year")
        .agg(
            pl.col("registered_ngos").last(),
            pl.col("active_ngos").last(),
            pl.col("grants_count").sum(),
            pl.col("grants_kzt").sum(),
            pl.col("population").first(),
        )
    )
    return yearly.with_columns(
        registered_per_10k=pl.col("registered_ngos") / pl.col("population") * PER,
        active_per_10k=pl.col("active_ngos") / pl.col("population") * PER,
        grants_kzt_per_capita=pl.col("grants_kzt") / pl.col("population"),
    ).sort("region", "year")


def national_density(ngo: pl.DataFrame) -> pl.DataFrame:
    """Per year, the whole country: NGOs per 10,000 residents and grants per capita."""
    return (
        ngo_density(ngo)
        .group_by("year")
        .agg(
            pl.col("registered_ngos").sum(),
            pl.col("active_ngos").sum(),
            pl.col("grants_kzt").sum(),
            pl.col("population").sum(),
            pl.len().alias("regions"),
        )
        .with_columns(
            registered_per_10k=pl.col("registered_ngos") / pl.col("population") * PER,
            active_per_10k=pl.col("active_ngos") / pl.col("population") * PER,
            grants_kzt_per_capita=pl.col("grants_kzt") / pl.col("population"),
        )
        .sort("year")
    )


@dataclass(frozen=True)
class Robustness:
    """How much the WLS line depends on its method and on single regions (issue 12, point 5)."""

    ols_slope: float
    ols_p: float
    spearman_rho: float
    spearman_p: float
    loo: pl.DataFrame  # left_out (region), slope, p_value, significant: one WLS fit per region
    loo_slope_range: tuple[float, float]
    loo_p_range: tuple[float, float]
    flips: int  # leave-one-out fits whose significance differs from the full fit's
    fragile: bool  # any flip: the "association" hangs on one region


@dataclass(frozen=True)
class Relation:
    """A weighted least-squares line of trust on NGO density across regions (correlation only)."""

    slope: float
    slope_ci: tuple[float, float]
    intercept: float
    r_squared: float
    p_value: float
    n_regions: int
    points: pl.DataFrame  # region, x (density), y (trust), y_se, y_low, y_high, fitted
    robustness: Robustness | None = None  # None with fewer than 4 regions (no leave-one-out)


def _wls(x, y, se):
    # the linear models alone: statsmodels.api imports time series, signal processing and
    # more besides (issue 11: 82 MB of a server's memory instead of 55 MB)
    from statsmodels.regression.linear_model import WLS
    from statsmodels.tools.tools import add_constant

    design = add_constant(x, has_constant="add")
    return WLS(y, design, weights=1.0 / se**2).fit(), design


def _robustness(x, y, se, regions: list[str], p_full: float, alpha: float) -> Robustness | None:
    """OLS, Spearman's rho and the leave-one-out WLS fits beside the main line."""
    import numpy as np
    from scipy.stats import spearmanr
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    if len(x) < 4:  # leaving one out must still leave a line with a residual
        return None
    ols = OLS(y, add_constant(x, has_constant="add")).fit()
    rho, rho_p = spearmanr(x, y)
    rows = []
    for i, region in enumerate(regions):
        keep = np.arange(len(x)) != i
        fit, _ = _wls(x[keep], y[keep], se[keep])
        rows.append((region, float(fit.params[1]), float(fit.pvalues[1])))
    loo = pl.DataFrame(rows, schema=["left_out", "slope", "p_value"], orient="row")
    loo = loo.with_columns(significant=pl.col("p_value") < alpha)
    flips = loo.filter(pl.col("significant") != (p_full < alpha)).height
    return Robustness(
        ols_slope=float(ols.params[1]),
        ols_p=float(ols.pvalues[1]),
        spearman_rho=float(rho),
        spearman_p=float(rho_p),
        loo=loo,
        loo_slope_range=(loo.get_column("slope").min(), loo.get_column("slope").max()),
        loo_p_range=(loo.get_column("p_value").min(), loo.get_column("p_value").max()),
        flips=flips,
        fragile=flips > 0,
    )


def ngo_trust_relation(
    trust_by_region: pl.DataFrame,
    density: pl.DataFrame,
    *,
    x: str = "active_per_10k",
    alpha: float = 0.05,
) -> Relation | None:
    """WLS of regional trust (``estimate``, weights 1/se²) on NGO density ``x``, with its
    robustness: the OLS line, Spearman's rank correlation and every leave-one-region-out fit.

    ``trust_by_region``: region, estimate, se (suppressed regions dropped), e.g.
    ``composite_by_region``; ``density``: region, ``x`` for one year (``ngo_density``). The
    slope is an association across regions, not an effect of NGOs on trust. None when fewer
    than 3 regions have both.
    """
    import numpy as np

    if "ci_low" not in trust_by_region.columns:  # a bare (region, estimate, se) frame
        z = z_value(0.95)
        trust_by_region = trust_by_region.with_columns(
            ci_low=pl.col("estimate") - z * pl.col("se"),
            ci_high=pl.col("estimate") + z * pl.col("se"),
        )
    points = (
        trust_by_region.filter(pl.col("estimate").is_not_null() & (pl.col("se") > 0))
        .select(
            "region",
            pl.col("estimate").alias("y"),
            pl.col("se").alias("y_se"),
            # the region's own interval (t, as every estimate) for the error bars
            pl.col("ci_low").alias("y_low"),
            pl.col("ci_high").alias("y_high"),
        )
        .join(density.select("region", pl.col(x).alias("x")), on="region", how="inner")
        .drop_nulls()
        .sort("region")
    )
    if points.height < 3:
        return None
    xs, ys = points.get_column("x").to_numpy(), points.get_column("y").to_numpy()
    se = points.get_column("y_se").to_numpy()
    fit, design = _wls(xs, ys, se)
    low, high = fit.conf_int(alpha)[1]
    fitted = fit.predict(design)
    p_full = float(fit.pvalues[1])
    return Relation(
        slope=float(fit.params[1]),
        slope_ci=(float(low), float(high)),
        intercept=float(fit.params[0]),
        r_squared=float(fit.rsquared),
        p_value=p_full,
        n_regions=points.height,
        points=points.with_columns(fitted=pl.Series(np.asarray(fitted))),
        robustness=_robustness(xs, ys, se, points.get_column("region").to_list(), p_full, alpha),
    )


def trust_by_region(data, filters, source: str, year: int):
    """Composite trust per region over ``source``'s waves that start in ``year`` (the NGO
    page's trust side), with the weights switch (issue 12: each wave raked to its year's
    margins, pooled per region with the pooled ratio's rake-aware SE). ``WeightedEstimates``
    whose estimates have region, estimate, se, CI, n, suppressed, as ``composite_by_region``."""
    from queries.metrics.page_weights import pooled_estimates, selection_rows
    from queries.metrics.trust import composite_expr, trust_columns

    rows = selection_rows(data, filters, source)
    waves = rows.filter(pl.col("period_start").dt.year() == year).get_column("wave").unique()
    y = composite_expr(trust_columns(data.responses, filters.institutions))
    return pooled_estimates(data, filters, source, y, by="region", waves=sorted(waves.to_list()))


def ngo_rows(ngo: pl.DataFrame, filters: Filters | None) -> pl.DataFrame:
    """NGO rows under the analyst's filters: the chosen regions (sex, age group and settlement do
    not exist in these counts). The Overview's card and the NGO page cut them here alike."""
    if filters is None or not filters.regions or ngo.is_empty():
        return ngo
    return ngo.filter(pl.col("region").is_in(list(filters.regions)))


@dataclass(frozen=True)
class NgoYear:
    """What the NGO page shows of one year's counts."""

    years: tuple[int, ...]  # every year with data under the filters (the year slider)
    year: int
    density: pl.DataFrame  # ngo_density() rows of ``year``, densest region first


def ngo_year(data, filters: Filters, year: int | None = None) -> NgoYear | None:
    """NGO density and grants per region for ``year`` (default: the latest); None: no data."""
    density = ngo_density(ngo_rows(data.ngo, filters))
    if density.is_empty():
        return None
    years = tuple(sorted(density.get_column("year").unique().to_list()))
    year = year if year in years else years[-1]
    rows = density.filter(pl.col("year") == year).sort("active_per_10k", descending=True)
    return NgoYear(years=years, year=year, density=rows)
