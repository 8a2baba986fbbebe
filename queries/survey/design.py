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
from typing import Literal

import numpy as np
import polars as pl

from queries.errors import SenimError
from queries.survey.arrays import (
    Interval,
    difference_parts,
    grouped,
    groups_of,
    interval,
    normal_quantile,
    ratio_parts,
    sorted_frame,
    stratum_variance,
    t_critical,
    two_sided_p,
)
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
    return normal_quantile(level)


# The t and normal tails are computed on whole columns outside polars' expressions: a Python
# callback inside an expression (map_batches) runs on polars' thread pool and must take the GIL,
# while another thread holding the GIL can be waiting for that pool (an eager Series operation):
# with many sessions at once the server stopped (bench/bench_ws_load.py at 10M, py-spy showed
# the pool's workers waiting for the GIL and every script thread waiting for the pool).
def p_values(z: pl.Series, *, df: pl.Series | None = None) -> pl.Series:
    """Two-sided p-values of a column of statistics (null stays null): normal, 2·(1 − Φ(|z|)),
    or Student's t with ``df`` degrees of freedom per row when given (null when df < 1)."""
    dof = None if df is None else df.cast(pl.Float64).to_numpy()
    tail = two_sided_p(z.cast(pl.Float64).to_numpy(), dof)
    return pl.Series("p_value", tail, nan_to_null=True)


def t_quantiles(level: float, df: pl.Series) -> pl.Series:
    """The two-sided t quantile for ``level`` with ``df`` degrees of freedom per row (R's
    ``qt(0.5 + level/2, df)``); null when df < 1 (no interval can be given)."""
    z_value(level)  # the same check of the level
    quantile = t_critical(level, df.cast(pl.Float64).to_numpy())
    return pl.Series("_crit", quantile, nan_to_null=True)


def _check_ci(ci: str) -> None:
    if ci not in CI_METHODS:
        raise SenimError(f"Unknown interval method {ci!r}; use one of {', '.join(CI_METHODS)}.")


def _check_fpc(sums: pl.DataFrame) -> None:
    big_n = sums.get_column("N_h").cast(pl.Float64).to_numpy()
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(big_n < sums.get_column("n_h").to_numpy())
    if len(bad):
        row = sums.row(int(bad[0]), named=True)
        raise SenimError(
            f"Stratum {row['stratum']!r}: population size (fpc) {row['N_h']:g} is smaller than "
            f"its {row['n_h']} respondents."
        )


def _column(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float64 (NaN for null)."""
    return frame.get_column(name).cast(pl.Float64).to_numpy()


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
    z_value(level)  # the level's check
    if isinstance(share, bool):
        shares = np.full(frame.height, share)
    else:
        shares = frame.with_columns(share.fill_null(False).alias("_share"))
        shares = shares.get_column("_share").to_numpy().astype(bool)
    made = _interval(
        _column(frame, est), _column(frame, "_var"), _column(frame, "n"),
        level=level, ci=ci, share=shares,
        df=None if ci == "normal" else _column(frame, "df"),
    )  # fmt: skip
    columns = [*_interval_columns(made, est), pl.Series("suppressed", made.suppressed)]
    return frame.with_columns(columns).drop("_var")


def _interval(est, var, n, *, level, ci, share, df):
    return interval(est, var, n, level=level, ci=ci, share=share, df=df, min_n=MIN_N)


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
    Arithmetic on arrays (``queries.survey.arrays``): the frames are per-stratum sums, small.
    """
    _check_ci(ci)
    z_value(level)
    by_cols = _as_list(by)
    keys = [*by_cols, "variable"]
    if "variable" not in sums.columns:
        raise SenimError("The sums frame has no 'variable' column.")
    _check_fpc(sums)
    # per (by, variable, stratum): the sums added up (sums may be finer than ``by``)
    cells = groups_of(sums, [*keys, "stratum"], nullable=len(by_cols))
    inside = cells.code >= 0
    code = cells.code[inside]
    per = {c: np.bincount(code, _column(sums, c)[inside], cells.size)
           for c in (*SUM_COLUMNS, "n", *_given(sums))}  # fmt: skip
    n_h, big_n = (_column(sums, c)[cells.first] for c in ("n_h", "N_h"))
    # per (by, variable): the estimate, the variance summed over strata, n and the design df
    width = len(keys)
    groups = grouped(key[:width] for key in cells.keys)
    ratio, s1, s2 = ratio_parts(per, groups.code, groups.size)
    if _given(sums):  # calibrated sums bring their own Σz, Σz² (queries.survey.calibrated_sums)
        s1, s2 = per["sz"], per["sz2"]
    var = np.bincount(groups.code, stratum_variance(s1, s2, n_h, big_n), groups.size)
    n = np.bincount(groups.code, per["n"], groups.size)
    df = n - np.bincount(groups.code, per["n"] > 0, groups.size)
    named = set(shares)
    share = np.array([key[-1] in named for key in groups.keys], dtype=bool)
    made = _interval(ratio, var, n, level=level, ci=ci, share=share | proportion, df=df)
    columns = [*_interval_columns(made, "estimate"), pl.Series("n", n.round().astype(np.int64)),
               pl.Series("df", df.round().astype(np.int64)),
               pl.Series("suppressed", made.suppressed)]  # fmt: skip
    return sorted_frame(groups.keys, {k: sums.schema[k] for k in keys}, columns)


def _interval_columns(made: Interval, est: str) -> list[pl.Series]:
    names = (est, "se", "ci_low", "ci_high")
    values = (made.estimate, made.se, made.ci_low, made.ci_high)
    return [pl.Series(n, v, nan_to_null=True) for n, v in zip(names, values, strict=True)]


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
    z_value(level)
    by_cols = _as_list(by)
    keys = [*by_cols, "variable"]
    groups = groups_of(sums, keys, nullable=len(by_cols))
    compared = sums.get_column(between)
    side = (compared == b).fill_null(False).to_numpy()
    rows = np.flatnonzero((groups.code >= 0) & compared.is_in([a, b]).fill_null(False).to_numpy())
    present, key = np.unique(groups.code[rows], return_inverse=True)
    made = difference_parts(
        {c: _column(sums, c)[rows] for c in (*SUM_COLUMNS, "n")},
        key, len(present), side[rows], groups_of(sums, ["stratum"]).code[rows],
        _column(sums, "n_h")[rows], _column(sums, "N_h")[rows],
    )  # fmt: skip
    shown = "normal" if ci == "normal" else "t"
    n = np.minimum(made.n_a, made.n_b)
    diff = made.estimate_b - made.estimate_a
    done = _interval(diff, made.var, n, level=level, ci=shown, share=False, df=made.df)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = done.estimate / done.se
    p = two_sided_p(z, None if ci == "normal" else made.df)
    # null where hidden; a 0/0 stays NaN, as polars' division leaves it
    shown_z = [None if h else v for h, v in zip(np.isnan(done.se), z.tolist(), strict=True)]
    hide = done.suppressed
    return sorted_frame([groups.keys[g] for g in present], {k: sums.schema[k] for k in keys}, [
        pl.Series("estimate_a", np.where(hide, np.nan, made.estimate_a), nan_to_null=True),
        pl.Series("estimate_b", np.where(hide, np.nan, made.estimate_b), nan_to_null=True),
        pl.Series("n_a", made.n_a.round().astype(np.int64)),
        pl.Series("n_b", made.n_b.round().astype(np.int64)),
        *_interval_columns(done, "difference"),
        pl.Series("z", shown_z, dtype=pl.Float64),
        pl.Series("p_value", p, nan_to_null=True),
        pl.Series("df", made.df.round().astype(np.int64)),
        pl.Series("significant", np.nan_to_num(p, nan=1.0) < 1 - level),
        pl.Series("suppressed", hide),
    ])  # fmt: skip


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
