"""The Overview with weights calibrated to the population (issue 12, point 6), raw-row path:
each wave raked to its year's margins equals the frame-based rake + svymean of that wave."""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from queries.errors import SenimError
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_numbers
from queries.survey.design import survey_mean
from tests.test_metrics_overview import ngo, proposals

D = dt.date
POPULATION = {"KZ-75": 2_000_000.0, "KZ-71": 1_000_000.0, "KZ-79": 3_000_000.0}
WAVES = {"W1": D(2024, 3, 1), "W2": D(2024, 9, 1), "W3": D(2025, 3, 1)}  # 2025: no margins


def responses() -> pl.DataFrame:
    """KZ-75 over-represented (half of each wave); trust differs by region."""
    rng = np.random.default_rng(12)
    parts = []
    for wave, start in WAVES.items():
        sizes = {"KZ-75": 150, "KZ-71": 60, "KZ-79": 90}
        for region, n in sizes.items():
            base = {"KZ-75": 7.0, "KZ-71": 5.0, "KZ-79": 3.0}[region]
            parts.append(
                pl.DataFrame(
                    {
                        "source": "ptc",
                        "wave": wave,
                        "period_start": start,
                        "region": region,
                        "weight": rng.uniform(0.5, 2.0, n),
                        "trust_government": np.clip(np.round(rng.normal(base, 2, n)), 0, 10),
                        "state_listens": np.clip(np.round(rng.normal(base - 1, 2, n)), 0, 10),
                        "participated_consultation": rng.random(n) < 0.3,
                        "sex": rng.choice(["female", "male"], n),
                        "age_group": rng.choice(["18_29", "30_49", "50_plus"], n),
                        "settlement": rng.choice(["urban", "rural"], n),
                    }
                )
            )
    frame = pl.concat(parts)
    return frame.with_columns(stratum=pl.concat_str("source", "wave", "region", separator="|"))


def data() -> SimpleNamespace:
    regions = pl.DataFrame({"code": list(POPULATION), "population": list(POPULATION.values())})
    return SimpleNamespace(
        responses=responses(), proposals=proposals(), ngo=ngo(), regions=regions,
        population=pl.DataFrame(),
    )  # fmt: skip


def frame_path(wave: str, value: str, *, domain: pl.Expr | None = None) -> dict:
    rows = responses().filter(pl.col("wave") == wave)
    rows = rows.with_columns((pl.lit(True) if domain is None else domain).alias("dom"))
    out = survey_mean(rows, value, weight="weight", strata="stratum", domain="dom",
                      calibrate_to={"region": POPULATION}, ci="t")  # fmt: skip
    return out.row(0, named=True)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9)


def test_each_2024_wave_is_raked_and_equals_the_frame_path():
    numbers = overview_numbers(data(), Filters(), "ptc")
    assert numbers.weights == "calibrated" and numbers.uncalibrated_waves == ("W3",)
    trend = numbers.trend.filter(pl.col("variable") == "trust_government")
    for wave in ("W1", "W2"):
        row = trend.filter(pl.col("wave") == wave).row(0, named=True)
        want = frame_path(wave, "trust_government")
        assert close(row["estimate"], want["estimate"]) and close(row["se"], want["se"])
        assert (row["ci_low"], row["df"]) == pytest.approx((want["ci_low"], want["df"]))
    delivered = overview_numbers(data(), Filters(weights="delivered"), "ptc")
    assert delivered.weights == "delivered" and delivered.uncalibrated_waves == ()
    plain = delivered.trend.filter(pl.col("variable") == "trust_government")
    # KZ-75 (trust 7) is half the sample but a third of the residents: raking lowers the mean
    w1 = [t.filter(pl.col("wave") == "W1")["estimate"][0] for t in (trend, plain)]
    assert w1[0] < w1[1] - 0.2
    # the 2025 wave has no margins: its numbers stay as delivered
    w3 = [t.filter(pl.col("wave") == "W3")["estimate"][0] for t in (trend, plain)]
    assert w3[0] == pytest.approx(w3[1], rel=1e-12)


def test_region_and_sex_filters_are_domains_of_the_raked_wave():
    filters = Filters(regions=("KZ-71", "KZ-79"), sexes=("female",), wave_to="W2")
    numbers = overview_numbers(data(), filters, "ptc")
    row = numbers.trend.filter(pl.col("variable") == "state_listens", pl.col("wave") == "W2")
    inside = pl.col("region").is_in(["KZ-71", "KZ-79"]) & (pl.col("sex") == "female")
    want = frame_path("W2", "state_listens", domain=inside)
    assert close(row["estimate"][0], want["estimate"]) and close(row["se"][0], want["se"])
    # the map: per region of the latest wave, only the chosen regions
    by_region = numbers.by_region.sort("region")
    assert by_region["region"].to_list() == ["KZ-71", "KZ-79"]
    # one trust item: composite trust = trust in government
    want = frame_path("W2", "trust_government", domain=inside & (pl.col("region") == "KZ-79"))
    assert close(by_region["estimate"][1], want["estimate"])
    assert close(by_region["se"][1], want["se"])


def test_unknown_weights_are_refused():
    with pytest.raises(SenimError, match="Unknown weights 'raw'"):
        Filters(weights="raw")


def test_regions_moved_compare_the_raked_wave_with_the_next():
    numbers = overview_numbers(data(), Filters(wave_from="W2"), "ptc")
    row = numbers.moved.filter(pl.col("region") == "KZ-75").row(0, named=True)
    before = frame_path("W2", "trust_government", domain=pl.col("region") == "KZ-75")
    rows = responses().filter(pl.col("wave") == "W3", pl.col("region") == "KZ-75")
    after = survey_mean(rows, "trust_government", weight="weight", strata="stratum").row(
        0, named=True
    )
    assert close(row["change"], after["estimate"] - before["estimate"])
    assert close(row["change_se"], math.hypot(after["se"], before["se"]))
    assert numbers.uncalibrated_waves == ("W3",)


def test_metric_trend_with_margins_rakes_each_wave_per_region_domain():
    from queries.metrics.calibrated import wave_margins
    from queries.metrics.trend import metric_trend

    frame = responses().with_columns(in_domain=pl.lit(True))
    margins = wave_margins(frame, pl.DataFrame(), data().regions)
    assert margins[("ptc", "W3")] is None and margins[("ptc", "W1")] == {"region": POPULATION}
    trend = metric_trend(frame, {"listens": pl.col("state_listens")}, by="region",
                         margins=margins)  # fmt: skip
    row = trend.filter(pl.col("region") == "KZ-79", pl.col("wave") == "W1").row(0, named=True)
    want = frame_path("W1", "state_listens", domain=pl.col("region") == "KZ-79")
    assert close(row["estimate"], want["estimate"]) and close(row["se"], want["se"])
    plain = metric_trend(frame, {"listens": pl.col("state_listens")}, by="region")
    w3 = [t.filter(pl.col("region") == "KZ-79", pl.col("wave") == "W3") for t in (trend, plain)]
    assert w3[0]["estimate"][0] == pytest.approx(w3[1]["estimate"][0], rel=1e-12)
    assert w3[0]["se"][0] == pytest.approx(w3[1]["se"][0], rel=1e-9)
