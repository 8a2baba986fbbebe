"""Calibrated estimates from per-cell sums equal the frame-based rake + svymean (issue 12)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queries.survey.calibrated_sums import CELL_TOTALS, UNKNOWN, calibrated_sums, with_unknown
from queries.survey.design import combine_sums, stratum_sums, survey_mean, survey_proportion

DIMS = ["region", "sex", "age_group"]
UNIT = ["source", "wave"]


def sums_path(frame, margins, *, by=(), domain=None, binary=False, value="y"):
    cells = stratum_sums(
        frame, value, weight="w", strata="stratum", by=list(by) or None, domain=domain,
        binary=binary, carry=UNIT, cells=DIMS,
    )  # fmt: skip
    out = calibrated_sums(cells, margins, unit=UNIT, by=by)
    return out, combine_sums(out.sums, by=list(by) or None, ci="t", proportion=binary)


def filled(frame: pl.DataFrame, margins: dict) -> tuple[pl.DataFrame, dict]:
    """The frame-based equivalent of the sums path's unknown category (missing values and
    categories without a margin)."""
    frame = frame.with_columns(
        pl.when(pl.col(c).is_in(list(t))).then(pl.col(c)).otherwise(pl.lit(UNKNOWN)).alias(c)
        for c, t in margins.items()
    )
    totals = {c: dict(frame.group_by(c).agg(pl.col("w").sum()).iter_rows()) for c in margins}
    return frame, with_unknown(margins, totals)


def random_frame(seed: int, n: int, *, nulls: bool) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["A", "B", "C"], n)
    sex = rng.choice(["f", "m"], n).astype(object)
    age = rng.choice(["18-29", "30-49", "50+"], n).astype(object)
    if nulls:
        sex[rng.random(n) < 0.1] = None
        age[rng.random(n) < 0.1] = None
    y = rng.integers(0, 11, n).astype(float)
    y[rng.random(n) < 0.15] = np.nan
    return pl.DataFrame({
        "source": "s", "wave": "w1", "region": region, "sex": sex.tolist(),
        "age_group": age.tolist(), "stratum": [f"s|w1|{r}{k}" for r, k in
                                               zip(region, rng.integers(0, 2, n), strict=True)],
        "w": rng.uniform(0.3, 4.0, n), "y": y, "grp": rng.choice(["g1", "g2", "g3"], n),
        "dom": rng.random(n) < 0.7, "yes": (rng.random(n) < 0.4).astype(float),
    }, schema_overrides={"sex": pl.String, "age_group": pl.String}).with_columns(
        pl.col("y").fill_nan(None))  # fmt: skip


MARGINS = {
    "region": {"A": 500.0, "B": 300.0, "C": 1200.0},
    "sex": {"f": 1050.0, "m": 950.0},
    "age_group": {"18-29": 600.0, "30-49": 800.0, "50+": 600.0},
}


def assert_same(sums: pl.DataFrame, frame: pl.DataFrame, by=()) -> None:
    keys = list(by)
    got = sums.drop("variable").sort(keys) if keys else sums.drop("variable")
    want = frame.sort(keys) if keys else frame
    assert got.height == want.height
    for a, b in zip(got.iter_rows(named=True), want.iter_rows(named=True), strict=True):
        assert a["n"] == b["n"] and a["df"] == b["df"]
        for col in ("estimate", "se", "ci_low", "ci_high"):
            if b[col] is None:
                assert a[col] is None
            else:
                assert math.isclose(a[col], b[col], rel_tol=1e-9, abs_tol=1e-12), (col, a, b)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(60, 200),
    nulls=st.booleans(),
    which=st.sampled_from([("region",), ("region", "sex"), tuple(MARGINS)]),
    by=st.sampled_from([(), ("grp",), ("region",)]),
    domain=st.sampled_from([None, "dom"]),
)
def test_sums_path_equals_frame_path(seed, n, nulls, which, by, domain):
    frame = random_frame(seed, n, nulls=nulls)
    margins = {c: MARGINS[c] for c in which}
    result, got = sums_path(frame, {("s", "w1"): margins}, by=by, domain=domain)
    assert result.calibrated == (("s", "w1"),) and result.delivered == ()
    cal_frame, full = filled(frame, margins)
    want = survey_mean(
        cal_frame, "y", weight="w", strata="stratum", by=list(by) or None, domain=domain,
        calibrate_to=full, ci="t",
    )  # fmt: skip
    assert_same(got, want, by)


def test_share_with_logit_interval_equals_frame_path():
    frame = random_frame(7, 150, nulls=True)
    cal_frame, full = filled(frame, MARGINS)
    _, got = sums_path(frame, {("s", "w1"): MARGINS}, binary=True, value="yes")
    cells = stratum_sums(frame, "yes", weight="w", strata="stratum", binary=True, carry=UNIT,
                         cells=DIMS)  # fmt: skip
    logit = combine_sums(
        calibrated_sums(cells, {("s", "w1"): MARGINS}, unit=UNIT).sums, ci="logit",
        proportion=True,
    )  # fmt: skip
    want = survey_proportion(cal_frame, "yes", weight="w", strata="stratum", calibrate_to=full,
                             ci="logit")  # fmt: skip
    assert_same(logit, want)
    assert got["estimate"][0] == pytest.approx(want["estimate"][0], rel=1e-12)


def test_each_wave_is_raked_to_its_own_margins():
    one, two = random_frame(1, 120, nulls=False), random_frame(2, 90, nulls=False)
    two = two.with_columns(wave=pl.lit("w2"), stratum=pl.col("stratum").str.replace("w1", "w2"))
    other = {"region": {"A": 100.0, "B": 100.0, "C": 100.0}}
    margins = {("s", "w1"): MARGINS, ("s", "w2"): other, ("s", "w3"): MARGINS}
    result, got = sums_path(pl.concat([one, two]), margins, by=("wave",))
    assert set(result.calibrated) == {("s", "w1"), ("s", "w2")}
    for wave, frame, m in (("w1", one, MARGINS), ("w2", two, other)):
        want = survey_mean(frame, "y", weight="w", strata="stratum", calibrate_to=m, ci="t")
        assert_same(got.filter(pl.col("wave") == wave).drop("wave"), want)


def test_unit_without_margins_or_unmet_margins_keeps_delivered_weights():
    frame = random_frame(3, 100, nulls=False)
    plain = survey_mean(frame, "y", weight="w", strata="stratum", ci="t")
    for margins, reason in (
        ({}, "no_margins"),
        ({("s", "w1"): {"region": {"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0}}},
         "no_respondents:region=D"),
    ):  # fmt: skip
        result, got = sums_path(frame, margins)
        assert result.delivered == ((("s", "w1"), reason),)
        assert_same(got, plain)


def test_a_category_without_a_margin_keeps_its_delivered_share():
    # region C has no population total (as respondents under 18 when the counts start at 18)
    frame = random_frame(5, 140, nulls=True)
    margins = {"region": {"A": 100.0, "B": 300.0}, "sex": {"f": 200.0, "m": 200.0}}
    result, got = sums_path(frame, {("s", "w1"): margins})
    assert result.calibrated == (("s", "w1"),)
    cal_frame, full = filled(frame, margins)
    share = frame.filter(pl.col("region") == "C")["w"].sum() / frame["w"].sum()
    assert full["region"][UNKNOWN] == pytest.approx(400 * share, rel=1e-12)
    want = survey_mean(cal_frame, "y", weight="w", strata="stratum", calibrate_to=full, ci="t")
    assert_same(got, want)


def hand_frame(strata: str) -> pl.DataFrame:
    # region A is over-represented: 20 of 30 respondents, but 100 of 400 residents (each of
    # the six answers five times, so that no estimate is hidden below 30 respondents)
    return pl.DataFrame({
        "source": "s", "wave": "w1", "region": (["A"] * 4 + ["B"] * 2) * 5, "sex": "f",
        "age_group": "18-29", "w": 1.0, "y": [1.0, 2.0, 3.0, 4.0, 10.0, 12.0] * 5,
        "stratum": strata,
    })  # fmt: skip


def test_hand_worked_wave_over_representing_one_region():
    frame = hand_frame("all")
    margins = {"region": {"A": 100.0, "B": 300.0}}
    delivered = survey_mean(frame, "y", weight="w", strata="stratum")
    assert delivered["estimate"][0] == pytest.approx(32 / 6, rel=1e-12)
    # raked weights 5 (A: 100/20) and 30 (B: 300/10): (5·50 + 30·110) / 400
    _, got = sums_path(frame, {("s", "w1"): margins})
    assert got["estimate"][0] == pytest.approx(8.875, rel=1e-12)
    # z = w(y - ȳ_region)/400 once the region means are removed: Σz² = (25·25 + 900·10)/400²,
    # one stratum of 30: var = 30/29 · Σz² (Σz = 0)
    assert got["se"][0] == pytest.approx(math.sqrt(30 / 29 * 9625 / 400**2), rel=1e-12)
    # the raked weights taken as fixed: Σz² = (25·5·167.5625 + 900·5·11.03125)/400², larger
    fixed = survey_mean(
        frame.with_columns(w=pl.when(pl.col("region") == "A").then(5.0).otherwise(30.0)),
        "y",
        weight="w",
        strata="stratum",
    )
    assert fixed["se"][0] == pytest.approx(math.sqrt(30 / 29 * 70585.9375 / 400**2), rel=1e-12)
    assert got["se"][0] < fixed["se"][0]
    frame_path = survey_mean(frame, "y", weight="w", strata="stratum", calibrate_to=margins)
    assert frame_path["se"][0] == pytest.approx(got["se"][0], rel=1e-12)


def test_cells_with_values_only_and_separate_totals_give_the_same_numbers():
    # a store keeping only cells with values, and every respondent's n, Σw, Σw² per cell apart
    frame = random_frame(11, 160, nulls=True)
    kw = {"weight": "w", "strata": "stratum", "carry": UNIT, "cells": DIMS}
    cells = stratum_sums(frame, "y", by=["grp"], domain="dom", **kw)
    ones = stratum_sums(frame.with_columns(one=pl.lit(1.0)), "one", **kw)
    totals = ones.select(
        "stratum", *DIMS, n_cell="n", sw_cell="sw", sw2_cell="sw2"
    )  # the "respondents" variable of a store
    sparse = cells.filter(pl.col("n") > 0).drop(CELL_TOTALS)
    assert sparse.height < cells.height
    margins = {("s", "w1"): MARGINS}
    full = combine_sums(calibrated_sums(cells, margins, unit=UNIT, by=["grp"]).sums, by="grp")
    got = calibrated_sums(sparse, margins, unit=UNIT, by=["grp"], totals=totals).sums
    assert_same(combine_sums(got, by="grp"), full.drop("variable"), ("grp",))
