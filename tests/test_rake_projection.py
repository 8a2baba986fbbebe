"""The drivers fit's shortcuts (issue 11) give the numbers of the plain arithmetic they replace:
the rake-aware variances from stratum × raking-cell sums equal R's backfitting sweeps run on
every respondent followed by the stratified variance, written out here literally; the rank test
answers as numpy's ``matrix_rank`` on full-rank, rank-deficient and nearly collinear designs; a
categorical's codes split the rows as its text's do; a model given a wave's ``rake_projection``
equals one given the margins' codes."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queries.errors import SenimError
from queries.survey.calibration import category_codes, column_variances, rake_projection
from queries.survey.regression import collinear, survey_regression


def r_sweeps(z: np.ndarray, w: np.ndarray, margins: list[np.ndarray]) -> np.ndarray:
    """R's svyrecvar for rake(): ten sweeps of e <- e - ave(e, margin), e = z/w, over all rows."""
    e = z / w[:, None]
    for _ in range(10):
        for codes in margins:
            for c in np.unique(codes):
                e[codes == c] -= e[codes == c].mean(axis=0)
    return w[:, None] * e


def stratified(z: np.ndarray, strata: np.ndarray, pop: np.ndarray | None) -> np.ndarray:
    """Σ_h (1 - n_h/N_h) n_h/(n_h - 1) Σ (z - z̄_h)², a lonely stratum centred on 0."""
    total = np.zeros(z.shape[1])
    for h in np.unique(strata):
        zh = z[strata == h]
        f = 0.0 if pop is None else len(zh) / pop[strata == h][0]
        if len(zh) == 1:
            total += (1 - f) * zh[0] ** 2
        else:
            total += (1 - f) * len(zh) / (len(zh) - 1) * ((zh - zh.mean(axis=0)) ** 2).sum(axis=0)
    return total


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(30, 400),
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    n_strata=st.integers(1, 12),
    share=st.floats(0.05, 1.0),
    fpc=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_cell_sums_give_the_swept_residuals_variance(n, sizes, n_strata, share, fpc, seed):
    rng = np.random.default_rng(seed)
    # every category present (dense codes, as category_codes makes them)
    margins = [rng.permutation(np.arange(n) % k) for k in sizes]
    strata = rng.permutation(np.arange(n) % n_strata)
    w = rng.uniform(0.2, 5.0, n)
    rows = np.flatnonzero(rng.random(n) < share)
    z = rng.normal(size=(len(rows), 3)) * rng.uniform(0.1, 10.0, 3)
    pop = np.bincount(strata)[strata] * rng.uniform(1.0, 4.0) if fpc else None
    full = np.zeros((n, 3))
    full[rows] = z
    expected = stratified(r_sweeps(full, w, margins), strata, pop)
    projection = rake_projection(weights=w, margins=margins)
    got = projection.variances(z, rows, strata, pop)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    # and the n-long residuals, and column_variances of only the model's rows
    np.testing.assert_allclose(projection.residuals(full), r_sweeps(full, w, margins), atol=1e-9)
    np.testing.assert_allclose(
        column_variances(z, strata, pop, rows=rows), stratified(full, strata, pop), rtol=1e-9
    )


def test_the_projection_refuses_another_sample():
    projection = rake_projection(weights=np.ones(10), margins=[np.arange(10) % 2])
    with pytest.raises(SenimError):
        projection.residuals(np.ones((9, 1)))
    with pytest.raises(SenimError):
        projection.variances(np.ones((2, 1)), np.arange(2), np.zeros(9, dtype=int), None)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(5, 300),
    p=st.integers(1, 6),
    kind=st.sampled_from(["random", "copy", "combination", "near", "scaled", "zero"]),
    seed=st.integers(0, 2**31),
)
def test_rank_test_answers_as_numpy(n, p, kind, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    if p > 1 and kind == "copy":
        x[:, -1] = x[:, 0]
    elif p > 1 and kind == "combination":
        x[:, -1] = x[:, :-1] @ rng.normal(size=p - 1)
    elif p > 1 and kind == "near":  # a combination up to noise of every size around the cut
        x[:, -1] = x[:, :-1] @ rng.normal(size=p - 1) + 10.0 ** -rng.integers(4, 16) * x[:, -1]
    elif kind == "scaled":
        x[:, 0] *= 10.0 ** rng.integers(-12, 12)
    elif kind == "zero":
        x[:, 0] = 0.0
    assert collinear(x) == (np.linalg.matrix_rank(x) < p)


def test_categorical_codes_split_rows_as_their_text():
    text = pl.Series("s", ["b|1", None, "a|2", "b|1", "c", None, "a|2", "zz"])
    for frame in (pl.DataFrame([text]), pl.DataFrame([text.cast(pl.Categorical)])):
        codes = category_codes(frame, "s")
        assert sorted(set(codes)) == list(range(5))
        pairs = set(zip(codes.tolist(), text.to_list(), strict=True))
        assert len(pairs) == 5  # one code per value, a missing value one of them
    assert category_codes(
        pl.DataFrame([pl.Series("s", [None, None], pl.Categorical)]), "s"
    ).tolist() == [0, 0]


def test_a_kept_projection_fits_as_the_margins_codes():
    rng = np.random.default_rng(3)
    n = 600
    frame = pl.DataFrame({
        "y": rng.normal(size=n), "x": rng.normal(size=n),
        "g": rng.choice(["a", "b", "c"], n), "w": rng.uniform(0.5, 2.0, n),
        "h": rng.choice(["s1", "s2", "s3", "s4"], n),
    }).with_columns(y=pl.when(pl.col("x") > 1.2).then(None).otherwise(pl.col("y")))  # fmt: skip
    margins = [category_codes(frame, "g"), rng.integers(0, 3, n)]
    kw = {"weight": "w", "strata": "h", "min_n": 50}
    given_codes = survey_regression(frame, "y", ["x", "g"], raked_on=margins, **kw)
    kept = rake_projection(weights=frame.get_column("w").to_numpy(), margins=margins)
    given_kept = survey_regression(frame, "y", ["x", "g"], raked_on=kept, **kw)
    assert given_codes.equals(given_kept)
    other = rake_projection(weights=np.ones(n), margins=margins)
    with pytest.raises(SenimError):
        survey_regression(frame, "y", ["x", "g"], raked_on=other, **kw)
