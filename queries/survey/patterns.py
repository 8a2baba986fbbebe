"""The linear design-based regression (``fitted_terms``, ``family="gaussian"``) from sums per
pattern: the rows of one stratum with the same value of every predictor.

Within a pattern x is one row, so X'WX, X'Wy and every stratified sum of the linearised scores
z_i = w_i (y_i − x'β) A⁻¹x expand into the pattern's n, Σy, Σw, Σwy, Σw², Σw²y and Σw²y²:
Σz = A⁻¹x (Σwy − x'β Σw), Σz² = (A⁻¹x)² (Σw²y² − 2x'β Σw²y + (x'β)² Σw²), and for the raking
projection Σwz and Σz/w likewise. No approximation: the sums of the rows, regrouped. The
drivers model's predictors are answers on short scales and categories, so a wave of hundreds of
thousands of respondents has tens of thousands of patterns, and how many does not grow with
the respondents once the occupied patterns are seen (issue 11: a model's cost bounded by the
design, not the data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from queries.survey.calibration import (
    RakeProjection,
    ScoreSums,
    summed_column_variances,
)
from queries.survey.regression import COLLINEAR, Collinear, Fit, collinear, finished

__all__ = ["PatternSums", "Patterns", "pattern_sums", "pattern_terms", "patterns_of"]

_SPAN = 2**62  # codes combined into one int64 key below this


@dataclass(frozen=True, eq=False)
class Patterns:
    """A sample's rows grouped by stratum and every predictor's code."""

    of_row: np.ndarray  # each row's pattern 0..P-1 (int32), -1 for rows in none
    first: np.ndarray  # a row of each pattern: its stratum, its codes, its raking cell
    count: np.ndarray  # rows per pattern


def patterns_of(
    *, codes: Sequence[np.ndarray], sizes: Sequence[int], rows: np.ndarray
) -> Patterns | None:
    """The patterns of the sample rows ``rows`` (bool per row): the distinct combinations of
    ``codes`` (per column, 0..size-1 per row; the stratum one of them). None when the
    combinations do not fit one 64-bit key (the caller fits on the rows)."""
    if np.prod([float(max(size, 1)) for size in sizes]) >= _SPAN:
        return None
    at = np.flatnonzero(rows)
    key = np.zeros(len(at), dtype=np.int64)
    for column, size in zip(codes, sizes, strict=True):
        key = key * max(size, 1) + column[at]
    _, first, inverse, count = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    of_row = np.full(len(rows), -1, dtype=np.int32)
    of_row[at] = inverse.ravel()
    return Patterns(of_row, at[first], count)


@dataclass(frozen=True, eq=False)
class PatternSums:
    """Per pattern, n, Σy, Σw, Σwy, Σw², Σw²y and Σw²y² of its rows (one weight choice)."""

    n: np.ndarray
    y: np.ndarray
    w: np.ndarray
    wy: np.ndarray
    ww: np.ndarray
    wwy: np.ndarray
    wwyy: np.ndarray

    def at(self, chosen: np.ndarray) -> PatternSums:
        """The sums of the ``chosen`` patterns (indices) only."""
        return PatternSums(*(getattr(self, f)[chosen] for f in _FIELDS))


_FIELDS = ("n", "y", "w", "wy", "ww", "wwy", "wwyy")


def pattern_sums(patterns: Patterns, *, y: np.ndarray, w: np.ndarray) -> PatternSums:
    """``patterns``' sums of the outcome ``y`` with the weights ``w`` (both per row)."""
    inside = patterns.of_row >= 0
    group, y, w = patterns.of_row[inside], y[inside], w[inside]
    size = len(patterns.count)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=size)

    wy, ww = w * y, w * w
    return PatternSums(
        patterns.count.astype(float), total(y), total(w), total(wy), total(ww),
        total(ww * y), total(wy * wy),
    )  # fmt: skip


def pattern_terms(
    *,
    names: Sequence[str],
    x: np.ndarray,
    sums: PatternSums,
    rows: np.ndarray,
    strata: np.ndarray,
    sampled: np.ndarray | None = None,
    level: float = 0.95,
    raked_on: RakeProjection | None = None,
) -> Fit:
    """``fitted_terms`` (gaussian, no fpc) of the patterns in the model: ``x`` their rows of
    the design matrix, ``sums`` their sums, ``rows`` a sample row of each; ``strata`` every
    sample row's stratum (codes 0..H-1) and ``sampled`` (bool per row, None: all) the rows that
    are the design's sample, whose strata sizes the SEs read. With ``raked_on`` (made with the
    sums' weights), the rake-aware SEs; each pattern is then within one raking cell."""
    if collinear(x, sums.n):
        raise Collinear(COLLINEAR)
    info = x.T @ (sums.w[:, None] * x)
    beta = np.linalg.solve(info, x.T @ sums.wy)
    a_inv = np.linalg.inv(info)
    fitted = x @ beta
    c = x @ a_inv  # a score is c times the row's w·(y − x'β)
    e1 = sums.wy - fitted * sums.w  # Σ w(y − x'β)
    e2 = sums.wwyy - 2 * fitted * sums.wwy + fitted * fitted * sums.ww  # Σ w²(y − x'β)²
    z, zz = c * e1[:, None], c * c * e2[:, None]
    if raked_on is not None:  # issue 12: calibration-aware linearisation
        wz = c * (sums.wwy - fitted * sums.ww)[:, None]
        over_w = c * (sums.y - fitted * sums.n)[:, None]
        variances = raked_on.summed_variances(ScoreSums(z, zz, wz, over_w, rows), strata, None)
    else:
        if sampled is not None:  # the sample's strata only: the others are not in the design
            strata = np.where(sampled, strata, strata.max() + 1)
        variances = summed_column_variances(z, zz, rows=rows, strata=strata, pop=None)
    return finished(
        names=names, beta=beta, se=np.sqrt(variances), n=int(sums.n.sum()),
        strata=len(np.unique(strata[rows])), level=level,
    )  # fmt: skip
