"""Claims about families (issue 12): Holm's adjustment, rank intervals, regions against the
country, regions that moved, and the NGO line's robustness, each against numbers worked out
by hand (numpy / scipy formulas written out here, not the code under test)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm, rankdata
from scipy.stats import t as student

from queries.metrics.inference import holm, rank_intervals, region_standing, versus_whole
from queries.metrics.moved import regions_moved
from queries.metrics.ngo import ngo_trust_relation
from tests.test_metrics_overview import responses as two_wave_responses


def test_holm_steps_down_and_keeps_the_input_order():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4·0.005, 3·0.01, 2·0.03, max(0.06, 1·0.04)
    out = holm([0.01, 0.04, 0.03, 0.005]).to_list()
    assert out == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_leaves_nulls_out_of_the_family_and_caps_at_one():
    out = holm([0.3, None, 0.6, 0.9]).to_list()
    assert out[1] is None
    # m = 3: 3·0.3 = 0.9; 2·0.6 = 1.2 -> 1; max(1.2, 0.9) -> 1
    assert out == pytest.approx([0.9, None, 1.0, 1.0])
    assert holm([]).to_list() == []


def estimates(values, ses) -> pl.DataFrame:
    return pl.DataFrame({"region": [f"R{i}" for i in range(len(values))],
                         "estimate": values, "se": ses})  # fmt: skip


def test_rank_intervals_follow_the_chance_of_swapping():
    # two regions 1 apart, SE s each: P(swap) = Φ(-1 / (s·√2))
    close = rank_intervals(estimates([6.0, 5.0], [0.5, 0.5]), key="region")  # P = 7.9%
    assert norm.cdf(-1 / (0.5 * math.sqrt(2))) > 0.025
    assert close.rows() == [("R0", 1, 1, 2), ("R1", 2, 1, 2)]
    apart = rank_intervals(estimates([6.0, 5.0], [0.2, 0.2]), key="region")  # P = 0.02%
    assert norm.cdf(-1 / (0.2 * math.sqrt(2))) < 0.001
    assert apart.rows() == [("R0", 1, 1, 1), ("R1", 2, 2, 2)]


def test_rank_intervals_are_reproducible_and_skip_suppressed_rows():
    frame = estimates([5.0, 5.1, None, 4.9], [0.1, 0.1, None, 0.1])
    first = rank_intervals(frame, key="region")
    assert first.equals(rank_intervals(frame.reverse(), key="region"))
    assert first.get_column("region").to_list() == ["R0", "R1", "R3"]
    assert first.get_column("rank").to_list() == [2, 1, 3]
    other = rank_intervals(frame, key="region", seed=1)
    assert (first.get_column("rank_low") <= first.get_column("rank")).all()
    assert other.get_column("rank").equals(first.get_column("rank"))


# three regions, one stratum each; weights vary so the ratio estimator matters
REGIONS = {
    "KZ-71": ([6.0, 7.0, 8.0, 7.5], [1.0, 2.0, 1.0, 2.0]),
    "KZ-75": ([5.0, 5.5, 4.5, 5.0], [1.0, 1.0, 2.0, 2.0]),
    "KZ-79": ([4.0, 3.0, 5.0, 4.0], [2.0, 1.0, 1.0, 3.0]),
}
COPIES = 10  # 40 per region: clears the 30-respondent rule


def region_frame() -> pl.DataFrame:
    parts = [
        pl.DataFrame({"trust_government": y * COPIES, "weight": w * COPIES}).with_columns(
            region=pl.lit(code), stratum=pl.lit(f"ptc|W1|{code}")
        )
        for code, (y, w) in REGIONS.items()
    ]
    return pl.concat(parts)


def by_hand_versus_rest(focus: str) -> tuple[float, float]:
    """Region minus the rest: ratio estimates and the linearised variance of the contrast."""
    frame = region_frame()
    y, w = frame["trust_government"].to_numpy(), frame["weight"].to_numpy()
    inside = (frame["region"] == focus).to_numpy()
    r_in = np.sum(w[inside] * y[inside]) / np.sum(w[inside])
    r_out = np.sum(w[~inside] * y[~inside]) / np.sum(w[~inside])
    u = np.where(inside, w * (y - r_in) / np.sum(w[inside]), -w * (y - r_out) / np.sum(w[~inside]))
    var = 0.0
    for stratum in frame["stratum"].unique():
        part = u[(frame["stratum"] == stratum).to_numpy()]
        n = len(part)
        var += n / (n - 1) * np.sum((part - part.mean()) ** 2)
    return r_in - r_out, 2 * norm.sf(abs((r_in - r_out) / math.sqrt(var)))


def test_each_region_against_the_country_with_holm():
    frame = region_frame()
    sums = (
        frame.group_by("region", "stratum")
        .agg(
            sw=pl.col("weight").sum(),
            swy=(pl.col("weight") * pl.col("trust_government")).sum(),
            sw2=(pl.col("weight") ** 2).sum(),
            sw2y=(pl.col("weight") ** 2 * pl.col("trust_government")).sum(),
            sw2y2=(pl.col("weight") ** 2 * pl.col("trust_government") ** 2).sum(),
            n=pl.len(),
        )
        .with_columns(n_h=pl.col("n"), N_h=pl.lit(None, pl.Float64), variable=pl.lit("v"))
    )
    out = versus_whole(sums, by="region").sort("region")
    raw = [by_hand_versus_rest(code)[1] for code in REGIONS]
    assert out["p_value"].to_list() == pytest.approx(raw, rel=1e-9)
    order = np.argsort(raw)
    expected = np.empty(3)
    expected[order] = np.minimum(np.maximum.accumulate((3 - np.arange(3)) * np.sort(raw)), 1)
    assert out["p_adjusted"].to_list() == pytest.approx(expected.tolist(), rel=1e-9)
    y, w = frame["trust_government"].to_numpy(), frame["weight"].to_numpy()
    national = np.sum(w * y) / np.sum(w)
    kz71 = np.average(REGIONS["KZ-71"][0], weights=REGIONS["KZ-71"][1])
    assert out["difference"][0] == pytest.approx(kz71 - national)
    groups = ["above" if d > 0 else "below" for d in out["difference"]]
    groups = [g if p < 0.05 else "same" for g, p in zip(groups, expected, strict=True)]
    assert out["group"].to_list() == groups
    assert "above" in groups and "below" in groups  # the frame is built to have both


def test_region_standing_puts_it_together():
    frame = region_frame().with_columns(in_domain=pl.lit(True))
    standing = region_standing(frame, ("government",))
    regions = standing.regions
    assert regions["region"].to_list() == ["KZ-71", "KZ-75", "KZ-79"]  # by estimate
    assert regions["rank"].to_list() == [1, 2, 3]
    assert standing.tested == 3
    y, w = frame["trust_government"].to_numpy(), frame["weight"].to_numpy()
    assert standing.national == pytest.approx(np.sum(w * y) / np.sum(w))


def test_regions_moved_corrects_over_every_region_tested():
    frame = two_wave_responses()
    full = regions_moved(frame, top=10).sort("region")
    shown = regions_moved(frame, top=1)
    assert full["tested"].to_list() == [3, 3, 3] and shown["tested"].to_list() == [3]
    raw = full["p_value"].to_numpy()
    order = np.argsort(raw)
    expected = np.empty(3)
    expected[order] = np.minimum(np.maximum.accumulate((3 - np.arange(3)) * np.sort(raw)), 1)
    assert full["p_adjusted"].to_list() == pytest.approx(expected.tolist())
    assert full["significant"].to_list() == (expected < 0.05).tolist()
    # the one row shown keeps the family's adjustment, not a family of one
    top = full.filter(pl.col("region") == shown["region"][0])
    assert shown["p_adjusted"][0] == pytest.approx(top["p_adjusted"][0])
    assert shown["p_adjusted"][0] > shown["p_value"][0]


def test_a_raw_p_value_below_005_can_fail_holm():
    frame = two_wave_responses()
    out = regions_moved(frame, top=10)
    # hand-made: p = 0.03 among three -> 0.09 after Holm when it is the smallest
    assert holm([0.03, 0.5, 0.7]).to_list()[0] == pytest.approx(0.09)
    assert (out["p_adjusted"] >= out["p_value"]).all()


@pytest.mark.slow
def test_on_the_demo_data_only_the_built_in_mover_survives(tmp_path_factory):
    from queries.db import engine_for
    from queries.demo.survey import MOVER_REGION
    from queries.metrics.dataset import load_dataset
    from tests.conftest import demo_database

    # 24,000 responses: every region has a change to test, and some non-movers pass p < 0.05
    data = load_dataset(engine_for(demo_database(tmp_path_factory, 24_000, "moved")))
    raw_hits = 0
    for source in data.responses.get_column("source").unique().to_list():
        own = data.responses.filter(pl.col("source") == source)
        moved = regions_moved(own, top=20)
        assert moved["tested"][0] >= 15
        raw_hits += moved.filter(pl.col("p_value") < 0.05).height
        assert moved.filter(pl.col("significant"))["region"].to_list() == [MOVER_REGION]
    assert raw_hits > 2  # without the correction more than the mover would be listed


# NGO density against trust: ten regions, one of them (R9) far out and pulling the line
X = np.array([2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 20.0])
Y = np.array([5.1, 4.6, 5.4, 4.9, 5.3, 4.8, 5.5, 5.0, 5.2, 6.4])
SE = np.array([0.20, 0.25, 0.20, 0.30, 0.20, 0.25, 0.20, 0.30, 0.20, 0.25])


def relation(x=X, y=Y, se=SE):
    codes = [f"R{i}" for i in range(len(x))]
    trust = pl.DataFrame({"region": codes, "estimate": y, "se": se})
    density = pl.DataFrame({"region": codes, "active_per_10k": x})
    return ngo_trust_relation(trust, density)


def wls_by_hand(x, y, se) -> tuple[float, float]:
    """Slope and its two-sided t p-value: (X'WX)⁻¹X'Wy, σ² = weighted RSS / (n - 2)."""
    design = np.column_stack([np.ones_like(x), x])
    weights = 1 / se**2
    xtwx = design.T @ (design * weights[:, None])
    beta = np.linalg.solve(xtwx, design.T @ (weights * y))
    resid = y - design @ beta
    sigma2 = np.sum(weights * resid**2) / (len(x) - 2)
    se_slope = math.sqrt(sigma2 * np.linalg.inv(xtwx)[1, 1])
    return beta[1], 2 * student.sf(abs(beta[1] / se_slope), len(x) - 2)


def test_ngo_line_beside_ols_spearman_and_leave_one_out():
    fit = relation()
    slope, p = wls_by_hand(X, Y, SE)
    assert (fit.slope, fit.p_value) == pytest.approx((slope, p), rel=1e-9)
    check = fit.robustness
    ols_slope, ols_p = wls_by_hand(X, Y, np.ones_like(X))
    assert (check.ols_slope, check.ols_p) == pytest.approx((ols_slope, ols_p), rel=1e-9)
    ranks_x, ranks_y = rankdata(X), rankdata(Y)
    rho = np.corrcoef(ranks_x, ranks_y)[0, 1]
    t_stat = rho * math.sqrt((len(X) - 2) / (1 - rho**2))
    assert check.spearman_rho == pytest.approx(rho, rel=1e-12)
    assert check.spearman_p == pytest.approx(2 * student.sf(abs(t_stat), len(X) - 2), rel=1e-9)
    loo = [wls_by_hand(np.delete(X, i), np.delete(Y, i), np.delete(SE, i)) for i in range(10)]
    assert check.loo["slope"].to_list() == pytest.approx([s for s, _ in loo], rel=1e-9)
    assert check.loo["p_value"].to_list() == pytest.approx([q for _, q in loo], rel=1e-9)
    assert check.loo_slope_range == pytest.approx((min(s for s, _ in loo), max(s for s, _ in loo)))
    assert check.loo_p_range == pytest.approx((min(q for _, q in loo), max(q for _, q in loo)))
    flips = sum((q < 0.05) != (p < 0.05) for _, q in loo)
    assert check.flips == flips


def test_a_line_that_hangs_on_one_region_is_fragile():
    fit = relation()
    assert fit.p_value < 0.05  # significant with R9...
    without = wls_by_hand(X[:-1], Y[:-1], SE[:-1])[1]
    assert without > 0.05  # ...and not without it
    assert fit.robustness.fragile and fit.robustness.flips >= 1
    steady = relation(y=5 + 0.1 * X + np.tile([0.05, -0.05], 5))
    assert steady.robustness.flips == 0 and not steady.robustness.fragile


def test_three_regions_give_a_line_but_no_leave_one_out():
    fit = relation(X[:3], Y[:3], SE[:3])
    assert fit is not None and fit.robustness is None
