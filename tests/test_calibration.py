"""Raked weights and calibration-aware SEs, against R's rake() + svymean on apistrat.

R 4.2.2, survey 4.1-1: dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data =
apistrat); r <- rake(dstrat, list(~stype, ~yr.rnd), list(data.frame(stype = c("E", "H", "M"),
Freq = c(4421, 755, 1018)), data.frame(yr.rnd = c("No", "Yes"), Freq = c(5600, 594))),
control = list(maxit = 200, epsilon = 1e-13)) (raking run to convergence, as ours; R's
default stopping rule, epsilon = 1, gives 667.162756502795 and SE 9.15599218856805).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from queries.errors import SenimError
from queries.survey.calibration import calibrated_weights
from queries.survey.design import survey_mean, survey_proportion
from tests.conftest import FIXTURES

KW = {"weight": "pw", "strata": "stype"}
MARGINS = {"stype": {"E": 4421, "H": 755, "M": 1018}, "yr.rnd": {"No": 5600, "Yes": 594}}


@pytest.fixture(scope="module")
def apistrat() -> pl.DataFrame:
    return pl.read_csv(FIXTURES / "api" / "apistrat.csv", null_values="NA")


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel)


def test_raked_mean_and_its_se_match_r(apistrat):
    row = survey_mean(apistrat, "api00", calibrate_to=MARGINS, **KW).row(0, named=True)
    assert close(row["estimate"], 667.162768117683, 1e-10)
    assert close(row["estimate"], 667.1628, 1e-7)  # the figure (R's default rake)
    assert close(row["se"], 9.15599370733133, 1e-8)
    assert close(row["se"], 9.15599218856805, 1e-6)  # R with its default stopping rule
    assert row["n"] == 200 and row["df"] == 197
    # the same raked weights taken as fixed: R's svymean on them gives SE 9.50705709472711
    raked = calibrated_weights(apistrat, MARGINS, weight="pw", out="rw")
    fixed = survey_mean(raked, "api00", weight="rw", strata="stype").row(0, named=True)
    assert close(fixed["estimate"], row["estimate"], 1e-12)
    assert close(fixed["se"], 9.50705709472711, 1e-8)
    assert row["se"] < fixed["se"] < 9.5071


def test_fpc_share_and_domains_match_r(apistrat):
    fpc = survey_mean(apistrat, "api00", fpc="fpc", calibrate_to=MARGINS, **KW)
    assert close(fpc["se"][0], 9.03280989128573, 1e-8)  # R: rake() of the design with fpc
    share = survey_proportion(apistrat, "sch.wide", calibrate_to=MARGINS, ci="logit", **KW)
    assert close(share["estimate"][0], 0.827224300195874, 1e-10)
    assert close(share["se"][0], 0.0252660442000308, 1e-8)
    assert 0 < share["ci_low"][0] < share["estimate"][0] < share["ci_high"][0] < 1
    # R: svyby(~api00, ~awards, r, svymean)
    by = survey_mean(apistrat, "api00", by="awards", calibrate_to=MARGINS, **KW)
    want = {"No": (637.834764758037, 15.0584973305176), "Yes": (684.071547770196, 11.7292176557515)}
    for award, (est, se) in want.items():
        row = by.filter(pl.col("awards") == award).row(0, named=True)
        assert close(row["estimate"], est, 1e-10) and close(row["se"], se, 1e-8)


def numpy_rake_se(frame: pl.DataFrame, value: str, weights: np.ndarray) -> float:
    """The same variance written independently: z/w regressed (least squares) on the margin
    indicators, residuals times w, then Σ_h n_h/(n_h - 1) Σ (z - z̄_h)² over the strata."""
    y = frame[value].to_numpy().astype(float)
    total = weights.sum()
    z = weights * (y - (weights * y).sum() / total) / total
    dummies = [
        (frame[col] == level).to_numpy().astype(float)
        for col, targets in MARGINS.items()
        for level in targets
    ]
    design = np.column_stack(dummies)
    coef, *_ = np.linalg.lstsq(design, z / weights, rcond=None)
    resid = (z / weights - design @ coef) * weights
    strata = frame["stype"].to_numpy()
    var = 0.0
    for h in np.unique(strata):
        r = resid[strata == h]
        var += len(r) / (len(r) - 1) * ((r - r.mean()) ** 2).sum()
    return math.sqrt(var)


def test_se_equals_an_independent_least_squares_projection(apistrat):
    raked = calibrated_weights(apistrat, MARGINS, weight="pw", out="rw")
    for value in ("api00", "api99", "meals"):
        got = survey_mean(apistrat, value, calibrate_to=MARGINS, **KW)["se"][0]
        assert close(got, numpy_rake_se(raked, value, raked["rw"].to_numpy()), 1e-8)


def test_margin_already_met_by_strata_changes_nothing(apistrat):
    # Margins equal to the sums of pw per stype (pw is constant within stype): raking leaves
    # the weights, and removing stratum means from z changes no stratified variance.
    plain = survey_mean(apistrat, "api00", **KW).row(0, named=True)
    met = dict(apistrat.group_by("stype").agg(pl.col("pw").sum()).iter_rows())
    cal = survey_mean(apistrat, "api00", calibrate_to={"stype": met}, **KW)
    assert close(cal["estimate"][0], plain["estimate"], 1e-12)
    assert close(cal["se"][0], plain["se"], 1e-10)


def test_raking_converges_to_1e_10_and_bad_margins_are_clear(apistrat):
    raked = calibrated_weights(apistrat, MARGINS, weight="pw", out="rw")
    for column, targets in MARGINS.items():
        got = dict(raked.group_by(column).agg(pl.col("rw").sum()).iter_rows())
        for level, total in targets.items():
            assert close(got[level], total, 1e-10)
    with pytest.raises(SenimError, match=r"yr.rnd='Maybe' has no respondents"):
        survey_mean(
            apistrat, "api00", calibrate_to={"yr.rnd": {"No": 5000, "Yes": 594, "Maybe": 600}},
            **KW,
        )  # fmt: skip
    with pytest.raises(SenimError, match=r"Respondents with stype='M' have no population margin"):
        survey_mean(apistrat, "api00", calibrate_to={"stype": {"E": 5000, "H": 1194}}, **KW)


def test_domain_column_equals_the_by_group_and_weights_default_to_one(apistrat):
    frame = apistrat.with_columns(award=pl.col("awards") == "Yes")
    dom = survey_mean(frame, "api00", domain="award", calibrate_to=MARGINS, **KW)
    by = survey_mean(frame, "api00", by="awards", calibrate_to=MARGINS, **KW)
    yes = by.filter(pl.col("awards") == "Yes").row(0, named=True)
    assert close(dom["estimate"][0], yes["estimate"], 1e-12) and close(dom["se"][0], yes["se"])
    assert dom["n"][0] == yes["n"] == 113 and dom["df"][0] == 110
    # no weight column: raking starts from 1 and reaches the same raked weights (IPF's fixed
    # point depends on the start only through its odds ratios, and pw is constant per stype)
    unweighted = survey_mean(frame, "api00", strata="stype", calibrate_to=MARGINS)
    assert close(unweighted["estimate"][0], 667.162768117683, 1e-9)
