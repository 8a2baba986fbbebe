"""Register, NGO and Overview metrics on small frames worked out by hand."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from queries.metrics.ngo import national_density, ngo_density, ngo_trust_relation
from queries.metrics.register import answer_rate_30, backlog, funnel, time_to
from queries.reference.regions import reference_regions

D = dt.date


def register() -> pl.DataFrame:
    # five proposals, submitted in January 2025
    return pl.DataFrame(
        {
            "proposal_id": ["a", "b", "c", "d", "e"],
            "region": ["KZ-75", "KZ-75", "KZ-71", None, "KZ-71"],
            "topic": ["roads", "roads", "schools", "schools", "roads"],
            "submitted_on": [
                D(2025, 1, 1),
                D(2025, 1, 1),
                D(2025, 1, 11),
                D(2025, 1, 21),
                D(2025, 1, 31),
            ],
            "status": ["implemented", "answered", "accepted", "received", "rejected"],
            "answered_on": [D(2025, 1, 11), D(2025, 3, 2), D(2025, 1, 31), None, D(2025, 2, 10)],
            "implemented_on": [D(2025, 4, 1), None, None, None, None],
        }
    )


def test_funnel_counts_every_stage():
    out = funnel(register())
    assert out.get_column("stage").to_list() == ["received", "answered", "accepted", "implemented"]
    assert out.get_column("count").to_list() == [5, 4, 2, 1]
    assert out.get_column("rate").to_list() == [1.0, 0.8, 0.4, 0.2]
    by_region = funnel(register(), by="region").filter(pl.col("region") == "KZ-71")
    assert by_region.get_column("count").to_list() == [2, 2, 1, 0]


def test_days_to_answer_and_implement():
    out = time_to(register())
    # answer days: 10, 60, 20, 10 -> median 15; p90 (linear) = 20 + 0.7 * (60 - 20) = 48
    assert out.item(0, "days_to_answer_median") == 15
    assert out.item(0, "days_to_answer_p90") == pytest.approx(48.0)
    assert out.item(0, "days_to_implement_median") == 90  # 1 Jan -> 1 Apr
    assert out.item(0, "n_answered") == 4 and out.item(0, "n_implemented") == 1


def test_backlog_and_answer_rate_on_a_date():
    as_of = D(2025, 3, 1)
    # unanswered on 1 March: b (answered 2 March, submitted 1 Jan: 59 days) and d (39 days)
    out = backlog(register(), as_of)
    assert out.row(0) == (2, 2, 0)
    # at least 30 days old on 1 March: a, b, c, d (e is 29 days old); within 30 days: a, c
    rate = answer_rate_30(register(), as_of)
    assert rate.row(0, named=True) == {"answered": 2, "n": 4, "rate": 0.5}


def ngo_rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region": ["KZ-75", "KZ-75", "KZ-71"],
            "period": ["2024", "2025", "2025"],
            "registered_ngos": [2_000, 2_200, 1_500],
            "active_ngos": [1_000, 1_100, 900],
            "grants_count": [10, 12, 8],
            "grants_kzt": [2_000_000.0, 2_200_000.0, 1_500_000.0],
            "year": [2024, 2025, 2025],
            "population": [2_000_000, 2_000_000, 1_500_000],
        }
    )


def test_ngo_density_per_10k_and_grants_per_capita():
    out = ngo_density(ngo_rows()).filter(pl.col("year") == 2025).sort("region")
    assert out.get_column("active_per_10k").to_list() == pytest.approx(
        [6.0, 5.5]
    )  # 900/150k, 1100/200k
    assert out.get_column("grants_kzt_per_capita").to_list() == pytest.approx([1.0, 1.1])
    national = national_density(ngo_rows()).filter(pl.col("year") == 2025)
    assert national.item(0, "active_per_10k") == pytest.approx(2_000 / 350)


def test_ngo_trust_relation_is_a_weighted_line():
    trust = pl.DataFrame(
        {
            "region": ["A", "B", "C", "D"],
            "estimate": [5.0, 6.0, 7.0, 8.0],
            "se": [0.1, 0.1, 0.1, 0.1],
        }
    )
    density = pl.DataFrame({"region": ["A", "B", "C", "D"], "active_per_10k": [1.0, 2.0, 3.0, 4.0]})
    fit = ngo_trust_relation(trust, density)
    assert fit.slope == pytest.approx(1.0) and fit.intercept == pytest.approx(4.0)
    assert fit.r_squared == pytest.approx(1.0) and fit.n_regions == 4
    assert ngo_trust_relation(trust.head(2), density) is None  # too few regions


def test_the_ngo_line_loads_statsmodels_linear_models_only():
    """The relation's fits import statsmodels' linear models, not ``statsmodels.api`` with its
    time series and signal processing (issue 11: 27 MB of every server process)."""
    probe = (
        "import sys, polars as pl\n"
        "from queries.metrics.ngo import ngo_trust_relation\n"
        "t = pl.DataFrame({'region': list('ABCDE'), 'estimate': [5.0, 6.5, 7.0, 8.2, 9.0],"
        " 'se': [0.1] * 5})\n"
        "d = pl.DataFrame({'region': list('ABCDE'), 'active_per_10k': [1.0, 2.0, 3.0, 4.0, 5.0]})\n"
        "assert ngo_trust_relation(t, d).robustness is not None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('statsmodels.api', "
        "'statsmodels.tsa'))))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True,
                          text=True, check=True)  # fmt: skip
    assert done.stdout.split("\n")[-2] == "[]"


def test_quarters_and_whole_years_and_population_from_the_reference_table():
    # A validated upload: region, no year, no population. KZ-75 reports quarters only:
    # NGO counts are the last quarter's, grants the sum. KZ-71 sent a whole-year row AND a
    # Q4 row: the whole-year row is used, so nothing is counted twice.
    upload = pl.DataFrame(
        {
            "region": ["KZ-75"] * 4 + ["KZ-71", "KZ-71"],
            "period": ["2025-Q1", "2025-Q3", "2025-Q2", "2025-Q4", "2025", "2025-Q4"],
            "registered_ngos": [100, 300, 200, 400, 500, 450],
            "active_ngos": [10, 30, 20, 40, 50, 45],
            "grants_count": [1, 1, 1, 1, 5, 2],
            "grants_kzt": [1.0, 3.0, 2.0, 4.0, 100.0, 30.0],
        }
    )
    population = dict(reference_regions().select("code", "population").iter_rows())
    out = ngo_density(upload).sort("region")
    assert out["region"].to_list() == ["KZ-71", "KZ-75"] and out["year"].to_list() == [2025] * 2
    assert out["active_ngos"].to_list() == [50, 40]
    assert out["grants_kzt"].to_list() == [100.0, 10.0]
    assert out["active_per_10k"].to_list() == pytest.approx(
        [50 / population["KZ-71"] * 10_000, 40 / population["KZ-75"] * 10_000]
    )
    assert out["grants_kzt_per_capita"][1] == pytest.approx(10.0 / population["KZ-75"])


def test_ngo_trust_relation_by_hand():
    # equal SEs, so WLS = OLS: x = 1..4, y = 5, 7, 6, 8 -> slope Sxy/Sxx = 4/5, intercept 4.5,
    # SSE 1.8, SST 5, R² 0.64; se(slope) = sqrt(0.9 / 5); t = 0.8/sqrt(0.18), 2 df:
    # p = 1 - t/sqrt(2 + t²) = 0.2; 95% CI: 0.8 ± 4.302653 * sqrt(0.18).
    trust = pl.DataFrame(
        {"region": ["A", "B", "C", "D", "E"], "estimate": [5.0, 7.0, 6.0, 8.0, None],
         "se": [0.2, 0.2, 0.2, 0.2, None]}
    )  # fmt: skip
    density = pl.DataFrame(
        {"region": ["A", "B", "C", "D", "E"], "active_per_10k": [1.0, 2, 3, 4, 5]}
    )
    fit = ngo_trust_relation(trust, density)
    assert fit.n_regions == 4  # E is suppressed (no estimate)
    assert fit.slope == pytest.approx(0.8) and fit.intercept == pytest.approx(4.5)
    assert fit.r_squared == pytest.approx(0.64) and fit.p_value == pytest.approx(0.2)
    half = 4.302652729911275 * 0.18**0.5
    assert fit.slope_ci == pytest.approx((0.8 - half, 0.8 + half))
    assert fit.points["fitted"].to_list() == pytest.approx([5.3, 6.1, 6.9, 7.7])
