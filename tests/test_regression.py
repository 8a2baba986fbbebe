"""Design-based regression against R's svyglm on apistrat, and hand-checkable sandwiches.

R 4.2.2, survey 4.1-1: dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data =
apistrat) (no fpc; the issue's meals SE 0.287549 is this design: with fpc = ~fpc it is
0.283196); apistrat$yr <- apistrat$yr.rnd == "Yes"; coefficients from summary(), intervals
from confint().
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from queries.errors import SenimError
from queries.survey.regression import survey_regression
from tests.conftest import FIXTURES

KW = {"weight": "pw", "strata": "stype"}


@pytest.fixture(scope="module")
def apistrat() -> pl.DataFrame:
    frame = pl.read_csv(FIXTURES / "api" / "apistrat.csv", null_values="NA")
    return frame.with_columns(yr=pl.col("yr.rnd") == "Yes")


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel)


def by_term(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["term"]: row for row in frame.iter_rows(named=True)}


def test_gaussian_matches_r_svyglm(apistrat):
    # R: svyglm(api00 ~ ell + meals + mobility + yr, design = dstrat)
    out = by_term(survey_regression(apistrat, "api00", ["ell", "meals", "mobility", "yr"], **KW))
    assert list(out) == ["(Intercept)", "ell", "meals", "mobility", "yrTRUE"]
    meals = out["meals"]
    assert close(meals["estimate"], -3.140373, 1e-6) and close(meals["se"], 0.287549, 1e-6)
    want = {  # estimate, SE, 2.5 %, 97.5 %, Pr(>|t|)
        "(Intercept)": (820.004916653752, 10.5589732053647, 799.179119336933, 840.830713970572),
        "ell": (-0.450718835669235, 0.411914294303924, -1.263150446037917, 0.361712774699447),
        "meals": (-3.14037341502616, 0.287549200895232, -3.707515812301582, -2.573231017750738),
        "yrTRUE": (-5.459133391744928, 17.529050677078647, -40.03223528877604, 29.11396850528619),
    }
    for term, values in want.items():
        row = out[term]
        got = (row["estimate"], row["se"], row["ci_low"], row["ci_high"])
        assert all(close(a, b, 1e-9) for a, b in zip(got, values, strict=True)), term
    assert close(out["ell"]["p"], 0.275228643122892, 1e-8)
    assert close(out["mobility"]["p"], 0.562877524596910, 1e-8)
    assert out["meals"]["n"] == 200 and out["meals"]["df"] == 200 - 3 - 5 + 1  # R: 193
    with_fpc = by_term(survey_regression(
        apistrat, "api00", ["ell", "meals", "mobility", "yr"], fpc="fpc", **KW
    ))  # fmt: skip
    assert close(with_fpc["meals"]["se"], 0.283195704746697, 1e-9)


def test_text_predictor_becomes_r_named_dummies(apistrat):
    # R: svyglm(api00 ~ ell + meals + mobility + stype, design = dstrat)
    out = by_term(survey_regression(apistrat, "api00", ["ell", "meals", "mobility", "stype"], **KW))
    assert list(out)[-2:] == ["stypeH", "stypeM"]  # first level (E) is the reference
    assert close(out["stypeH"]["estimate"], -128.727040785948, 1e-9)
    assert close(out["stypeH"]["se"], 10.739160169584936, 1e-9)
    assert close(out["stypeM"]["ci_high"], -40.77751152790763, 1e-9)


def test_missing_values_leave_the_model_but_not_the_strata(apistrat):
    # R: svyglm(api00 ~ acs.46 + meals, design = dstrat): 66 rows lack acs.46; df.residual 129
    out = by_term(survey_regression(apistrat, "api00", ["acs.46", "meals"], min_n=100, **KW))
    assert out["meals"]["n"] == 134 and out["meals"]["df"] == 129
    assert close(out["meals"]["estimate"], -3.75462009014023, 1e-9)
    assert close(out["meals"]["se"], 0.177871020544113, 1e-9)
    assert close(out["acs.46"]["ci_low"], -2.63774607106995, 1e-9)


def test_quasibinomial_matches_r_statsmodels_and_a_numpy_sandwich(apistrat):
    # R: svyglm(sw ~ ell + meals + yr.rnd, design = dstrat, family = quasibinomial())
    frame = apistrat.with_columns(sw=(pl.col("sch.wide") == "Yes").cast(pl.Int8))
    out = by_term(survey_regression(
        frame, "sch.wide", ["ell", "meals", "yr.rnd"], family="quasibinomial", **KW
    ))  # fmt: skip
    assert close(out["yr.rndYes"]["estimate"], 0.963460573155797, 1e-9)
    assert close(out["yr.rndYes"]["se"], 0.707478693694938, 1e-9)
    assert close(out["(Intercept)"]["se"], 0.324594221185302, 1e-9)
    assert close(out["ell"]["ci_low"], -0.0364087165936275, 1e-9)
    assert close(out["meals"]["p"], 0.797590432139491, 1e-8)
    assert out["ell"]["df"] == 200 - 3 - 4 + 1
    # point estimates: a weighted logistic regression (statsmodels, iterated to convergence)
    x = np.column_stack([
        np.ones(200), frame["ell"].to_numpy(), frame["meals"].to_numpy(),
        (frame["yr.rnd"] == "Yes").to_numpy().astype(float),
    ])  # fmt: skip
    y, w = frame["sw"].to_numpy().astype(float), frame["pw"].to_numpy()
    fit = sm.GLM(y, x, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-14)
    ours = np.array([row["estimate"] for row in out.values()])
    np.testing.assert_allclose(ours, fit.params, rtol=1e-7)
    # SEs: the sandwich (X'WVX)^-1 Σ_h n_h/(n_h-1) Σ (u - ū_h)(u - ū_h)' (X'WVX)^-1 at that fit
    mu = fit.fittedvalues
    u = (w * (y - mu))[:, None] * x
    bread = np.linalg.inv(x.T @ ((w * mu * (1 - mu))[:, None] * x))
    strata = frame["stype"].to_numpy()
    meat = sum(
        len(c) / (len(c) - 1) * (c - c.mean(0)).T @ (c - c.mean(0))
        for c in (u[strata == h] for h in np.unique(strata))
    )
    se = np.sqrt(np.diag(bread @ meat @ bread))
    # R stops glm at a relative deviance change of 1e-8, which moves its SEs by ~1e-6
    np.testing.assert_allclose([row["se"] for row in out.values()], se, rtol=2e-5)


def test_small_models_and_bad_predictors_are_refused(apistrat):
    with pytest.raises(SenimError, match=r"Only 134 respondents .* at least 200"):
        survey_regression(apistrat, "api00", ["acs.46", "meals"], **KW)
    with pytest.raises(SenimError, match=r"Predictor 'trust' is not in the data"):
        survey_regression(apistrat, "api00", ["trust"], **KW)
    twice = apistrat.with_columns(meals2=pl.col("meals") * 2)
    with pytest.raises(SenimError, match="collinear"):
        survey_regression(twice, "api00", ["meals", "meals2"], **KW)
    with pytest.raises(SenimError, match="not 0/1"):
        survey_regression(apistrat, "api00", ["meals"], family="quasibinomial", **KW)
    with pytest.raises(SenimError, match="Unknown model family"):
        survey_regression(apistrat, "api00", ["meals"], family="poisson", **KW)


def test_unweighted_unstratified_se_is_the_hc0_sandwich_times_n_over_n_minus_1(apistrat):
    # One stratum, weights 1: the scores sum to 0 at the least-squares fit, so the design
    # variance is n/(n-1) times White's HC0 covariance (statsmodels OLS, cov_type="HC0").
    out = survey_regression(apistrat, "api00", ["ell", "meals", "stype"])
    x = sm.add_constant(np.column_stack([
        apistrat["ell"].to_numpy(), apistrat["meals"].to_numpy(),
        (apistrat["stype"] == "H").to_numpy(), (apistrat["stype"] == "M").to_numpy(),
    ]).astype(float))  # fmt: skip
    fit = sm.OLS(apistrat["api00"].to_numpy().astype(float), x).fit(cov_type="HC0")
    np.testing.assert_allclose(out["estimate"].to_numpy(), fit.params, rtol=1e-10)
    np.testing.assert_allclose(out["se"].to_numpy(), fit.bse * math.sqrt(200 / 199), rtol=1e-10)
    assert out["df"][0] == 200 - 1 - 5 + 1
