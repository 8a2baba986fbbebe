"""t and logit intervals with design degrees of freedom, against R's survey package on apistrat.

R values from R 4.2.2 with survey 4.1-1, design ``dstrat <- svydesign(id = ~1, strata = ~stype,
weights = ~pw, data = apistrat)`` (no fpc), degf(dstrat) = 197.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from scipy.stats import t

from queries.errors import SenimError
from queries.survey.design import (
    combine_sums,
    difference,
    stratum_sums,
    survey_mean,
    survey_proportion,
)
from tests.conftest import FIXTURES

KW = {"weight": "pw", "strata": "stype"}


@pytest.fixture(scope="module")
def apistrat() -> pl.DataFrame:
    return pl.read_csv(FIXTURES / "api" / "apistrat.csv", null_values="NA")


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel)


def expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_t_interval_of_the_mean_matches_r_confint_with_degf(apistrat):
    # R: confint(svymean(~api00, dstrat), df = degf(dstrat))
    row = survey_mean(apistrat, "api00", ci="t", **KW).row(0, named=True)
    assert row["df"] == 200 - 3
    assert close(row["ci_low"], 643.481356593217, 1e-9)
    assert close(row["ci_high"], 681.093369725425, 1e-9)
    normal = survey_mean(apistrat, "api00", **KW).row(0, named=True)  # default unchanged
    assert close(normal["ci_low"], normal["estimate"] - 1.959963984540054 * normal["se"], 1e-12)
    assert normal["ci_low"] > row["ci_low"]  # t(197) is wider than the normal


@pytest.mark.parametrize(
    ("column", "low", "high"),
    [
        # R: svyciprop(~I(sch.wide == "Yes"), dstrat, method = "logit"), confint of it
        ("sch.wide", 0.773542009331158, 0.871455182359908),
        ("awards", 0.567690055736938, 0.704551291227852),
    ],
)
def test_logit_interval_matches_r_svyciprop(apistrat, column, low, high):
    row = survey_proportion(apistrat, column, ci="logit", **KW).row(0, named=True)
    assert close(row["ci_low"], low, 1e-9) and close(row["ci_high"], high, 1e-9)
    # R's documented formula: logit(p) ± qt(0.975, degf) · SE(p) / (p (1 - p)), back-transformed
    p, se = row["estimate"], row["se"]
    half = t.ppf(0.975, 197) * se / (p * (1 - p))
    assert close(row["ci_low"], expit(math.log(p / (1 - p)) - half), 1e-12)
    assert close(row["ci_high"], expit(math.log(p / (1 - p)) + half), 1e-12)
    assert row["ci_high"] - p < p - row["ci_low"]  # asymmetric, pulled away from 1


def test_domain_df_is_the_domains_respondents_minus_its_strata(apistrat):
    # R: svyby(~sw, ~yr.rnd, dstrat, svyciprop, method = "logit", vartype = "ci"); svyby runs
    # svyciprop on subset(dstrat, yr.rnd == "No"), whose degf is 179 - 3 = 176.
    out = survey_proportion(apistrat, "sch.wide", by="yr.rnd", ci="logit", **KW)
    no = out.filter(pl.col("yr.rnd") == "No").row(0, named=True)
    assert no["n"] == 179 and no["df"] == 176
    assert close(no["ci_low"], 0.755010327689323, 1e-9)
    assert close(no["ci_high"], 0.863647911089921, 1e-9)
    mean = survey_mean(apistrat, "api00", by="yr.rnd", ci="t", **KW)
    row = mean.filter(pl.col("yr.rnd") == "No").row(0, named=True)
    assert close(row["ci_high"], row["estimate"] + t.ppf(0.975, 176) * row["se"], 1e-12)


def test_combine_sums_gives_t_to_means_and_logit_to_named_shares(apistrat):
    frame = apistrat.with_columns(sw=(pl.col("sch.wide") == "Yes").cast(pl.Float64))
    sums = stratum_sums(frame, ["api00", "sw"], **KW)
    out = combine_sums(sums, ci="logit", shares=["sw"])
    mean = out.filter(pl.col("variable") == "api00").row(0, named=True)
    share = out.filter(pl.col("variable") == "sw").row(0, named=True)
    assert close(mean["ci_low"], 643.481356593217, 1e-9) and mean["df"] == 197
    assert close(share["ci_low"], 0.773542009331158, 1e-9) and share["df"] == 197
    # a share in "t" mode: symmetric t interval, kept within [0, 1]
    t_share = combine_sums(sums, ci="t", shares=["sw"]).filter(pl.col("variable") == "sw")
    assert close(t_share["ci_high"][0], share["estimate"] + t.ppf(0.975, 197) * share["se"])


def test_difference_with_t_uses_the_df_of_both_sides(apistrat):
    got = difference(apistrat, "api00", between="awards", a="No", b="Yes", ci="t", **KW)
    row = got.row(0, named=True)
    assert row["df"] == 197  # 87 + 113 respondents, in the same 3 strata
    crit = t.ppf(0.975, 197)
    assert close(row["ci_low"], row["difference"] - crit * row["se"], 1e-12)
    assert close(row["p_value"], 2 * t.sf(abs(row["z"]), 197), 1e-12)
    normal = difference(apistrat, "api00", between="awards", a="No", b="Yes", **KW).row(
        0, named=True
    )
    assert close(normal["p_value"], math.erfc(abs(normal["z"]) / math.sqrt(2)), 1e-9)
    assert row["p_value"] > normal["p_value"]


def test_edge_cases_all_yes_no_df_and_unknown_method():
    # everyone yes: p = 1, SE 0; the logit interval is the point itself, not NaN
    frame = pl.DataFrame({"yes": [True] * 40})
    row = survey_proportion(frame, "yes", ci="logit").row(0, named=True)
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (1.0, 1.0, 1.0)
    # 40 strata of one respondent each: df = 0, so no t interval can be given (but an estimate)
    lonely = pl.DataFrame(
        {"y": [float(i % 3) for i in range(40)], "h": [str(i) for i in range(40)]}
    )
    row = survey_mean(lonely, "y", strata="h", ci="t").row(0, named=True)
    assert row["df"] == 0 and row["estimate"] is not None and row["ci_low"] is None
    with pytest.raises(SenimError, match="Unknown interval method 'wald'"):
        survey_mean(lonely, "y", ci="wald")
