"""Design-based survey estimators, with the semantics of R's ``survey`` package.

Design: stratified, one respondent = one PSU, weights = inverse inclusion probabilities, optional
finite population correction (``fpc`` = population size of the stratum). Means and proportions are
ratio estimators; standard errors come from Taylor linearisation. Domains (``by`` groups, the
``domain`` column, and missing values) are estimated over the full design: a row outside the
domain stays in its stratum's n_h with a zero contribution, as R's ``[.survey.design2`` plus
``onestage`` do. Lonely PSU rule: R's ``survey.lonely.psu = "adjust"`` (a stratum with one
respondent is centred on the grand mean, i.e. contributes (1 - f_h) * z_h^2).

Everything is computed in two steps so that step 1 can also run as one SQL GROUP BY:
1. ``stratum_sums``: per (by groups, stratum, variable) the sums Σw, Σwy, Σw², Σw²y, Σw²y², the
   respondent count n, the stratum size n_h and population N_h ;
2. ``combine_sums``: the estimate, its SE and CI from those sums.
The SQL form of step 1 is ``queries.survey_sql.sums_select`` (one GROUP BY over a table).
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import polars as pl

from queries.errors import SenimError

__all__ = [
    "MIN_N",
    "SUM_COLUMNS",
    "combine_sums",
    "difference",
    "difference_from_sums",
    "stratum_sums",
    "survey_mean",
    "survey_proportion",
    "z_value",
]

MIN_N = 30  # below this many respondents an estimate is suppressed ("too few responses")
SUM_COLUMNS = ("sw", "swy", "sw2", "sw2y", "sw2y2")
_YES = {"yes", "y", "1", "true", "t", "да", "д", "иә", "ия"}
_NO = {"no", "n", "0", "false", "f", "нет", "н", "жоқ"}


def z_value(level: float) -> float:
    """The two-sided normal quantile for a confidence level (1.959964 for 0.95)."""
    if not 0 < level < 1:
        raise SenimError(f"Confidence level must be between 0 and 1, got {level!r}.")
    return NormalDist().inv_cdf(0.5 + level / 2)


def _as_list(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _value_expr(frame: pl.DataFrame, value: str, *, binary: bool) -> pl.Expr:
    """``value`` as Float64: Boolean and yes/no text become 1/0; other text is an error."""
    if value not in frame.columns:
        raise SenimError(
            f"Column {value!r} is not in the data (columns: {', '.join(frame.columns)})."
        )
    dtype = frame.schema[value]
    col = pl.col(value)
    if dtype == pl.String:
        low = frame.get_column(value).drop_nulls().str.strip_chars().str.to_lowercase()
        bad = low.filter(~low.is_in(list(_YES | _NO)) & (low != ""))
        if len(bad):
            raise SenimError(f"Column {value!r}: {bad[0]!r} is not a yes/no answer.")
        text = col.str.strip_chars().str.to_lowercase()
        return (
            pl.when(text.is_in(list(_YES)))
            .then(1.0)
            .when(text.is_in(list(_NO)))
            .then(0.0)
            .otherwise(None)
        )
    if not (dtype == pl.Boolean or dtype.is_numeric()):
        raise SenimError(f"Column {value!r} has type {dtype}; a number or yes/no was expected.")
    if binary and dtype != pl.Boolean:
        bad = frame.get_column(value).drop_nulls().cast(pl.Float64)
        bad = bad.filter(~bad.is_in([0.0, 1.0]))
        if len(bad):
            raise SenimError(f"Column {value!r}: {bad[0]!r} is not 0/1; a proportion needs 0/1.")
    return col.cast(pl.Float64)


def _check_weights(frame: pl.DataFrame, weight: str) -> None:
    if weight not in frame.columns:
        raise SenimError(f"Weight column {weight!r} is not in the data.")
    w = frame.get_column(weight).cast(pl.Float64)
    bad = (w.is_null() | w.is_nan() | (w <= 0)).arg_true()
    if len(bad):
        row = int(bad[0])
        raise SenimError(
            f"Weight column {weight!r}, row {row + 1}: {w[row]!r} is not a positive number "
            f"({len(bad)} row(s) with a missing, zero or negative weight); weights must be > 0."
        )


def stratum_sums(
    frame: pl.DataFrame,
    values: str | Sequence[str],
    *,
    weight: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    by: str | Sequence[str] | None = None,
    domain: str | None = None,
    binary: bool = False,
) -> pl.DataFrame:
    """Per (by groups, stratum, variable) sums that every estimate is built from.

    One pass over the frame for many value columns. Columns: the ``by`` columns, ``stratum``,
    ``variable``, ``sw``, ``swy``, ``sw2``, ``sw2y``, ``sw2y2`` (over respondents in the domain
    with a value), ``n`` (their count), ``n_h`` (all rows of the stratum), ``N_h`` (population).
    """
    names = _as_list(values)
    by_cols = _as_list(by)
    if weight is not None:
        _check_weights(frame, weight)
    for col in [*by_cols, *(c for c in (strata, fpc, domain) if c)]:
        if col not in frame.columns:
            raise SenimError(f"Column {col!r} is not in the data.")
    w = pl.col(weight).cast(pl.Float64) if weight else pl.lit(1.0)
    inside = pl.col(domain).fill_null(False) if domain else pl.lit(True)
    prep = [
        (pl.col(strata).cast(pl.String) if strata else pl.lit("all")).alias("stratum"),
        (pl.col(fpc).cast(pl.Float64) if fpc else pl.lit(None, pl.Float64)).alias("N_h"),
    ]
    aggs: list[pl.Expr] = [pl.len().alias("_len"), pl.col("N_h").max()]
    for i, name in enumerate(names):
        y = _value_expr(frame, name, binary=binary)
        keep = y.is_not_null() & inside
        prep += [
            pl.when(keep).then(w).otherwise(0.0).alias(f"_w{i}"),
            pl.when(keep).then(y).otherwise(0.0).alias(f"_y{i}"),
        ]
        wi, yi = pl.col(f"_w{i}"), pl.col(f"_y{i}")
        aggs += [
            wi.sum().alias(f"{i}:sw"),
            (wi * yi).sum().alias(f"{i}:swy"),
            (wi * wi).sum().alias(f"{i}:sw2"),
            (wi * wi * yi).sum().alias(f"{i}:sw2y"),
            (wi * wi * yi * yi).sum().alias(f"{i}:sw2y2"),
            (wi > 0).sum().cast(pl.Int64).alias(f"{i}:n"),
        ]
    keys = [*by_cols, "stratum"]
    wide = (
        frame.lazy()
        .select(*by_cols, *prep)
        .group_by(keys)
        .agg(aggs)
        .with_columns(
            pl.col("_len").sum().over("stratum").cast(pl.Int64).alias("n_h"),
            pl.col("N_h").max().over("stratum"),
        )
        .collect()
    )
    return _to_long(wide, keys, names)


def _to_long(wide: pl.DataFrame, keys: list[str], names: list[str]) -> pl.DataFrame:
    parts = [
        wide.select(
            *keys,
            pl.lit(name).alias("variable"),
            *(pl.col(f"{i}:{s}").alias(s) for s in (*SUM_COLUMNS, "n")),
            "n_h",
            "N_h",
        )
        for i, name in enumerate(names)
    ]
    return pl.concat(parts) if parts else pl.DataFrame()


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


def _finish(
    frame: pl.DataFrame, level: float, *, clip: bool, est: str = "estimate"
) -> pl.DataFrame:
    z = z_value(level)
    small = pl.col("n") < MIN_N
    se = pl.col("_var").clip(lower_bound=0.0).sqrt()
    low, high = pl.col(est) - z * se, pl.col(est) + z * se
    if clip:
        low, high = low.clip(0.0, 1.0), high.clip(0.0, 1.0)
    hide = small | pl.col(est).is_null()
    return frame.with_columns(
        pl.when(hide).then(None).otherwise(pl.col(est)).alias(est),
        pl.when(hide).then(None).otherwise(se).alias("se"),
        pl.when(hide).then(None).otherwise(low).alias("ci_low"),
        pl.when(hide).then(None).otherwise(high).alias("ci_high"),
        small.alias("suppressed"),
    ).drop("_var")


def combine_sums(
    sums: pl.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    proportion: bool = False,
) -> pl.DataFrame:
    """Estimates from ``stratum_sums`` output (or the same columns from SQL), per ``by`` group.

    ``by`` may be coarser than the groups the sums were made for (e.g. sums by wave and region,
    combined by wave): sums add up within a stratum. Rows whose ``by`` value is null are dropped.
    """
    by_cols = _as_list(by)
    keys = [*by_cols, "variable"]
    _check_fpc(sums)
    per = (
        sums.lazy()
        .filter(pl.lit(True), *(pl.col(c).is_not_null() for c in by_cols))
        .group_by([*keys, "stratum"])
        .agg(*(pl.col(c).sum() for c in (*SUM_COLUMNS, "n")), pl.col("n_h", "N_h").first())
    )
    if not by_cols and per.collect_schema().get("variable") is None:
        raise SenimError("The sums frame has no 'variable' column.")
    total_w = pl.col("sw").sum().over(keys)
    ratio = pl.col("swy").sum().over(keys) / total_w
    s1 = (pl.col("swy") - ratio * pl.col("sw")) / total_w
    s2 = (
        pl.col("sw2y2") - 2 * ratio * pl.col("sw2y") + ratio * ratio * pl.col("sw2")
    ) / total_w.pow(2)
    out = (
        per.with_columns(
            pl.when(total_w > 0).then(ratio).otherwise(None).alias("estimate"),
            _stratum_variance(s1, s2).alias("_var"),
        )
        .group_by(keys)
        .agg(pl.col("estimate").first(), pl.col("_var").sum(), pl.col("n").sum())
        .sort(keys)
        .collect()
    )
    out = _finish(out, level, clip=proportion)
    return out.select(*keys, "estimate", "se", "ci_low", "ci_high", "n", "suppressed")


def _estimate(frame, value, *, binary, weight, strata, fpc, by, domain, level) -> pl.DataFrame:
    sums = stratum_sums(
        frame, value, weight=weight, strata=strata, fpc=fpc, by=by, domain=domain, binary=binary
    )
    out = combine_sums(sums, by=by, level=level, proportion=binary).drop("variable")
    if not _as_list(by) and out.height == 0:  # an empty frame still answers with n = 0
        out = pl.DataFrame(
            {"estimate": [None], "se": [None], "ci_low": [None], "ci_high": [None], "n": [0]},
            schema_overrides={c: pl.Float64 for c in ("estimate", "se", "ci_low", "ci_high")},
        ).with_columns(pl.col("n").cast(pl.Int64), suppressed=pl.lit(True))
    return out


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
) -> pl.DataFrame:
    """Weighted mean of ``value`` with design-based SE and normal CI, per ``by`` group.

    Returns the ``by`` columns, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``,
    ``suppressed``.
    """
    return _estimate(
        frame, value, binary=False, weight=weight, strata=strata, fpc=fpc, by=by,
        domain=domain, level=level,
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
) -> pl.DataFrame:
    """Weighted share of yes (1/True/"yes") in ``value``; as ``survey_mean``, CI within [0, 1]."""
    return _estimate(
        frame, value, binary=True, weight=weight, strata=strata, fpc=fpc, by=by,
        domain=domain, level=level,
    )  # fmt: skip


def difference_from_sums(
    sums: pl.DataFrame,
    between: str,
    a: object,
    b: object,
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pl.DataFrame:
    """The change ``estimate_b - estimate_a`` between two values of column ``between``.

    A linearised contrast: per stratum, z = z_b - z_a from the sums of both domains (they are
    disjoint, so Σz² has no cross term). For groups in the same strata this keeps the covariance
    through each stratum's centring; for independent samples (disjoint strata, e.g. two waves)
    it reduces to var_a + var_b. Two-sided z-test; ``significant`` when p < 1 - level.
    """
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
    grp = [*keys, "_side"]
    total_w = pl.col("sw").sum().over(grp)
    ratio = pl.col("swy").sum().over(grp) / total_w
    s1 = (pl.col("swy") - ratio * pl.col("sw")) / total_w
    s2 = (
        pl.col("sw2y2") - 2 * ratio * pl.col("sw2y") + ratio * ratio * pl.col("sw2")
    ) / total_w.pow(2)
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
        .agg(pl.col("_s1").sum(), pl.col("_s2").sum(), pl.col("n_h", "N_h").first())
        .with_columns(_stratum_variance(pl.col("_s1"), pl.col("_s2")).alias("_var"))
        .group_by(keys)
        .agg(pl.col("_var").sum())
    )
    out = est.join(var, on=keys, how="left", nulls_equal=True).sort(keys).collect()
    out = out.with_columns(
        (pl.col("estimate_b") - pl.col("estimate_a")).alias("difference"),
        pl.min_horizontal("n_a", "n_b").alias("n"),
    )
    out = _finish(out, level, clip=False, est="difference")
    hide = pl.col("suppressed")
    z = pl.col("difference") / pl.col("se")
    p = z.abs().map_batches(
        lambda s: pl.Series([None if v is None else 2 * (1 - NormalDist().cdf(v)) for v in s]),
        return_dtype=pl.Float64,
    )
    out = out.with_columns(
        pl.when(hide).then(None).otherwise(pl.col("estimate_a")).alias("estimate_a"),
        pl.when(hide).then(None).otherwise(pl.col("estimate_b")).alias("estimate_b"),
        z.alias("z"),
        p.alias("p_value"),
    ).with_columns((pl.col("p_value") < 1 - level).fill_null(False).alias("significant"))
    return out.select(
        *keys, "estimate_a", "estimate_b", "n_a", "n_b", "difference", "se", "ci_low", "ci_high",
        "z", "p_value", "significant", "suppressed",
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
    return difference_from_sums(sums, between, a, b, by=by_cols, level=level).drop("variable")
