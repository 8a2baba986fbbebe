"""Design-based survey estimators, with the semantics of R's ``survey`` package.

Design: stratified, one respondent = one PSU, weights = inverse inclusion probabilities, optional
finite population correction (``fpc`` = population size of the stratum). Means and proportions are
ratio estimators; standard errors come from Taylor linearisation. Domains (``by`` groups, the
``domain`` column, and missing values) are estimated over the full design: a row outside the
domain stays in its stratum's n_h with a zero contribution, as R's ``[.survey.design2`` plus
``onestage`` do. Lonely PSU rule: R's ``survey.lonely.psu = "adjust"`` (a stratum with one
respondent is centred on the grand mean, i.e. contributes (1 - f_h) * z_h^2).

Everything is computed in two steps so that step 1 can also run as one SQL GROUP BY:
1. ``stratum_sums`` (``queries.survey.sums``): per (by groups, stratum, variable) the sums Σw,
   Σwy, Σw², Σw²y, Σw²y², the respondent count n, the stratum size n_h and population N_h;
2. ``combine_sums``: the estimate, its SE and CI from those sums.
The SQL form of step 1 is ``queries.survey.sql.sums_select`` (one GROUP BY over a table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Literal

import numpy as np
import polars as pl

from queries.errors import SenimError
from queries.survey.sums import SUM_COLUMNS, stratum_sums
from queries.survey.sums import as_list as _as_list

__all__ = [
    "CI_METHODS",
    "MIN_N",
    "SUM_COLUMNS",
    "CiMethod",
    "combine_sums",
    "difference",
    "difference_from_sums",
    "p_values",
    "stratum_sums",
    "survey_mean",
    "survey_proportion",
    "t_quantiles",
    "z_value",
]

MIN_N = 30  # below this many respondents an estimate is suppressed ("too few responses")
CiMethod = Literal["normal", "t", "logit"]
# normal: estimate ± z·SE; t: ± t(df)·SE with the design df (R: confint(..., df = degf(design)));
# logit: shares get R's svyciprop(method = "logit") interval with t(df), other variables get "t"
CI_METHODS: tuple[CiMethod, ...] = ("normal", "t", "logit")


def z_value(level: float) -> float:
    """The two-sided normal quantile for a confidence level (1.959964 for 0.95)."""
    if not 0 < level < 1:
        raise SenimError(f"Confidence level must be between 0 and 1, got {level!r}.")
    return NormalDist().inv_cdf(0.5 + level / 2)


# The t and normal tails are computed on whole columns outside polars' expressions: a Python
# callback inside an expression (map_batches) runs on polars' thread pool and must take the GIL,
# while another thread holding the GIL can be waiting for that pool (an eager Series operation):
# with many sessions at once the server stopped (bench/bench_ws_load.py at 10M, py-spy showed
# the pool's workers waiting for the GIL and every script thread waiting for the pool).
def p_values(z: pl.Series, *, df: pl.Series | None = None) -> pl.Series:
    """Two-sided p-values of a column of statistics (null stays null): normal, 2·(1 − Φ(|z|)),
    or Student's t with ``df`` degrees of freedom per row when given (null when df < 1)."""
    from scipy.stats import norm, t  # imported here: scipy is slow to import and rarely needed

    stat = np.abs(z.cast(pl.Float64).to_numpy())
    with np.errstate(invalid="ignore"):
        if df is None:
            tail = norm.sf(stat)
        else:
            dof = df.cast(pl.Float64).to_numpy()
            tail = t.sf(stat, np.where(dof >= 1, dof, np.nan))
    return pl.Series("p_value", 2 * tail, nan_to_null=True)


def t_quantiles(level: float, df: pl.Series) -> pl.Series:
    """The two-sided t quantile for ``level`` with ``df`` degrees of freedom per row (R's
    ``qt(0.5 + level/2, df)``); null when df < 1 (no interval can be given)."""
    from scipy.stats import t

    z_value(level)  # the same check of the level
    dof = df.cast(pl.Float64).to_numpy()
    with np.errstate(invalid="ignore"):
        quantile = t.ppf(0.5 + level / 2, np.where(dof >= 1, dof, np.nan))
    return pl.Series("_crit", quantile, nan_to_null=True)


def _check_ci(ci: str) -> None:
    if ci not in CI_METHODS:
        raise SenimError(f"Unknown interval method {ci!r}; use one of {', '.join(CI_METHODS)}.")


def _check_fpc(sums: pl.DataFrame) -> None:
    bad = sums.filter(pl.col("N_h").is_not_null() & (pl.col("N_h") < pl.col("n_h")))
    if bad.height:
        row = bad.row(0, named=True)
        raise SenimError(
            f"Stratum {row['stratum']!r}: population size (fpc) {row['N_h']:g} is smaller than "
            f"its {row['n_h']} respondents."
        )


def _stratum_variance(s1: pl.Expr, s2: pl.Expr) -> pl.Expr:
    """Variance contribution of one stratum from Σz and Σz² (zero-padded to n_h PSUs)."""
    n_h = pl.col("n_h").cast(pl.Float64)
    fpc = pl.when(pl.col("N_h").is_null()).then(1.0).otherwise(1.0 - n_h / pl.col("N_h"))
    lonely = fpc * s1 * s1  # survey.lonely.psu = "adjust"
    return pl.when(n_h > 1).then(fpc * n_h / (n_h - 1) * (s2 - s1 * s1 / n_h)).otherwise(lonely)


def finish(
    frame: pl.DataFrame,
    level: float,
    *,
    ci: CiMethod = "normal",
    share: pl.Expr | bool = False,
    est: str = "estimate",
) -> pl.DataFrame:
    """SE and interval from the columns ``est``, ``_var``, ``n`` and ``df``; hides small cells.

    ``share`` (a Boolean per row): the row is a proportion, whose interval stays within [0, 1]
    and is the logit one when ``ci="logit"``.
    """
    _check_ci(ci)
    share = pl.lit(share) if isinstance(share, bool) else share
    small = pl.col("n") < MIN_N
    se = pl.col("_var").clip(lower_bound=0.0).sqrt()
    crit = (
        pl.lit(z_value(level), pl.Float64)
        if ci == "normal"
        else t_quantiles(level, frame.get_column("df"))
    )
    # issue 11: each evaluated once, as they are used up to five times below; on a few hundred
    # rows that halves this step's cost
    frame = frame.with_columns(crit.alias("_crit"), se.alias("_se"))
    crit, se = pl.col("_crit"), pl.col("_se")
    low, high = pl.col(est) - crit * se, pl.col(est) + crit * se
    low = pl.when(share).then(low.clip(0.0, 1.0)).otherwise(low)
    high = pl.when(share).then(high.clip(0.0, 1.0)).otherwise(high)
    if ci == "logit":
        # R: svyciprop(method = "logit") = expit(logit(p) ± t·SE/(p(1-p))), the SE of logit(p)
        # by the delta method; p = 0 or 1 has SE 0 and the interval shrinks to the point
        p = pl.col(est)
        inner = (p > 0) & (p < 1)
        eta, half = (p / (1 - p)).log(), crit * se / (p * (1 - p))
        expit = [1 / (1 + (-(eta + sign * half)).exp()) for sign in (-1, 1)]
        logit = share & p.is_not_null()
        low = pl.when(logit).then(pl.when(inner).then(expit[0]).otherwise(p)).otherwise(low)
        high = pl.when(logit).then(pl.when(inner).then(expit[1]).otherwise(p)).otherwise(high)
    hide = small | pl.col(est).is_null()
    return frame.with_columns(
        pl.when(hide).then(None).otherwise(pl.col(est)).alias(est),
        pl.when(hide).then(None).otherwise(se).alias("se"),
        pl.when(hide).then(None).otherwise(low).alias("ci_low"),
        pl.when(hide).then(None).otherwise(high).alias("ci_high"),
        small.alias("suppressed"),
    ).drop("_var", "_crit", "_se")


def _linearised(group: list[str]) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """The ratio estimate of each ``group`` and, per stratum row, Σz and Σz² of its linearised
    variable z = w(y - r)/Σw — the one Taylor step every estimate and contrast shares."""
    total_w = pl.col("sw").sum().over(group)
    ratio = pl.col("swy").sum().over(group) / total_w
    s1 = (pl.col("swy") - ratio * pl.col("sw")) / total_w
    s2 = (
        pl.col("sw2y2") - 2 * ratio * pl.col("sw2y") + ratio * ratio * pl.col("sw2")
    ) / total_w.pow(2)
    return pl.when(total_w > 0).then(ratio), s1, s2


def combine_sums(
    sums: pl.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    proportion: bool = False,
    ci: CiMethod = "normal",
    shares: Sequence[str] = (),
) -> pl.DataFrame:
    """Estimates from ``stratum_sums`` output (or the same columns from SQL), per ``by`` group.

    ``by`` may be coarser than the groups the sums were made for (e.g. sums by wave and region,
    combined by wave): sums add up within a stratum. Rows whose ``by`` value is null are dropped.
    ``proportion`` marks every variable as a share, ``shares`` the named ones (CI within [0, 1];
    the logit interval when ``ci="logit"``). ``df`` = respondents minus strata with respondents
    in the group (R's ``degf()`` of the design, or of its domain subset as ``svyby`` uses).
    """
    _check_ci(ci)
    by_cols = _as_list(by)
    keys = [*by_cols, "variable"]
    _check_fpc(sums)
    per = (
        sums.lazy()
        .filter(pl.lit(True), *(pl.col(c).is_not_null() for c in by_cols))
        .group_by([*keys, "stratum"])
        .agg(
            *(pl.col(c).sum() for c in (*SUM_COLUMNS, "n", *_given(sums))),
            pl.col("n_h", "N_h").first(),
        )
    )
    if not by_cols and per.collect_schema().get("variable") is None:
        raise SenimError("The sums frame has no 'variable' column.")
    ratio, s1, s2 = _linearised(keys)
    if _given(sums):  # calibrated sums bring their own Σz, Σz² (queries.survey.calibrated_sums)
        s1, s2 = pl.col("sz"), pl.col("sz2")
    out = (
        per.with_columns(
            ratio.alias("estimate"),
            _stratum_variance(s1, s2).alias("_var"),
        )
        .group_by(keys)
        .agg(pl.col("estimate").first(), pl.col("_var").sum(), pl.col("n").sum(), _df())
        .sort(keys)
        .collect()
    )
    share = pl.lit(proportion) | pl.col("variable").is_in(list(shares))
    out = finish(out, level, ci=ci, share=share)
    return out.select(*keys, "estimate", "se", "ci_low", "ci_high", "n", "df", "suppressed")


def _given(sums: pl.DataFrame) -> tuple[str, ...]:
    """("sz", "sz2") when the sums carry the linearised variable's Σz, Σz² per stratum (raked
    weights: z is not a function of the plain sums); they hold for their own ``by`` only."""
    return ("sz", "sz2") if "sz" in sums.columns else ()


def _df() -> pl.Expr:
    """Design degrees of freedom over per-stratum rows: respondents minus contributing strata."""
    return (pl.col("n").sum() - (pl.col("n") > 0).sum()).cast(pl.Int64).alias("df")


def _estimate(
    frame, value, *, binary, weight, strata, fpc, by, domain, level, ci, calibrate_to
) -> pl.DataFrame:
    if calibrate_to is not None:
        from queries.survey.calibration import calibrated_estimate  # it builds on this module

        return calibrated_estimate(
            frame, value, binary=binary, weight=weight, strata=strata, fpc=fpc, by=by,
            domain=domain, level=level, ci=ci, calibrate_to=calibrate_to,
        )  # fmt: skip
    sums = stratum_sums(
        frame, value, weight=weight, strata=strata, fpc=fpc, by=by, domain=domain, binary=binary
    )
    out = combine_sums(sums, by=by, level=level, proportion=binary, ci=ci).drop("variable")
    if not _as_list(by) and out.height == 0:  # an empty frame still answers with n = 0
        out = pl.DataFrame(
            {"estimate": [None], "se": [None], "ci_low": [None], "ci_high": [None], "n": [0],
             "df": [0]},
            schema_overrides={c: pl.Float64 for c in ("estimate", "se", "ci_low", "ci_high")},
        ).with_columns(pl.col("n", "df").cast(pl.Int64), suppressed=pl.lit(True))  # fmt: skip
    return out


Margins = Mapping[str, Mapping[object, float]]


def survey_mean(
    frame: pl.DataFrame,
    value: str,
    *,
    weight: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    by: str | Sequence[str] | None = None,
    domain: str | None = None,
    level: float = 0.95,
    ci: CiMethod = "normal",
    calibrate_to: Margins | None = None,
) -> pl.DataFrame:
    """Weighted mean of ``value`` with design-based SE and CI, per ``by`` group.

    ``ci``: "normal" (± z·SE), "t" (± t·SE with the design df, as R's
    ``confint(svymean(...), df = degf(design))``). ``calibrate_to`` ({column: {level:
    population}}): rake the weights to those margins first and use calibration-aware SEs (R:
    ``rake()`` then ``svymean``; see ``queries.survey.calibration``).
    Returns the ``by`` columns, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``, ``df``,
    ``suppressed``.
    """
    return _estimate(
        frame, value, binary=False, weight=weight, strata=strata, fpc=fpc, by=by,
        domain=domain, level=level, ci=ci, calibrate_to=calibrate_to,
    )  # fmt: skip


def survey_proportion(
    frame: pl.DataFrame,
    value: str,
    *,
    weight: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    by: str | Sequence[str] | None = None,
    domain: str | None = None,
    level: float = 0.95,
    ci: CiMethod = "normal",
    calibrate_to: Margins | None = None,
) -> pl.DataFrame:
    """Weighted share of yes (1/True/"yes") in ``value``; as ``survey_mean``, CI within [0, 1].

    ``ci="logit"`` is R's ``svyciprop(method = "logit")`` interval with the design df.
    """
    return _estimate(
        frame, value, binary=True, weight=weight, strata=strata, fpc=fpc, by=by,
        domain=domain, level=level, ci=ci, calibrate_to=calibrate_to,
    )  # fmt: skip


def difference_from_sums(
    sums: pl.DataFrame,
    between: str,
    a: object,
    b: object,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    ci: CiMethod = "normal",
) -> pl.DataFrame:
    """The change ``estimate_b - estimate_a`` between two values of column ``between``.

    A linearised contrast: per stratum, z = z_b - z_a from the sums of both domains (they are
    disjoint, so Σz² has no cross term). For groups in the same strata this keeps the covariance
    through each stratum's centring; for independent samples (disjoint strata, e.g. two waves)
    it reduces to var_a + var_b. Two-sided z-test, or with ``ci="t"``/``"logit"`` a t-test and
    t interval with ``df`` = respondents of both sides minus the strata they are in (a
    difference has no logit interval); ``significant`` when p < 1 - level.
    """
    _check_ci(ci)
    by_cols = _as_list(by)
    keys = [*by_cols, "variable"]
    part = sums.filter(pl.col(between).is_in([a, b]), *(pl.col(c).is_not_null() for c in by_cols))
    side = pl.when(pl.col(between) == b).then(pl.lit("b")).otherwise(pl.lit("a"))
    per = (
        part.lazy()
        .with_columns(side.alias("_side"))
        .group_by([*keys, "_side", "stratum"])
        .agg(*(pl.col(c).sum() for c in (*SUM_COLUMNS, "n")), pl.col("n_h", "N_h").first())
    )
    ratio, s1, s2 = _linearised([*keys, "_side"])
    sign = pl.when(pl.col("_side") == "b").then(1.0).otherwise(-1.0)
    per = per.with_columns(ratio.alias("_r"), (sign * s1).alias("_s1"), s2.alias("_s2"))
    est = per.group_by(keys).agg(
        *(pl.col("_r").filter(pl.col("_side") == s).first().alias(f"r_{s}") for s in "ab"),
        *(pl.col("n").filter(pl.col("_side") == s).sum().alias(f"n_{s}") for s in "ab"),
    )
    est = est.with_columns(
        pl.col("^n_.$").fill_null(0).cast(pl.Int64),
        pl.col("r_a").alias("estimate_a"),
        pl.col("r_b").alias("estimate_b"),
    )
    var = (
        per.group_by([*keys, "stratum"])
        .agg(pl.col("_s1", "_s2", "n").sum(), pl.col("n_h", "N_h").first())
        .with_columns(_stratum_variance(pl.col("_s1"), pl.col("_s2")).alias("_var"))
        .group_by(keys)
        .agg(pl.col("_var").sum(), _df())
    )
    out = est.join(var, on=keys, how="left", nulls_equal=True).sort(keys).collect()
    out = out.with_columns(
        (pl.col("estimate_b") - pl.col("estimate_a")).alias("difference"),
        pl.min_horizontal("n_a", "n_b").alias("n"),
    )
    out = finish(out, level, ci="normal" if ci == "normal" else "t", est="difference")
    hide = pl.col("suppressed")
    z = out.get_column("difference") / out.get_column("se")
    p = p_values(z, df=None if ci == "normal" else out.get_column("df"))
    out = out.with_columns(
        pl.when(hide).then(None).otherwise(pl.col("estimate_a")).alias("estimate_a"),
        pl.when(hide).then(None).otherwise(pl.col("estimate_b")).alias("estimate_b"),
        z.alias("z"),
        p.alias("p_value"),
    ).with_columns((pl.col("p_value") < 1 - level).fill_null(False).alias("significant"))
    return out.select(
        *keys, "estimate_a", "estimate_b", "n_a", "n_b", "difference", "se", "ci_low", "ci_high",
        "z", "p_value", "df", "significant", "suppressed",
    )  # fmt: skip


def difference(
    frame: pl.DataFrame,
    value: str,
    *,
    between: str,
    a: object,
    b: object,
    weight: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    by: str | Sequence[str] | None = None,
    domain: str | None = None,
    proportion: bool = False,
    level: float = 0.95,
    ci: CiMethod = "normal",
) -> pl.DataFrame:
    """Change in the mean (or share) of ``value`` from ``between == a`` to ``between == b``.

    E.g. two waves (``between="wave"``) or two groups (``between="sex"``); see
    ``difference_from_sums`` for the variance. One row per ``by`` group.
    """
    by_cols = _as_list(by)
    sums = stratum_sums(
        frame, value, weight=weight, strata=strata, fpc=fpc, by=[*by_cols, between],
        domain=domain, binary=proportion,
    )  # fmt: skip
    return difference_from_sums(sums, between, a, b, by=by_cols, level=level, ci=ci).drop(
        "variable"
    )
