"""Design-based regression, as R's ``svyglm``: what drives trust, with honest uncertainty.

Coefficients: weighted least squares (``family="gaussian"``) or logit-link IRLS with the
survey weights (``family="quasibinomial"``, the same point estimates as a weighted logistic
regression). Variance: the linearised sandwich of ``svyglm`` (``svy.varcoef``): the per-
respondent estimating functions u_i = w_i x_i (y_i − μ_i), times the inverse weighted
information (X'WVX)⁻¹, go through the stratified variance (one respondent = one PSU, fpc,
lonely strata centred on 0; only its diagonal, the SEs, is needed). Rows with a missing outcome or
predictor leave the model but keep their stratum's n_h, as R's row subset of a design does.
Intervals and p-values use t with the model's residual degrees of freedom, design df minus
coefficients plus one (``svyglm``'s ``df.residual``, used by ``summary`` and ``confint``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from queries.errors import SenimError
from queries.survey.calibration import (
    RakeProjection,
    category_codes,
    column_variances,
    rake_projection,
)
from queries.survey.design import z_value
from queries.survey.sums import check_weights, value_expr

__all__ = [
    "COLLINEAR",
    "INTERCEPT",
    "MIN_MODEL_N",
    "Collinear",
    "Family",
    "Fit",
    "collinear",
    "finished",
    "fitted_terms",
    "survey_regression",
]

INTERCEPT = "(Intercept)"  # R's name for it
MIN_MODEL_N = 200  # fewer respondents than this: no model (too unstable to read drivers from)
Family = Literal["gaussian", "quasibinomial"]
_GLM_EPSILON = 1e-8  # glm.control()$epsilon
_CLEAR = 1e8  # X'X's eigenvalues within this of each other: X plainly of full rank


def _design_matrix(
    frame: pl.DataFrame, predictors: Sequence[str]
) -> tuple[list[str], list[pl.Expr]]:
    """Term names and Float64 columns, named as R's ``model.matrix`` names them.

    Numbers stay as they are; Booleans become ``columnTRUE``; text (or categorical) columns
    become one dummy per level but the first (sorted, as R's factor levels), named column+level.
    """
    names, cols = [INTERCEPT], [pl.lit(1.0)]
    for col in predictors:
        if col not in frame.columns:
            raise SenimError(
                f"Predictor {col!r} is not in the data (columns: {', '.join(frame.columns)})."
            )
        dtype = frame.schema[col]
        if dtype == pl.Boolean:
            names.append(f"{col}TRUE")
            cols.append(pl.col(col).cast(pl.Float64))
        elif dtype.is_numeric():
            names.append(col)
            cols.append(pl.col(col).cast(pl.Float64))
        elif dtype in (pl.String, pl.Categorical, pl.Enum):
            levels = sorted(frame.get_column(col).cast(pl.String).drop_nulls().unique())
            if len(levels) < 2:
                raise SenimError(f"Predictor {col!r} has a single value; it explains nothing.")
            text = pl.col(col).cast(pl.String)
            for level in levels[1:]:
                names.append(f"{col}{level}")
                cols.append(pl.when(text.is_null()).then(None).otherwise(text == level)
                            .cast(pl.Float64))  # fmt: skip
        else:
            raise SenimError(f"Predictor {col!r} has type {dtype}; a number, yes/no or text.")
    return names, cols


@dataclass(frozen=True, eq=False)
class Fit:
    """A fitted model's terms as arrays, in ``terms``' order (the intercept first)."""

    terms: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p: np.ndarray
    n: int  # respondents in the model
    df: int  # residual degrees of freedom

    def table(self) -> pl.DataFrame:
        """``survey_regression``'s table: a row per term, ``n`` and ``df`` on each."""
        return pl.DataFrame(
            {
                "term": self.terms,
                **{c: getattr(self, c) for c in ("estimate", "se", "ci_low", "ci_high", "p")},
                "n": [self.n] * len(self.terms),
                "df": [self.df] * len(self.terms),
            },
            schema_overrides={"n": pl.Int64, "df": pl.Int64},
        )


def collinear(x: np.ndarray, counts: np.ndarray | None = None) -> bool:
    """``np.linalg.matrix_rank(x) < p``, without its SVD of the n×p ``x`` where the answer is
    plain. X'X's eigenvalues are X's singular values squared: within 1e8 of each other, the
    singular values are within 1e4, far above numpy's cut-off (the largest times n·ε, under
    1e-9 of it for n < 4M; the rounding of X'X and of its eigenvalues, ~n·ε of the largest,
    cannot move 1e-8 past it). Any other X, every rank-deficient one included, takes numpy's
    own test, so the answer is numpy's. ``counts``: ``x``'s rows are distinct rows standing
    for that many each (X's singular values are those of √count·x; numpy's cut-off counts
    every row)."""
    xs = x if counts is None else x * np.sqrt(counts)[:, None]
    lam = np.linalg.eigvalsh(xs.T @ xs)  # one BLAS syrk, a p×p result
    if lam[0] > 0 and lam[-1] < _CLEAR * lam[0]:
        return False
    if counts is None:
        return bool(np.linalg.matrix_rank(x) < x.shape[1])
    s = np.linalg.svd(xs, compute_uv=False)
    tol = s.max() * max(int(counts.sum()), x.shape[1]) * np.finfo(float).eps  # numpy's own
    return bool(np.count_nonzero(s > tol) < x.shape[1])


def _fit(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, family: Family
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients, the per-respondent score factor u (score_i = u_i x_i) and the information
    X' diag(a) X (a: the information weights).

    The logit fit retraces R's ``glm.fit`` (start μ = (w·y + 0.5)/(w + 1) with the weights
    scaled to mean 1, stop when the deviance changes by < 1e-8 relatively, at most 25 steps),
    and like ``svyglm`` takes the working weights of the last step's start: the SEs then agree
    with R's to ~1e-10 rather than to the ~1e-6 by which R's own stopping rule moves them.
    """
    if family == "gaussian":
        info = x.T @ (w[:, None] * x)
        beta = np.linalg.solve(info, x.T @ (w * y))
        return beta, w * (y - x @ beta), info
    pw = w / w.mean()
    mu = (pw * y + 0.5) / (pw + 1)
    eta = np.log(mu / (1 - mu))
    dev_old = _deviance(y, mu, pw)
    for _ in range(25):
        v = mu * (1 - mu)
        work = eta + (y - mu) / v
        info = x.T @ ((pw * v)[:, None] * x)
        beta = np.linalg.solve(info, x.T @ (pw * v * work))
        eta = x @ beta
        mu = 1 / (1 + np.exp(-eta))
        dev = _deviance(y, mu, pw)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < _GLM_EPSILON:
            # R's working residual (y - μ)/μ(1 - μ) at the new μ, its weight pw·v at the old
            return beta, pw * v * (y - mu) / (mu * (1 - mu)), info
        dev_old = dev
    raise SenimError(
        "The logistic model did not converge (an answer may be perfectly predicted by a "
        "predictor); drop or merge that predictor."
    )


def _deviance(y: np.ndarray, mu: np.ndarray, pw: np.ndarray) -> float:
    return float(-2 * (pw * np.where(y > 0.5, np.log(mu), np.log(1 - mu))).sum())


def survey_regression(
    frame: pl.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    *,
    weight: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    family: Family = "gaussian",
    level: float = 0.95,
    min_n: int = MIN_MODEL_N,
    raked_on: Sequence[np.ndarray] | RakeProjection | None = None,
) -> pl.DataFrame:
    """One row per term: ``term``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p``, ``n``,
    ``df`` (residual df), as R's ``svyglm`` + ``summary``/``confint`` on a stratified design.

    ``family="quasibinomial"`` takes a yes/no or 0/1 outcome; estimates are log-odds ratios.
    Raises SenimError with fewer than ``min_n`` complete respondents, or collinear predictors.
    ``raked_on`` (issue 12): ``weight`` holds raked weights and these are, per raking margin,
    every row's category code, or their ``rake_projection`` with these weights (made once for
    many models of one sample); the scores then lose their projection on the margins before
    the variance, as R's ``svyglm`` on a ``rake()`` design (``svyrecvar`` with its postStrata).
    """
    if family not in ("gaussian", "quasibinomial"):
        raise SenimError(f"Unknown model family {family!r}; use gaussian or quasibinomial.")
    z_value(level)  # checks the level
    if weight is not None:
        check_weights(frame, weight)
    for col in (c for c in (strata, fpc) if c):
        if col not in frame.columns:
            raise SenimError(f"Column {col!r} is not in the data.")
    names, cols = _design_matrix(frame, predictors)
    y_col = value_expr(frame, outcome, binary=family == "quasibinomial")
    w_col = pl.col(weight).cast(pl.Float64) if weight else pl.lit(1.0)
    data = frame.select(
        y_col.alias("_y"),
        w_col.alias("_w"),
        (pl.col(fpc).cast(pl.Float64) if fpc else pl.lit(None, pl.Float64)).alias("_N"),
        *(c.alias(f"_x{i}") for i, c in enumerate(cols)),
    )
    xs = [f"_x{i}" for i in range(len(cols))]
    complete = data.select(pl.all_horizontal(pl.col("_y", *xs).is_not_null())).to_series()
    complete = complete.to_numpy()
    n = int(complete.sum())
    if n < min_n:
        raise SenimError(
            f"Only {n} respondents answered the outcome and every predictor; a model needs at "
            f"least {min_n}."
        )
    strata_codes = category_codes(frame, strata) if strata else np.zeros(frame.height, dtype=int)
    pop = data.get_column("_N").to_numpy() if fpc else None
    if pop is not None and np.any(pop < np.bincount(strata_codes)[strata_codes]):
        raise SenimError("A stratum's population size (fpc) is smaller than its respondents.")
    kept = data.filter(pl.Series(complete))  # only the model's rows become numpy arrays
    weights = data.get_column("_w").to_numpy()
    if raked_on is not None and not isinstance(raked_on, RakeProjection):
        raked_on = rake_projection(weights=weights, margins=raked_on)
    fit = fitted_terms(
        names=names, x=kept.select(xs).to_numpy(), y=kept.get_column("_y").to_numpy(),
        w=kept.get_column("_w").to_numpy(), rows=np.flatnonzero(complete), strata=strata_codes,
        pop=pop, family=family, level=level, raked_on=raked_on, weights=weights,
    )  # fmt: skip
    return fit.table()


def fitted_terms(
    *,
    names: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    rows: np.ndarray,
    strata: np.ndarray,
    pop: np.ndarray | None = None,
    family: Family = "gaussian",
    level: float = 0.95,
    raked_on: RakeProjection | None = None,
    weights: np.ndarray | None = None,
) -> Fit:
    """``survey_regression``'s fit from arrays (a caller that has them skips the frame):
    ``x`` (columns named ``names``), ``y``, ``w`` on the model's rows, ``rows`` their places in
    the sample, ``strata`` (codes 0..H-1) and ``pop`` (N_h or None) per sample row; with
    ``raked_on``, ``weights`` are every sample row's (its projection's own weights)."""
    if collinear(x):
        raise Collinear(COLLINEAR)
    beta, u, info = _fit(x, y, w, family)
    a_inv = np.linalg.inv(info)
    scores = u[:, None] * x @ a_inv
    if raked_on is not None:  # issue 12: calibration-aware linearisation
        if weights is None or not np.array_equal(raked_on.weights, weights):
            raise SenimError("The raking margins were made with other weights than these.")
        se = np.sqrt(raked_on.variances(scores, rows, strata, pop))
    else:  # dropped rows: zero, in their stratum
        se = np.sqrt(column_variances(scores, strata, pop, rows=rows))
    return finished(
        names=names, beta=beta, se=se, n=len(rows),
        strata=np.count_nonzero(np.bincount(strata[rows])), level=level,
    )  # fmt: skip


COLLINEAR = (
    "The predictors are collinear (one is a combination of others, or a category has no "
    "respondents); drop one of them."
)


class Collinear(SenimError):
    """The model has no unique fit: a predictor is a combination of others (``COLLINEAR``).
    Its own class, so a caller can say so without taking any other refusal for it."""


def finished(
    *, names: Sequence[str], beta: np.ndarray, se: np.ndarray, n: int, strata: int, level: float
) -> Fit:
    """The fit's intervals and p-values: t with the residual df, ``n`` respondents in
    ``strata`` strata less the coefficients plus one (``svyglm``'s ``df.residual``)."""
    from scipy.stats import t  # imported here: scipy is slow to import

    df = n - strata - len(beta) + 1
    if df < 1:
        raise SenimError(f"Too few respondents for {len(beta)} coefficients in these strata.")
    crit = t.ppf(0.5 + level / 2, df)
    return Fit(
        terms=tuple(names), estimate=beta, se=se, ci_low=beta - crit * se,
        ci_high=beta + crit * se, p=2 * t.sf(np.abs(beta / se), df), n=n, df=int(df),
    )  # fmt: skip
