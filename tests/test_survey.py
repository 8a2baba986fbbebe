"""Survey estimators against R's survey package (api data) and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Column, Float, MetaData, String, Table

from queries.errors import SenimError
from queries.survey.design import (
    combine_sums,
    difference,
    stratum_sums,
    survey_mean,
    survey_proportion,
)
from queries.survey.sql import sums_select
from tests.conftest import FIXTURES

API = FIXTURES / "api"


@pytest.fixture(scope="module")
def apistrat() -> pl.DataFrame:
    return pl.read_csv(API / "apistrat.csv", null_values="NA")


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel)


def test_apistrat_matches_r_with_and_without_fpc(apistrat):
    # R: svymean(~api00, svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat))
    row = survey_mean(apistrat, "api00", weight="pw", strata="stype", fpc="fpc").row(0, named=True)
    assert close(row["estimate"], 662.2874, 1e-6) and close(row["se"], 9.4089, 1e-5)
    assert row["n"] == 200 and row["suppressed"] is False
    assert close(row["ci_low"], row["estimate"] - 1.959964 * row["se"])
    no_fpc = survey_mean(apistrat, "api00", weight="pw", strata="stype").row(0, named=True)
    assert close(no_fpc["se"], 9.5361, 1e-5)


def test_apisrs_matches_r_and_textbook_formula():
    srs = pl.read_csv(API / "apisrs.csv", null_values="NA")
    row = survey_mean(srs, "api00", weight="pw", fpc="fpc").row(0, named=True)
    y = srs["api00"].to_numpy()
    n, big_n = len(y), srs["fpc"][0]
    assert close(row["estimate"], y.mean(), 1e-12)
    assert close(row["se"], math.sqrt((1 - n / big_n) * y.var(ddof=1) / n), 1e-9)
    assert close(row["se"], 9.2497, 1e-4)  # R: svymean(~api00, dsrs)


def explicit_domain_se(frame, value, domain_mask, w, strata, fpc):
    """Per-respondent linearisation as R does it (zero-padded rows), written independently."""
    y = np.nan_to_num(frame[value].to_numpy().astype(float))
    d = domain_mask & ~np.isnan(frame[value].to_numpy().astype(float))
    wd = np.where(d, w, 0.0)
    est = (wd * y).sum() / wd.sum()
    z = wd * (y - est) / wd.sum()
    var = 0.0
    for h in np.unique(strata):
        zh = z[strata == h]
        nh = len(zh)
        f = nh / fpc[strata == h][0]
        var += (1 - f) * nh / (nh - 1) * ((zh - zh.mean()) ** 2).sum()
    return est, math.sqrt(var)


def test_domains_and_missing_values_keep_full_design(apistrat):
    # acs.core is missing for elementary schools; "by awards" cuts across strata.
    w, s, f = apistrat["pw"].to_numpy(), apistrat["stype"].to_numpy(), apistrat["fpc"].to_numpy()
    out = survey_mean(apistrat, "acs.core", weight="pw", strata="stype", fpc="fpc", by="awards")
    for award in ("No", "Yes"):
        mask = (apistrat["awards"] == award).to_numpy()
        est, se = explicit_domain_se(apistrat, "acs.core", mask, w, s, f)
        row = out.filter(pl.col("awards") == award).row(0, named=True)
        assert close(row["estimate"], est, 1e-10) and close(row["se"], se, 1e-8)
        assert row["n"] == int((mask & apistrat["acs.core"].is_not_null().to_numpy()).sum())
    dom = apistrat.with_columns(sel=pl.col("enroll") > 500)
    got = survey_mean(dom, "api00", weight="pw", strata="stype", fpc="fpc", domain="sel")
    est, se = explicit_domain_se(dom, "api00", dom["sel"].to_numpy(), w, s, f)
    assert close(got["estimate"][0], est, 1e-10) and close(got["se"][0], se, 1e-8)


def test_proportion_of_yes_no_text_equals_mean_of_indicator(apistrat):
    text = survey_proportion(apistrat, "sch.wide", weight="pw", strata="stype", fpc="fpc")
    ind = apistrat.with_columns(x=(pl.col("sch.wide") == "Yes").cast(pl.Int8))
    num = survey_mean(ind, "x", weight="pw", strata="stype", fpc="fpc")
    assert close(text["estimate"][0], num["estimate"][0], 1e-12)
    assert close(text["se"][0], num["se"][0], 1e-12)
    assert 0 <= text["ci_low"][0] < text["ci_high"][0] <= 1
    with pytest.raises(SenimError, match="not 0/1"):
        survey_proportion(apistrat, "api00", weight="pw")


def test_one_stratum_small_hand_worked():
    # 4 respondents: suppressed (n < 30), so no estimate is shown, but n is.
    out = combine_sums(stratum_sums(pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0]}), "y"))
    assert out["estimate"][0] is None and out["n"][0] == 4 and out["suppressed"][0] is True
    # y = 1,2,3,4 repeated 10 times, equal weights: mean 2.5; z = (y - 2.5)/40;
    # Σz² = 10 * (2.25 + 0.25 + 0.25 + 2.25) / 1600 = 50/1600; var = 40/39 * Σz² (Σz = 0).
    big = pl.DataFrame({"y": [1.0, 2.0, 3.0, 4.0] * 10})
    row = survey_mean(big, "y").row(0, named=True)
    assert row["estimate"] == 2.5 and row["n"] == 40
    assert close(row["se"], math.sqrt(40 / 39 * 50 / 1600), 1e-12)


def test_lonely_psu_is_adjusted_to_grand_mean():
    # 30 rows in stratum A (y = 0/1 alternating), one in stratum B (y = 10), equal weights.
    frame = pl.DataFrame({"y": [0.0, 1.0] * 15 + [10.0], "h": ["A"] * 30 + ["B"], "w": [1.0] * 31})
    row = survey_mean(frame, "y", weight="w", strata="h").row(0, named=True)
    mean = 25 / 31
    z_a = (np.array([0.0, 1.0] * 15) - mean) / 31
    var_a = 30 / 29 * ((z_a - z_a.mean()) ** 2).sum()
    var_b = ((10 - mean) / 31) ** 2  # "adjust": centred on the grand mean (0), not its own mean
    assert close(row["estimate"], mean, 1e-12)
    assert close(row["se"], math.sqrt(var_a + var_b), 1e-12)


def test_all_missing_and_empty_are_suppressed_not_errors():
    frame = pl.DataFrame(
        {"y": [None, None], "w": [1.0, 2.0]}, schema={"y": pl.Float64, "w": pl.Float64}
    )
    row = survey_mean(frame, "y", weight="w").row(0, named=True)
    assert row["n"] == 0 and row["suppressed"] is True and row["estimate"] is None
    empty = survey_mean(frame.clear(), "y", weight="w").row(0, named=True)
    assert empty["n"] == 0 and empty["suppressed"] is True


@pytest.mark.parametrize("bad", [0.0, -1.5, None])
def test_bad_weights_raise_clear_error(bad):
    frame = pl.DataFrame(
        {"y": [1.0, 2.0, 3.0], "w": [1.0, bad, 1.0]}, schema={"y": pl.Float64, "w": pl.Float64}
    )
    with pytest.raises(SenimError, match=r"Weight column 'w', row 2"):
        survey_mean(frame, "y", weight="w")


def test_fpc_smaller_than_sample_is_an_error(apistrat):
    with pytest.raises(SenimError, match="smaller than"):
        survey_mean(
            apistrat.with_columns(fpc=pl.lit(10)), "api00", weight="pw", strata="stype", fpc="fpc"
        )


def test_difference_between_groups_and_independent_strata(apistrat):
    kw = dict(weight="pw", strata="stype", fpc="fpc")
    by_stype = survey_mean(apistrat, "api00", by="stype", **kw)
    e, h = (by_stype.filter(pl.col("stype") == s).row(0, named=True) for s in ("E", "H"))
    diff = difference(apistrat, "api00", between="stype", a="E", b="H", **kw).row(0, named=True)
    assert close(diff["difference"], h["estimate"] - e["estimate"], 1e-12)
    assert close(diff["se"], math.hypot(e["se"], h["se"]), 1e-10)  # disjoint strata: add
    # Groups crossing strata: the contrast's SE equals the SE of the mean of (y*1[yes] ... ),
    # checked against the explicit per-respondent contrast z_yes - z_no.
    got = difference(apistrat, "api00", between="awards", a="No", b="Yes", **kw).row(0, named=True)
    w, s, f = apistrat["pw"].to_numpy(), apistrat["stype"].to_numpy(), apistrat["fpc"].to_numpy()
    y = apistrat["api00"].to_numpy().astype(float)
    z = np.zeros(len(y))
    for sign, award in ((1, "Yes"), (-1, "No")):
        m = (apistrat["awards"] == award).to_numpy()
        wd = np.where(m, w, 0.0)
        est = (wd * y).sum() / wd.sum()
        z += sign * wd * (y - est) / wd.sum()
    var = sum(
        (1 - (s == g).sum() / f[s == g][0]) * (s == g).sum() / ((s == g).sum() - 1)
        * ((z[s == g] - z[s == g].mean()) ** 2).sum()
        for g in np.unique(s)
    )  # fmt: skip
    assert close(got["se"], math.sqrt(var), 1e-9)
    assert got["p_value"] < 0.05 and got["significant"] is True
    assert close(got["p_value"], math.erfc(abs(got["z"]) / math.sqrt(2)), 1e-9)


def test_sql_group_by_sums_give_the_same_estimate(engine, apistrat):
    frame = apistrat.select(
        pl.col("stype"), pl.col("awards"), pl.col("pw"), pl.col("fpc").cast(pl.Float64),
        pl.col("acs.core").cast(pl.Float64).alias("acs_core"),
    )  # fmt: skip
    meta = MetaData()
    table = Table(
        "tmp_survey_sums",
        meta,
        Column("stype", String),
        Column("awards", String),
        Column("pw", Float),
        Column("fpc", Float),
        Column("acs_core", Float),
    )
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(table.insert(), frame.to_dicts())
            stmt = sums_select(
                table, "acs_core", weight="pw", strata="stype", fpc="fpc", by="awards"
            )
            sql = pl.read_database(stmt, conn)
        from_sql = combine_sums(sql, by="awards")
        native = survey_mean(frame, "acs_core", weight="pw", strata="stype", fpc="fpc", by="awards")
        assert from_sql["n"].to_list() == native["n"].to_list()
        for a, b in zip(from_sql["se"].to_list(), native["se"].to_list(), strict=True):
            assert close(a, b, 1e-9)
        for a, b in zip(from_sql["estimate"].to_list(), native["estimate"].to_list(), strict=True):
            assert close(a, b, 1e-12)
    finally:
        meta.drop_all(engine)


def test_small_sample_rule_is_n_below_30():
    # 29 respondents: hidden; 30: shown. y = 0/1 alternating, so the mean is visible by hand.
    frame = pl.DataFrame({"y": [0.0, 1.0] * 15})
    shown = survey_mean(frame, "y").row(0, named=True)
    assert shown["n"] == 30 and shown["suppressed"] is False and shown["estimate"] == 0.5
    hidden = survey_mean(frame.head(29), "y").row(0, named=True)
    assert hidden["n"] == 29 and hidden["suppressed"] is True
    assert (hidden["estimate"], hidden["se"], hidden["ci_low"], hidden["ci_high"]) == (None,) * 4
    # a difference is suppressed when either side is
    both = pl.concat(
        [frame.with_columns(g=pl.lit("a")), frame.head(29).with_columns(g=pl.lit("b"))]
    )
    diff = difference(both, "y", between="g", a="a", b="b").row(0, named=True)
    assert diff["suppressed"] is True and diff["difference"] is None and not diff["significant"]


def test_confidence_level_and_proportion_ci_by_hand():
    # 40 respondents, 10 yes: p = 0.25; z_i = (y_i - 0.25)/40, Σz² = (10*.5625 + 30*.0625)/1600
    frame = pl.DataFrame({"yes": [True] * 10 + [False] * 30})
    row = survey_proportion(frame, "yes", level=0.90).row(0, named=True)
    se = math.sqrt(40 / 39 * (10 * 0.5625 + 30 * 0.0625) / 1600)
    assert row["estimate"] == 0.25 and close(row["se"], se, 1e-12)
    assert close(row["ci_high"], 0.25 + 1.6448536269514722 * se, 1e-12)
    with pytest.raises(SenimError, match="between 0 and 1"):
        survey_mean(frame.with_columns(y=pl.lit(1.0)), "y", level=95)


def test_bad_columns_give_clear_messages():
    frame = pl.DataFrame({"answer": ["yes", "maybe"], "w": [1.0, 1.0]})
    with pytest.raises(SenimError, match="'maybe' is not a yes/no answer"):
        survey_proportion(frame, "answer")
    with pytest.raises(SenimError, match=r"Column 'trust' is not in the data"):
        survey_mean(frame, "trust")
    with pytest.raises(SenimError, match=r"Column 'region' is not in the data"):
        survey_mean(frame.with_columns(y=pl.lit(1.0)), "y", by="region")


def test_carried_columns_equal_grouping_when_sorted_by_stratum(apistrat):
    # cname is not fixed within stype, but "stype2" (a copy of the stratum) is: carrying it
    # over a stratum-sorted frame must give the same sums as grouping on it.
    frame = apistrat.with_columns(stype2=pl.col("stype")).sort("stype", maintain_order=True)
    kw = dict(weight="pw", strata="stype", fpc="fpc")
    grouped = stratum_sums(frame, ["api00", "api99"], by="stype2", **kw).sort("variable", "stratum")
    carried = stratum_sums(frame, ["api00", "api99"], carry=["stype2"], **kw)
    assert_frame_equal(carried.sort("variable", "stratum"), grouped, check_column_order=False)
