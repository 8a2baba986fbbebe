"""Claims about a family of estimates: Holm's adjustment, rank intervals and the three-way
grouping of regions against the national figure.

A list that picks the "significant" items out of many (regions that moved, regions above the
country) tests them all at once; with 20 regions at p < 0.05 about one is flagged by chance
alone. Holm's step-down method keeps the chance of any false flag in the family below alpha
(R's ``p.adjust(p, method = "holm")``). A rank is shown with its 95% interval, simulated from the
estimates' sampling distributions, because adjacent ranks are rarely distinguishable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from queries.metrics import combine, variable_sums
from queries.metrics.trust import composite_expr, trust_columns
from queries.survey.arrays import difference_parts, groups_of, interval, two_sided_p
from queries.survey.calibrated_sums import UNKNOWN
from queries.survey.design import MIN_N, SUM_COLUMNS, p_values

_SUMS = (*SUM_COLUMNS, "n")

ALPHA = 0.05
RANK_DRAWS = 10_000
RANK_SEED = 20_251_201  # fixed: the same data always gives the same rank intervals
GROUPS = ("above", "same", "below")


def holm(p_values: Sequence[float | None] | pl.Series) -> pl.Series:
    """Holm-adjusted p-values, in the input order; nulls stay null and are not in the family.

    Sorted ascending, the i-th smallest of m becomes max over j <= i of (m - j + 1)·p_(j),
    capped at 1 (as R's ``p.adjust(method = "holm")``).
    """
    series = pl.Series("p_adjusted", p_values, dtype=pl.Float64)
    values = series.fill_null(np.nan).to_numpy().copy()
    tested = ~np.isnan(values)
    m = int(tested.sum())
    if m:
        raw = values[tested]
        order = np.argsort(raw, kind="stable")
        scaled = (m - np.arange(m)) * raw[order]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
        values[tested] = adjusted
    return pl.Series("p_adjusted", values, nan_to_null=True)


def with_holm(frame: pl.DataFrame, *, p: str = "p_value", alpha: float = ALPHA) -> pl.DataFrame:
    """``frame`` with ``p_adjusted`` (Holm over every row with a p-value: the family) and
    ``significant`` recomputed from it."""
    adjusted = holm(frame.get_column(p))
    return frame.with_columns(adjusted, (adjusted < alpha).fill_null(False).alias("significant"))


def rank_intervals(
    frame: pl.DataFrame,
    *,
    key: str,
    level: float = 0.95,
    draws: int = RANK_DRAWS,
    seed: int = RANK_SEED,
) -> pl.DataFrame:
    """Rank (1 = highest estimate) and its ``level`` interval per ``key``.

    Each draw takes every estimate from its sampling distribution, normal(estimate, se) and
    independent (regions are separate strata, so separate samples), and ranks them; the
    interval holds the middle ``level`` of a row's simulated ranks. Rows without an estimate
    get no rank. Columns: ``key``, ``rank``, ``rank_low``, ``rank_high``.
    """
    schema = {key: frame.schema[key], "rank": pl.Int64, "rank_low": pl.Int64,
              "rank_high": pl.Int64}  # fmt: skip
    est = frame.get_column("estimate").cast(pl.Float64).fill_null(np.nan).to_numpy()
    se = frame.get_column("se").cast(pl.Float64).fill_null(np.nan).to_numpy()
    rows = np.flatnonzero(~np.isnan(est) & ~np.isnan(se))
    if not len(rows):
        return pl.DataFrame(schema=schema)
    keys = frame.get_column(key).gather(rows)
    order = keys.arg_sort().to_numpy()  # draws are assigned in this order: reproducible
    keys, est, se = keys.gather(order), est[rows][order], se[rows][order]
    # rng.normal(est, se) is est + se·z over the seed's standard normals, kept per process
    simulated = est + se * _standard_normals(seed, draws, len(est))
    tail = (1 - level) / 2
    low, high = _rank_quantiles(simulated, (tail, 1 - tail))
    point = np.empty(len(est), dtype=np.int64)  # polars' ordinal rank, highest first
    point[np.argsort(-est, kind="stable")] = np.arange(1, len(est) + 1)
    columns = [keys.alias(key), pl.Series("rank", point), pl.Series("rank_low", low),
               pl.Series("rank_high", high)]  # fmt: skip
    return pl.DataFrame([c.cast(schema[c.name]) for c in columns])


@functools.lru_cache(maxsize=4)
def _normals(seed: int, count: int) -> np.ndarray:
    made = np.random.default_rng(seed).standard_normal(count)
    made.flags.writeable = False
    return made


def _standard_normals(seed: int, draws: int, k: int) -> np.ndarray:
    """``default_rng(seed).standard_normal((draws, k))``: the first draws·k of the seed's
    stream, kept for up to ``_KEPT`` columns (the same values for every filter change)."""
    return _normals(seed, draws * max(k, _KEPT))[: draws * k].reshape(draws, k)


_KEPT = 32  # columns of draws kept (20 regions); more are drawn and kept on demand


def _rank_quantiles(simulated: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
    """Per column, the ``qs`` quantiles (numpy's "inverted_cdf") of its rank (1 = highest)
    across the draws (rows). The ranks take only the values 1..k, so the quantiles are read
    from per-column rank counts instead of sorting every column: the same numbers, a few
    times faster (every filter change on the Regions page pays it)."""
    draws, k = simulated.shape
    order = (-simulated).argsort(axis=1, kind="stable")  # per draw: columns, highest first
    # [r, column]: the draws ranking the column r + 1 (order[d, r] is that column)
    counts = np.bincount((np.arange(k) * k + order).ravel(), minlength=k * k).reshape(k, k)
    below = counts.cumsum(axis=0)  # [r, column]: draws ranking the column r + 1 or higher
    # numpy's own position of each quantile among ``draws`` sorted values (0-based)
    at = [int(np.quantile(np.arange(draws), q, method="inverted_cdf")) for q in qs]
    return [(below <= a).sum(axis=0) + 1 for a in at]


def versus_whole(
    sums: pl.DataFrame, *, by: str, alpha: float = ALPHA, level: float = 0.95
) -> pl.DataFrame:
    """Each ``by`` group against all groups pooled, from stratum sums of ONE variable.

    The test is the group against the rest (disjoint domains, the linearised contrast of
    ``difference_from_sums``): the group equals the whole exactly when it equals the rest.
    Holm over every group tested; ``group`` is above / same / below (null when too few).
    Columns: ``by``, ``difference`` (group minus whole), ``p_value``, ``p_adjusted``, ``group``.
    Every group's contrast in one pass over arrays (``difference_parts``), the sums repeated
    once per group with the group as side b and every other row as side a.
    """
    whole = combine(sums, level=level).get_column("estimate")
    return _versus(sums, by, whole[0] if len(whole) else None, alpha=alpha, level=level)


def _versus(
    sums: pl.DataFrame, by: str, national: float | None, *, alpha: float, level: float
) -> pl.DataFrame:
    """``versus_whole`` given the whole's estimate ``national``."""
    values = sums.get_column(by)
    focus = values.drop_nulls().unique().sort()
    names = sums.get_column("variable").to_list()
    variables = {v: i for i, v in enumerate(sorted(set(names)))}
    at = {g: i for i, g in enumerate(focus.to_list())}
    own = np.array([at.get(v, -1) for v in values.to_list()], dtype=np.int64)
    f, copies = np.repeat(np.arange(len(focus)), sums.height), len(focus)
    column = {c: sums.get_column(c).cast(pl.Float64).to_numpy() for c in (*_SUMS, "n_h", "N_h")}
    made = difference_parts(
        {c: np.tile(column[c], copies) for c in _SUMS},
        f * len(variables) + np.tile([variables[v] for v in names], copies).astype(np.int64),
        copies * len(variables), np.tile(own, copies) == f,
        np.tile(groups_of(sums, ["stratum"]).code, copies),
        np.tile(column["n_h"], copies), np.tile(column["N_h"], copies),
    )  # fmt: skip
    n = np.minimum(made.n_a, made.n_b)
    done = interval(made.estimate_b - made.estimate_a, made.var, n, level=level, ci="normal",
                    share=False, df=None, min_n=MIN_N)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(done.suppressed, np.nan, two_sided_p(done.estimate / done.se))
    shown_b = np.where(done.suppressed, np.nan, made.estimate_b)
    difference = shown_b - (np.nan if national is None else national)
    tests = pl.DataFrame([
        focus.gather(np.repeat(np.arange(copies), len(variables))).alias(by),
        pl.Series("difference", difference, nan_to_null=True),
        pl.Series("p_value", p, nan_to_null=True),
    ])  # fmt: skip
    return _grouped(tests, alpha)


def _grouped(tests: pl.DataFrame, alpha: float) -> pl.DataFrame:
    """Holm over the tests (``difference``, ``p_value``), and each one's group."""
    adjusted = holm(tests.get_column("p_value"))
    p = adjusted.fill_null(np.nan).to_numpy()
    significant = p < alpha
    difference = tests.get_column("difference").fill_null(np.nan).to_numpy()
    group = np.where(significant & (difference > 0), "above",
                     np.where(significant & (difference < 0), "below", "same"))  # fmt: skip
    shown = [None if np.isnan(q) else g for q, g in zip(p, group.tolist(), strict=True)]
    return pl.DataFrame([*tests.get_columns(), adjusted, pl.Series("group", shown, pl.String)])


@dataclass(frozen=True)
class Standing:
    """Composite trust per region with its rank interval and its place against the country."""

    regions: pl.DataFrame  # region, estimate, se, ci_low, ci_high, n, suppressed, rank,
    # rank_low, rank_high, difference, p_value, p_adjusted, group
    national: float | None
    tested: int  # regions in the Holm family
    draws: int
    seed: int
    weights: str = "delivered"  # issue 12: "calibrated" when the wave was raked
    uncalibrated_waves: tuple[str, ...] = ()  # asked to calibrate, left delivered


def region_standing(
    responses: pl.DataFrame,
    institutions: Sequence[str] = (),
    *,
    alpha: float = ALPHA,
    draws: int = RANK_DRAWS,
    seed: int = RANK_SEED,
) -> Standing:
    """The Regions page's ranking: composite trust per region (one sample, e.g. one wave of
    one source), rank intervals and the Holm-corrected grouping against the national figure
    (all the given regions pooled)."""
    variables = {"composite_trust": composite_expr(trust_columns(responses, institutions))}
    sums = variable_sums(responses, variables, by=["region"])
    return standing_from_sums(sums, alpha=alpha, draws=draws, seed=seed)


def standing_from_sums(
    sums: pl.DataFrame, *, alpha: float = ALPHA, draws: int = RANK_DRAWS, seed: int = RANK_SEED
) -> Standing:
    """``region_standing`` from per (region, stratum) sums of one variable with delivered
    weights: from the rows (``variable_sums``) or the summary store, the same numbers."""
    estimates = combine(sums, by=["region"]).drop("variable")
    national = combine(sums).get_column("estimate")
    whole = national[0] if len(national) else None  # versus_whole's own, made once
    versus = _versus(sums, "region", whole, alpha=alpha, level=0.95)
    return _standing(estimates, national, versus, draws=draws, seed=seed)


def _standing(
    estimates: pl.DataFrame, national: pl.Series, versus: pl.DataFrame, *, draws: int, seed: int
) -> Standing:
    ranks = rank_intervals(estimates, key="region", draws=draws, seed=seed)
    regions = (
        estimates.join(ranks, on="region", how="left")
        .join(versus, on="region", how="left")
        .sort("rank", "region", nulls_last=True)
    )
    return Standing(
        regions=regions,
        national=national[0] if len(national) else None,
        tested=versus.get_column("p_adjusted").is_not_null().sum(),
        draws=draws,
        seed=seed,
    )


def weighted_standing(
    data: object,
    filters: object,
    source: str,
    wave: str,
    *,
    alpha: float = ALPHA,
    draws: int = RANK_DRAWS,
    seed: int = RANK_SEED,
) -> Standing:
    """``region_standing`` of one wave of ``source`` under ``filters`` with the weights switch
    (issue 12): with ``filters.weights == "calibrated"`` the wave is raked to its year's
    margins and every estimate, rank interval and test uses the raked weights and the
    rake-aware variance (``queries.metrics.page_weights``); a wave without margins is delivered.
    A pure function of the dataset and plain values (the dashboard caches it)."""
    from queries.metrics.page_weights import selection_rows, weighted_sums  # builds on this

    rows = selection_rows(data, filters, source, [wave])
    if filters.weights != "calibrated" or rows.is_empty():
        return region_standing(rows, filters.institutions, alpha=alpha, draws=draws, seed=seed)
    y = composite_expr(trust_columns(data.responses, filters.institutions))
    variables = {"composite_trust": y}
    regional = weighted_sums(data, filters, source, variables, by=["region"], waves=[wave])
    if regional.weights != "calibrated":  # no margins for this wave: as delivered
        plain = region_standing(rows, filters.institutions, alpha=alpha, draws=draws, seed=seed)
        return replace(plain, uncalibrated_waves=regional.uncalibrated_waves)
    whole = weighted_sums(data, filters, source, variables, waves=[wave])

    def tested(contrasts: Sequence[Contrast]) -> pl.DataFrame:
        chosen = {c.region: contrast_expr(c, y) for c in contrasts}
        return weighted_sums(data, filters, source, chosen, waves=[wave]).sums

    made = calibrated_standing(
        regional.sums, whole.sums, tested, alpha=alpha, draws=draws, seed=seed
    )
    return replace(made, uncalibrated_waves=regional.uncalibrated_waves)


@dataclass(frozen=True)
class Contrast:
    """Region ``region`` against the rest under raked weights: the variable
    v = scale·(y − centre), with (scale, centre) ``inside`` the region and ``outside`` it.

    Its raked mean is 0 and its linearised variable is z_g − z_rest: W/W_g·(y − r_g) in g,
    −W/W_rest·(y − r_rest) elsewhere (W: raked totals of the domain's respondents with a
    value), so its rake-aware variance is that of r_g − r_rest, the cross term included. The
    region is a cell dimension, so v is affine in y within every cell: its cell sums follow
    from y's (``queries.summaries.standing``) as well as from the rows (``contrast_expr``)."""

    region: str
    inside: tuple[float, float]
    outside: tuple[float, float]
    difference: float  # r_g − r_rest


def contrasts_of(sums: pl.DataFrame) -> list[Contrast]:
    """One ``Contrast`` per region with a raked total (and a rest), from per-region raked sums."""
    per = sums.group_by("region").agg(pl.col("sw", "swy").sum()).filter(pl.col("sw") > 0)
    total, total_y = per.get_column("sw").sum(), per.get_column("swy").sum()
    out = []
    for region, w_g, wy_g in per.sort("region").iter_rows():
        rest = total - w_g
        if rest <= 0:
            continue
        r_g, r_rest = wy_g / w_g, (total_y - wy_g) / rest
        out.append(Contrast(region, (total / w_g, r_g), (-total / rest, r_rest), r_g - r_rest))
    return out


def contrast_expr(contrast: Contrast, y: pl.Expr) -> pl.Expr:
    """The contrast's variable per respondent (null where ``y`` is)."""
    (a_in, c_in), (a_out, c_out) = contrast.inside, contrast.outside
    return (
        pl.when(pl.col("region") == contrast.region)
        .then(a_in * (y - c_in))
        .otherwise(a_out * (y - c_out))
    )


def calibrated_standing(
    regional: pl.DataFrame,
    whole: pl.DataFrame,
    tested: Callable[[Sequence[Contrast]], pl.DataFrame],
    *,
    alpha: float = ALPHA,
    draws: int = RANK_DRAWS,
    seed: int = RANK_SEED,
) -> Standing:
    """The raked standing from raked sums per region (``regional``) and of the whole domain
    (``whole``); ``tested(contrasts)``: the raked sums (by nothing) of the contrasts' variables,
    each named by its region. The rows and the summary store supply the sums alike."""
    estimates = combine(regional, by=["region"]).drop("variable")
    national = combine(whole).get_column("estimate")
    contrasts = contrasts_of(regional)
    diffs = pl.DataFrame(
        [(c.region, c.difference) for c in contrasts],
        schema={"region": pl.String, "_diff": pl.Float64},
        orient="row",
    )
    sums = combine(tested(contrasts)) if contrasts else None
    versus = _versus_contrasts(estimates, national, diffs, sums, alpha)
    made = _standing(estimates, national, versus, draws=draws, seed=seed)
    return replace(made, weights="calibrated")


def _versus_contrasts(
    estimates: pl.DataFrame,
    national: pl.Series,
    diffs: pl.DataFrame,
    tested: pl.DataFrame | None,
    alpha: float,
) -> pl.DataFrame:
    """``versus_whole``'s columns from the regions' raked estimates and the contrasts' SEs
    (a two-sided z-test of the region against the rest, as ``difference_from_sums``)."""
    whole = national[0] if len(national) else None
    se = pl.DataFrame(schema={"region": pl.String, "_se": pl.Float64})
    if tested is not None and tested.height:
        se = tested.select(pl.col("variable").alias("region"), pl.col("se").alias("_se"))
    tests = estimates.join(se, on="region", how="left").join(diffs, on="region", how="left")
    hide = pl.col("suppressed") | pl.col("_se").is_null() | (pl.col("_se") <= 0)
    tests = tests.select(
        "region",
        (pl.col("estimate") - whole).alias("difference"),
        pl.when(hide).then(None).otherwise(pl.col("_diff") / pl.col("_se")).alias("p_value"),
    )  # the z, made a p-value below (outside the expression: see ``p_values``)
    tests = tests.with_columns(p_values(tests.get_column("p_value")).alias("p_value"))
    return _grouped(tests, alpha)


def weighted_by_group(data: object, filters: object, source: str, wave: str, by: str):
    """Composite trust per value of ``by`` (sex, age group, settlement) in one wave, with the
    weights switch (the Regions page's cross-tabs; issue 12). ``WeightedEstimates`` whose
    estimates have ``by``, estimate, se, CI, n, suppressed; no row for a missing value."""
    from queries.metrics.page_weights import weighted_estimates  # builds on this module

    y = composite_expr(trust_columns(data.responses, filters.institutions))
    made = weighted_estimates(data, filters, source, {"composite": y}, by=[by], waves=[wave])
    return groups_shown(made, by)


def groups_shown(made, by: str):
    """``made`` (a ``WeightedEstimates``) without the row of a missing ``by`` value and the
    ``variable`` column: what the cross-tabs draw, from the rows or the summary store.
    Raking names a missing (or out-of-margin) sex or age group ``UNKNOWN``: left out too."""
    if made.estimates.height:
        frame = made.estimates
        values = frame.get_column(by).cast(pl.String).to_list()
        rows = [i for i, v in enumerate(values) if v is not None and v != UNKNOWN]
        if len(rows) < len(values):  # usually none to leave out: no gather then
            frame = frame[rows]
        made = replace(made, estimates=pl.DataFrame(c for c in frame if c.name != "variable"))
    return made
