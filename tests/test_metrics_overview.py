"""The Overview numbers (cards, regions that moved, the map) on small frames worked out by hand.

Survey: three regions x two waves, 40 equally weighted respondents per region and wave, one
trust item (so composite trust = trust in government). A stratum whose answers are 4 and 6
(20 each) has mean 5 and, by Taylor linearisation, z = ±1/40, so var = 40/39 * 40/1600 = 1/39.
"""

from __future__ import annotations

import datetime as dt
import math
from types import SimpleNamespace

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import stats

from queries.errors import SenimError
from queries.metrics.filters import Filters
from queries.metrics.moved import composite_by_region, regions_moved
from queries.metrics.overview import headline_cards, overview_numbers

D = dt.date
# region -> (wave 1 answers, wave 2 answers), each pair repeated 20 times
ANSWERS = {
    "KZ-75": ((4.0, 6.0), (6.0, 8.0)),  # 5 -> 7: +2, SE sqrt(2/39)
    "KZ-71": ((5.0, 5.0), (4.0, 6.0)),  # 5 -> 5: no change
    "KZ-79": ((4.0, 6.0), (3.9, 5.9)),  # 5 -> 4.9: -0.1, z = 0.44, not significant
}
WAVES = {"W1": D(2025, 1, 1), "W2": D(2025, 7, 1)}


def responses(source: str = "ptc") -> pl.DataFrame:
    rows = []
    for region, pairs in ANSWERS.items():
        for (wave, start), pair in zip(WAVES.items(), pairs, strict=True):
            for i in range(40):
                rows.append(
                    {
                        "source": source, "wave": wave, "period_start": start, "region": region,
                        "weight": 1.0, "trust_government": pair[i % 2],
                        "state_listens": 6.0 if wave == "W2" else 4.0,
                        "participated_consultation": i % 4 == 0,
                        "sex": "female" if i % 2 else "male",
                    }
                )  # fmt: skip
    frame = pl.DataFrame(rows)
    return frame.with_columns(stratum=pl.concat_str("source", "wave", "region", separator="|"))


def proposals() -> pl.DataFrame:
    # as of 31 Dec 2025: "now" = submitted 1 Dec 2024 .. 1 Dec 2025; "before" = 2 Dec 2023 ..
    # 1 Dec 2024 (judged on 31 Dec 2024).
    rows = [
        ("p1", "KZ-75", D(2025, 3, 1), D(2025, 3, 11)),  # now, answered in 10 days
        ("p2", "KZ-71", D(2025, 6, 1), D(2025, 8, 1)),  # now, 61 days: late
        ("p3", "KZ-75", D(2025, 12, 15), None),  # too recent to judge
        ("p4", "KZ-75", D(2024, 5, 1), D(2024, 5, 20)),  # before, 19 days
        ("p5", "KZ-71", D(2024, 6, 1), D(2024, 6, 10)),  # before, 9 days
        ("p6", "KZ-71", D(2024, 7, 1), None),  # before, never answered
        ("p7", "KZ-75", D(2023, 1, 1), D(2023, 1, 2)),  # older than both windows
    ]
    frame = pl.DataFrame(
        rows, schema=["proposal_id", "region", "submitted_on", "answered_on"], orient="row"
    )
    status = pl.when(pl.col("answered_on").is_null()).then(pl.lit("received"))
    return frame.with_columns(
        status.otherwise(pl.lit("answered")).alias("status"),
        pl.lit(None, pl.Date).alias("implemented_on"),
        pl.lit("roads").alias("topic"),
    )


def ngo() -> pl.DataFrame:
    # national active per 10k: 2024 (100 + 50) / 150k = 10; 2025 (120 + 90) / 150k = 14;
    # 2026 has one region only, so it is not a complete year yet.
    return pl.DataFrame(
        {
            "region": ["KZ-75", "KZ-71", "KZ-75", "KZ-71", "KZ-75"],
            "period": ["2024", "2024", "2025", "2025", "2026"],
            "year": [2024, 2024, 2025, 2025, 2026],
            "registered_ngos": [200, 100, 240, 180, 300],
            "active_ngos": [100, 50, 120, 90, 150],
            "grants_count": [1, 1, 1, 1, 1],
            "grants_kzt": [1.0, 1.0, 1.0, 1.0, 1.0],
            "population": [100_000, 50_000, 100_000, 50_000, 100_000],
        }
    )


def card(cards: pl.DataFrame, name: str) -> dict:
    return cards.filter(pl.col("card") == name).row(0, named=True)


def test_six_cards_with_change_and_significance():
    cards = headline_cards(responses(), proposals(), ngo(), as_of=D(2025, 12, 31))
    assert cards["card"].to_list() == [
        "composite_trust", "trust_government", "state_listens", "participation",
        "answered_30", "ngos_per_10k",
    ]  # fmt: skip
    # composite: W1 mean 5; W2 (7 + 5 + 4.9) / 3 with 40 respondents each
    composite = card(cards, "composite_trust")
    assert composite["estimate"] == pytest.approx(16.9 / 3) and composite["n"] == 120
    assert composite["previous"] == pytest.approx(5.0)
    assert composite["change"] == pytest.approx(16.9 / 3 - 5)
    # W1: strata var 1/39, 0, 1/39 over W = 120 -> var = 2 * (40/39 * 40/120²)
    se_w1 = math.sqrt(2 * 40 / 39 * 40 / 120**2)
    se_w2 = math.sqrt(3 * 40 / 39 * 40 / 120**2)  # every W2 stratum has answers 1 apart
    assert composite["change_se"] == pytest.approx(math.hypot(se_w1, se_w2))
    z = (16.9 / 3 - 5) / math.hypot(se_w1, se_w2)
    # a t-test: each wave has 120 respondents in 3 strata, df = 117 + 117
    assert composite["p_value"] == pytest.approx(2 * stats.t.sf(z, 234))
    assert composite["significant"] is True
    assert card(cards, "trust_government")["estimate"] == composite["estimate"]
    participation = card(cards, "participation")
    assert participation["kind"] == "share" and participation["estimate"] == pytest.approx(0.25)
    assert participation["change"] == pytest.approx(0) and participation["significant"] is False
    answered = card(cards, "answered_30")
    assert (answered["estimate"], answered["n"]) == (0.5, 2)  # p1 of p1, p2
    assert answered["previous"] == pytest.approx(2 / 3)  # p4, p5 of p4, p5, p6 (not p7)
    assert answered["change"] == pytest.approx(0.5 - 2 / 3) and answered["ci_low"] is None
    density = card(cards, "ngos_per_10k")
    assert (density["wave"], density["previous_wave"]) == ("2025", "2024")
    assert density["estimate"] == pytest.approx(14.0) and density["change"] == pytest.approx(4.0)


def test_filters_and_source_are_applied_inside_the_cards():
    both = pl.concat([responses("ptc"), responses("kurultai")])
    with pytest.raises(SenimError, match=r"several.*choose one source"):
        headline_cards(both, proposals(), ngo())
    chosen = Filters(regions=("KZ-75",))
    cards = headline_cards(both, proposals(), ngo(), chosen, source="ptc", as_of=D(2025, 12, 31))
    assert card(cards, "composite_trust")["estimate"] == pytest.approx(7.0)
    assert card(cards, "composite_trust")["previous"] == pytest.approx(5.0)
    assert card(cards, "answered_30")["n"] == 1  # p1 is the region's only judged proposal
    # the one region reported 2026 too: 150 / 100k, against 2025: 120 / 100k
    density = card(cards, "ngos_per_10k")
    assert (density["estimate"], density["previous"]) == pytest.approx((15.0, 12.0))
    # a sex filter is a domain: 20 of 40 per stratum, still 60 per wave >= 30
    women = headline_cards(both, pl.DataFrame(), pl.DataFrame(), Filters(sexes=("female",)),
                           source="ptc")  # fmt: skip
    assert card(women, "composite_trust")["n"] == 60
    assert card(women, "composite_trust")["estimate"] == pytest.approx((8 + 6 + 5.9) / 3)


def test_too_few_responses_suppress_a_card_but_keep_its_n():
    small = responses().filter(pl.col("region") == "KZ-75").head(60)  # W1 40, W2 20
    cards = headline_cards(small, pl.DataFrame(), pl.DataFrame())
    composite = card(cards, "composite_trust")
    assert composite["wave"] == "W2" and composite["n"] == 20 and composite["suppressed"]
    assert composite["estimate"] is None and composite["change"] is None
    assert composite["significant"] is False


def test_regions_moved_most_with_significance():
    moved = regions_moved(responses(), top=2)
    assert moved["region"].to_list() == ["KZ-75", "KZ-79"]  # |+2| > |-0.1| > 0
    first, second = moved.row(0, named=True), moved.row(1, named=True)
    assert (first["wave"], first["previous_wave"]) == ("W2", "W1")
    assert first["change"] == pytest.approx(2.0)
    assert first["change_se"] == pytest.approx(math.sqrt(2 / 39))
    assert first["significant"] is True
    assert second["change"] == pytest.approx(-0.1)
    z = 0.1 / math.sqrt(2 / 39)
    # a t-test: one stratum of 40 respondents per region and wave, df = 39 + 39
    assert second["p_value"] == pytest.approx(2 * stats.t.sf(z, 78))
    assert second["significant"] is False
    assert regions_moved(responses().filter(pl.col("wave") == "W1")).is_empty()


def test_composite_by_region_for_the_map():
    latest = responses().filter(pl.col("wave") == "W2")
    out = composite_by_region(latest).sort("region")
    assert out["region"].to_list() == ["KZ-71", "KZ-75", "KZ-79"]
    assert out["estimate"].to_list() == pytest.approx([5.0, 7.0, 4.9])
    assert out["se"].to_list() == pytest.approx([math.sqrt(1 / 39)] * 3)
    assert out["n"].to_list() == [40, 40, 40]


def test_overview_numbers_is_one_consistent_bundle():
    data = SimpleNamespace(
        responses=pl.concat([responses("ptc"), responses("kurultai")]),
        proposals=proposals(),
        ngo=ngo(),
    )
    numbers = overview_numbers(data, Filters(), "ptc")
    assert numbers.latest_wave == "W2"
    expected = headline_cards(data.responses, data.proposals, data.ngo, Filters(), source="ptc")
    assert_frame_equal(numbers.cards, expected)  # same numbers, up to summation order
    by_region = numbers.by_region.sort("region")
    assert by_region["estimate"].to_list() == pytest.approx([5.0, 7.0, 4.9])
    assert numbers.moved["region"].to_list() == ["KZ-75", "KZ-79", "KZ-71"]
    assert numbers.funnel["count"].to_list() == [7, 5, 0, 0]
    institutions = numbers.trend.filter(pl.col("variable") == "institution:government")
    assert institutions.sort("period_start")["estimate"].to_list() == pytest.approx([5, 16.9 / 3])


def test_a_bad_weight_is_reported_at_its_own_row():
    bad = responses().with_columns(
        pl.when(pl.int_range(pl.len()) == 45).then(0.0).otherwise(pl.col("weight")).alias("weight")
    )
    with pytest.raises(SenimError, match=r"Weight column 'weight', row 46: 0.0"):
        headline_cards(bad, pl.DataFrame(), pl.DataFrame())
