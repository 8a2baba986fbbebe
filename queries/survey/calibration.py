"""Estimates with weights raked to population margins, and calibration-aware standard errors.

``survey_mean(..., calibrate_to=margins)`` lands here. The weights are raked by IPF
(``queries.survey.raking.rake``, to 1e-10) and the estimate uses the raked weights. Its SE is
not the fixed-weights one: raking removes the part of the variance that the margins explain.
As R's ``rake()`` followed by ``svymean`` (``svyrecvar``, survey >= 3.6-3), the linearised
variable z_i = w_i (y_i - ȳ) / Σw (zero outside the domain) is projected off the margins by
backfitting, ten sweeps of z ← z − w · ave(z / w, margin) over the margins in turn (``ave`` =
unweighted category mean over all respondents), i.e. the residual of z/w regressed on the
margin indicators, times w. The stratified variance of those residuals is the SE, with the same
lonely-stratum and fpc rules as ``queries.survey.design``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import sparse

from queries.errors import SenimError
from queries.survey.design import CiMethod, finish
from queries.survey.raking import rake
from queries.survey.sums import as_list, check_weights, value_expr

__all__ = [
    "RAKE_TOL",
    "RakeProjection",
    "ScoreSums",
    "calibrated_estimate",
    "calibrated_weights",
    "category_codes",
    "column_variances",
    "rake_projection",
    "rake_residuals",
    "summed_column_variances",
]

RAKE_TOL = 1e-10  # IPF stops when every margin holds to this relative error
_SWEEPS = 10  # R's svyrecvar backfits the raking margins exactly ten times
_W = "_senim_calibrated_weight"
_BATCH = 16  # domains residualised together (a respondents × 16 matrix)


def calibrated_weights(
    frame: pl.DataFrame,
    margins: Mapping[str, Mapping[object, float]],
    *,
    weight: str | None = None,
    out: str = _W,
) -> pl.DataFrame:
    """``frame`` with ``out`` = ``weight`` (or 1) raked to ``margins`` by IPF to ``RAKE_TOL``."""
    if weight is not None:
        check_weights(frame, weight)
    start = pl.col(weight).cast(pl.Float64) if weight else pl.lit(1.0)
    work = frame.with_columns(start.alias(out))
    return rake(work, margins, weight=out, tol=RAKE_TOL, max_iter=1000).frame


def _indicators(codes: np.ndarray, k: int | None = None) -> sparse.csc_matrix:
    """Categories × respondents indicator matrix of integer codes 0..k-1 (``codes`` 1-D), or of
    several per respondent (2-D, a row per respondent): built as CSC, one column per respondent,
    with no sort (a COO conversion sorts, ~10x the cost)."""
    per = 1 if codes.ndim == 1 else codes.shape[1]
    n = len(codes)
    k = int(codes.max()) + 1 if k is None else k
    return sparse.csc_matrix(
        (np.ones(n * per), codes.ravel(), np.arange(0, n * per + 1, per)), shape=(k, n)
    )


@dataclass(frozen=True, eq=False)
class ScoreSums:
    """Linearised scores z (one column per estimate) summed over groups of a sample's rows, a
    group within one stratum (and one raking cell): Σz, Σz², Σwz and Σz/w, a row per group.
    One row per group makes them a row's own values."""

    z: np.ndarray
    zz: np.ndarray
    wz: np.ndarray
    over_w: np.ndarray
    rows: np.ndarray  # a sample row of each group: its stratum (and raking cell)


@dataclass(frozen=True, eq=False)
class RakeProjection:
    """What ``rake_residuals`` needs of the weights and margins alone, made once per raked
    sample (``rake_projection``): a wave's filters change only z, so the margins' codes, cells
    and cross shares serve every filter combination (kept per wave: ~24 bytes a respondent)."""

    weights: np.ndarray  # the raked weights, per respondent
    stacked: np.ndarray  # respondents × margins: each one's stacked category per margin (int32)
    cells: np.ndarray  # each respondent's raking cell (a combination of categories), 0..C-1
    cell_categories: np.ndarray  # cells × margins: each cell's stacked categories
    sizes: tuple[int, ...]  # categories per margin, in the stacking's order
    counts: np.ndarray  # respondents per stacked category, as a column
    # cross[m][q][c, d]: share of category c of margin m that is in category d of margin q
    cross: tuple[tuple[np.ndarray, ...], ...]
    # the last strata's stratum × cell sums of w and w² (``variances``): the same every model
    kept: dict = field(default_factory=dict, compare=False, repr=False)

    def residuals(self, z: np.ndarray) -> np.ndarray:
        """``rake_residuals(z, weights, margins)`` of the margins this was made of."""
        z = np.asarray(z, dtype=float)
        if len(z) != len(self.weights):
            raise SenimError("The raking margins are of another sample than these scores.")
        e = z.reshape(len(z), -1) / self.weights[:, None]
        hot = _indicators(self.stacked, len(self.counts))
        e = e - hot.T @ self._shift(hot @ e)
        return (self.weights[:, None] * e).reshape(z.shape)

    def _shift(self, sums: np.ndarray) -> np.ndarray:
        """Every stacked category's a_m (``rake_residuals``) from its sums of e₀."""
        base = np.split(sums / self.counts, np.cumsum(self.sizes)[:-1])
        shift = [np.zeros_like(b) for b in base]
        for _ in range(_SWEEPS):
            for m in range(len(base)):
                others = sum(self.cross[m][q] @ shift[q] for q in range(len(base)) if q != m)
                shift[m] = base[m] - others  # the category means of e after this sweep
        return np.concatenate(shift)

    def variances(
        self, z: np.ndarray, rows: np.ndarray, strata: np.ndarray, pop: np.ndarray | None
    ) -> np.ndarray:
        """``column_variances(self.residuals(full), strata, pop)``, ``full`` being ``z`` (2-D)
        on ``rows`` and 0 elsewhere, without an n-long residual (``summed_variances``, each
        row its own group)."""
        w = self.weights[rows][:, None]
        return self.summed_variances(ScoreSums(z, z * z, w * z, z / w, rows), strata, pop)

    def summed_variances(
        self, sums: ScoreSums, strata: np.ndarray, pop: np.ndarray | None
    ) -> np.ndarray:
        """``variances`` from the scores' sums over groups of rows, each group within one
        stratum and one raking cell: a residual is z − w·A_cell (A_cell = Σ_m a_m of the cell's
        categories), so each stratum's Σr and Σr² expand into the groups' sums and the
        stratum × cell sums of w and w²."""
        if len(strata) != len(self.weights):
            raise SenimError("The raking margins are of another sample than these strata.")
        rows = sums.rows
        shift = self._shift(_indicators(self.stacked[rows], len(self.counts)) @ sums.over_w)
        a = shift[self.cell_categories].sum(axis=1)  # cells × columns
        n_h, sw, sw2 = self._cell_sums(strata, len(a))
        hot = _indicators(strata[rows], len(n_h))
        s1 = hot @ sums.z - sw @ a
        s2 = hot @ (sums.zz - 2 * a[self.cells[rows]] * sums.wz) + sw2 @ (a * a)
        return _stratified(s1, s2, n_h, _sampled(n_h, strata, pop))

    def _cell_sums(self, strata: np.ndarray, cells: int) -> tuple[np.ndarray, ...]:
        """n_h (a column) and the stratum × cell sums of w and w² of every respondent (dropped
        rows shift too); kept for the last strata, which every model of a wave shares."""
        last = self.kept.get("sums")
        if last is not None and np.array_equal(last[0], strata):
            return last[1]
        n_h = np.bincount(strata).astype(float)[:, None]
        pair = strata * cells + self.cells
        sums = (n_h, *(
            np.bincount(pair, weights=v, minlength=len(n_h) * cells).reshape(len(n_h), cells)
            for v in (self.weights, self.weights * self.weights)
        ))  # fmt: skip
        self.kept["sums"] = (strata.copy(), sums)  # a copy: the caller may reuse its array
        return sums


def rake_projection(*, weights: np.ndarray, margins: Sequence[np.ndarray]) -> RakeProjection:
    """``rake_residuals``' work that depends on the weights and margins only (see there)."""
    sizes = tuple(int(codes.max()) + 1 for codes in margins)
    offsets = np.cumsum((0, *sizes[:-1]))
    stacked = np.stack([codes + off for codes, off in zip(margins, offsets, strict=True)], 1)
    stacked = stacked.astype(np.int32)  # a margin has a few categories
    hot = _indicators(stacked, sum(sizes))
    combos, cells = np.unique(np.ravel_multi_index(tuple(margins), sizes), return_inverse=True)
    combos = np.stack(np.unravel_index(combos, sizes), 1) + offsets
    counts = np.concatenate([np.bincount(codes) for codes in margins]).astype(float)[:, None]
    blocks = np.cumsum(sizes)[:-1]
    together = np.split((hot @ hot.T).toarray() / counts, blocks)
    cross = tuple(tuple(np.split(row, blocks, axis=1)) for row in together)
    weights = np.asarray(weights, dtype=float)
    cells = cells.ravel().astype(np.int32)
    return RakeProjection(weights, stacked, cells, combos, sizes, counts, cross)


def rake_residuals(z: np.ndarray, w: np.ndarray, margins: Sequence[np.ndarray]) -> np.ndarray:
    """z with the raking margins projected out, as R's ``svyrecvar`` does for ``rake()``.

    ``margins``: per margin, integer category codes 0..k-1 of every respondent. Each column of
    a 2-D ``z`` (one per domain) is treated separately. R's sweeps e ← e − ave(e, margin) on
    e = z/w leave e = e₀ − Σ_m a_m[category in m]; they are run here on the small a_m (category
    means of e₀ and margin-by-margin cross counts), the same arithmetic without n-sized passes.
    Many z of one sample: ``rake_projection`` once, then its ``residuals``.
    """
    return rake_projection(weights=w, margins=margins).residuals(z)


def column_variances(
    z: np.ndarray, strata: np.ndarray, pop: np.ndarray | None, *, rows: np.ndarray | None = None
) -> np.ndarray:
    """Per column of ``z`` (or for a 1-D ``z``), Σ_h (1 − n_h/N_h) n_h/(n_h − 1) Σ_i (z_hi − z̄_h)²
    over strata codes 0..H-1: one respondent = one PSU, a lonely stratum centred on 0 (R's
    ``lonely.psu = "adjust"``); ``pop`` = N_h per respondent, or None (no fpc). ``rows``: z
    holds only these respondents' rows, every other z being 0 (they still count in n_h)."""
    z = z if z.ndim == 2 else z[:, None]
    rows = np.arange(len(strata)) if rows is None else rows
    return summed_column_variances(z, z * z, rows=rows, strata=strata, pop=pop)


def summed_column_variances(
    z: np.ndarray, zz: np.ndarray, *, rows: np.ndarray, strata: np.ndarray, pop: np.ndarray | None
) -> np.ndarray:
    """``column_variances`` from Σz and Σz² over groups of rows, each within one stratum (a
    row per group; ``rows``: a sample row of each); ``strata`` of every sample row."""
    n_h = np.bincount(strata).astype(float)[:, None]
    hot = _indicators(strata[rows], len(n_h))
    return _stratified(hot @ z, hot @ zz, n_h, _sampled(n_h, strata, pop))


def _sampled(n_h: np.ndarray, strata: np.ndarray, pop: np.ndarray | None) -> np.ndarray:
    """Each stratum's sampling fraction n_h/N_h (0 without fpc), as a column."""
    if pop is None:
        return np.zeros_like(n_h)
    big_n = np.zeros(len(n_h))
    big_n[strata] = pop
    return np.nan_to_num(n_h / big_n[:, None])  # no fpc (NaN) counts as an infinite stratum


def _stratified(s1: np.ndarray, s2: np.ndarray, n_h: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``column_variances`` from each stratum's Σz, Σz² and n_h."""
    with np.errstate(divide="ignore", invalid="ignore"):
        many = (1 - f) * n_h / (n_h - 1) * (s2 - s1 * s1 / n_h)
    lonely = (1 - f) * s1 * s1  # lonely.psu = "adjust": centred on 0
    return np.where(n_h > 1, many, lonely).sum(axis=0)


def category_codes(frame: pl.DataFrame, column: str) -> np.ndarray:
    """Integer codes 0..k-1 of a column's values, one per distinct value (a missing value is a
    category of its own, as a missing stratum is in ``stratum_sums``)."""
    values = frame.get_column(column)
    if isinstance(values.dtype, pl.Categorical | pl.Enum):
        # its codes, made dense: no text is cast or sorted (the codes' order differs from the
        # text's, which no caller reads: strata and margins are summed over)
        codes = values.to_physical()
        values = codes.fill_null(codes.max() + 1 if codes.null_count() < len(codes) else 0)
    else:
        values = values.cast(pl.String).fill_null("\x00missing")
    return values.rank("dense").to_numpy().astype(int) - 1


def _strata_pop(
    frame: pl.DataFrame, strata: str | None, fpc: str | None
) -> tuple[np.ndarray, np.ndarray | None]:
    codes = category_codes(frame, strata) if strata else np.zeros(frame.height, dtype=int)
    if fpc is None:
        return codes, None
    pop = frame.get_column(fpc).cast(pl.Float64).to_numpy()
    sizes = np.bincount(codes)
    bad = np.flatnonzero(pop < sizes[codes])
    if len(bad):
        h = frame.get_column(strata)[int(bad[0])] if strata else "all"
        raise SenimError(
            f"Stratum {h!r}: population size (fpc) {pop[bad[0]]:g} is smaller than its "
            f"{sizes[codes[bad[0]]]} respondents."
        )
    return codes, pop


def calibrated_estimate(
    frame: pl.DataFrame,
    value: str,
    *,
    binary: bool,
    weight: str | None,
    strata: str | None,
    fpc: str | None,
    by: str | Sequence[str] | None,
    domain: str | None,
    level: float,
    ci: CiMethod,
    calibrate_to: Mapping[str, Mapping[object, float]],
) -> pl.DataFrame:
    """Mean or share of ``value`` per ``by`` group with raked weights and rake-aware SEs.

    The same columns as ``survey_mean``; ``df`` as there (raking does not change R's degf).
    """
    by_cols = as_list(by)
    for col in [*by_cols, *(c for c in (strata, fpc, domain) if c)]:
        if col not in frame.columns:
            raise SenimError(f"Column {col!r} is not in the data.")
    y_expr = value_expr(frame, value, binary=binary)
    work = calibrated_weights(
        frame.with_columns(y_expr.alias("_senim_y")), calibrate_to, weight=weight
    )
    w = work.get_column(_W).to_numpy()
    y = work.get_column("_senim_y").fill_null(np.nan).to_numpy()
    inside = ~np.isnan(y)
    if domain:
        inside &= work.get_column(domain).fill_null(False).to_numpy().astype(bool)
    y = np.nan_to_num(y)
    strata_codes, pop = _strata_pop(work, strata, fpc)
    margin_codes = [category_codes(work, col) for col in calibrate_to]
    if by_cols:
        keys = work.select(by_cols).unique().drop_nulls().sort(by_cols)
        group = (
            work.select(by_cols)
            .with_row_index("_row")
            .join(keys.with_row_index("_group"), on=by_cols, how="left")
            .sort("_row")
            .get_column("_group")
            .fill_null(-1)
            .to_numpy()
        )
        key_rows = list(keys.iter_rows(named=True))
    else:
        group, key_rows = np.zeros(work.height, dtype=np.int64), [{}]
    projection = rake_projection(weights=w, margins=margin_codes)
    rows = []
    for start in range(0, len(key_rows), _BATCH):  # batches of domains bound the memory used
        ids = np.arange(start, min(start + _BATCH, len(key_rows)))
        mask = inside[:, None] & (group[:, None] == ids[None, :])
        wd = np.where(mask, w[:, None], 0.0)
        total = wd.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = (wd * y[:, None]).sum(axis=0) / total
            z = np.nan_to_num(wd * (y[:, None] - est) / total)
        var = column_variances(projection.residuals(z), strata_codes, pop)
        strata_in = _indicators(strata_codes) @ mask.astype(float) > 0
        for j, i in enumerate(ids):
            n = int(mask[:, j].sum())
            shown = total[j] > 0
            rows.append({
                **key_rows[i], "estimate": float(est[j]) if shown else None,
                "_var": float(var[j]) if shown else None, "n": n,
                "df": n - int(strata_in[:, j].sum()),
            })  # fmt: skip
    schema = {
        **{c: work.schema[c] for c in by_cols},
        "estimate": pl.Float64,
        "_var": pl.Float64,
        "n": pl.Int64,
        "df": pl.Int64,
    }
    out = finish(pl.DataFrame(rows, schema=schema), level, ci=ci, share=binary)
    return out.select(*by_cols, "estimate", "se", "ci_low", "ci_high", "n", "df", "suppressed")
