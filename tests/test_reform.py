"""The 2022 reform of the regions: boundary vintages, pre-reform files naming new regions
refused, comparable units, old-unit population and the 17-unit map."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from queries.ingest.reading import read_table
from queries.ingest.validate import validate
from queries.reference.geo import boundaries, old_boundaries
from queries.reference.reform import (
    COMPARABLE_UNITS,
    Vintage,
    comparable_expr,
    comparable_members,
    comparable_region,
    crosses_reform,
    period_end,
    population_reference,
    vintage_of,
    with_population,
)
from queries.reference.regions import reference_regions

NEW = {"KZ-10": "KZ-63", "KZ-33": "KZ-19", "KZ-62": "KZ-35"}  # new region -> split off


@pytest.mark.parametrize(
    ("label", "vintage"),
    [
        ("2021", Vintage.BEFORE_2022),
        ("2021-Q4", Vintage.BEFORE_2022),
        ("2022-03", Vintage.BEFORE_2022),
        ("2022-05", Vintage.BEFORE_2022),  # ends 31 May, before 8 June
        ("2022-06", Vintage.SINCE_2022),  # reaches the reform day
        ("2022-Q2", Vintage.SINCE_2022),
        ("2022", Vintage.SINCE_2022),  # an annual report of 2022 is on the new units
        ("2025-Q3", Vintage.SINCE_2022),
        ("nonsense", None),
    ],
)
def test_vintage_from_the_period(label, vintage):
    assert vintage_of(label) == vintage


def test_period_end_of_each_label_form():
    ends = period_end(pl.Series(["2021", "2022-Q1", "2024-02", "2023-13", None])).to_list()
    assert ends == [dt.date(2021, 12, 31), dt.date(2022, 3, 31), dt.date(2024, 2, 29), None, None]


def survey_csv(wave: str, regions: list[str]) -> bytes:
    rows = "".join(f"R{i},kurultai,{wave},{r},5\n" for i, r in enumerate(regions))
    return f"respondent_id,source,wave,region,trust_government\n{rows}".encode()


def errors_of(v) -> list[tuple[int, str, str]]:
    return [(r["row"], r["column"], r["code"]) for r in v.errors.iter_rows(named=True)]


def test_pre_reform_survey_naming_jetisu_is_refused_with_a_clear_message():
    names = ["Жетісу облысы", "Алматинская обл.", "Абай облысы", "Ulytau region", "ВКО"]
    v = validate("survey", read_table(survey_csv("2021-Q2", names), "s.csv"))
    assert errors_of(v) == [
        (1, "region", "region_before_reform"),
        (3, "region", "region_before_reform"),
        (4, "region", "region_before_reform"),
    ]
    first = v.errors.row(0, named=True)
    assert "KZ-33 (Jetisu Region)" in first["message"]
    assert "KZ-19 (Almaty Region)" in first["message"]
    assert "2022-06-08" in first["message"]
    assert json.loads(first["params"])["parent"] == "KZ-19 (Almaty Region)"
    # the old names mean the old, larger units and pass
    assert v.clean.get_column("region").to_list() == ["KZ-19", "KZ-63"]


def test_the_same_names_after_the_reform_pass():
    names = ["Жетісу облысы", "Алматинская обл.", "Абай облысы", "Ulytau region"]
    v = validate("survey", read_table(survey_csv("2022-Q3", names), "s.csv"))
    assert v.ok
    assert v.clean.get_column("region").to_list() == ["KZ-33", "KZ-19", "KZ-10", "KZ-62"]


def test_pre_reform_ngo_period_and_proposal_naming_a_new_region_are_refused():
    ngo = b"region,period,registered_ngos\nJetisu,2021,10\nJetisu,2023,12\nKZ-62,2022-Q1,5\n"
    v = validate("ngo", read_table(ngo, "n.csv"))
    refused = (("region", "region_before_reform"),)
    assert errors_of(v) == [(1, *refused[0]), (3, *refused[0])]
    proposals = (
        "proposal_id,source,region,topic,submitted_on,status\n"
        "P1,kurultai,Абай облысы,roads,2022-06-07,received\n"
        "P2,kurultai,Абай облысы,roads,2022-06-08,received\n"
    ).encode()
    v = validate("proposals", read_table(proposals, "p.csv"))
    assert errors_of(v) == [(1, "region", "region_before_reform")]


def test_comparable_units_merge_each_parent_with_its_new_region():
    for new, parent in NEW.items():
        assert comparable_region(new) == comparable_region(parent)
        assert comparable_members(new) == tuple(sorted((new, parent)))
    assert len({comparable_region(c) for c in NEW}) == 3 == len(COMPARABLE_UNITS)
    assert comparable_region("KZ-75") == "KZ-75" and comparable_members("KZ-75") == ("KZ-75",)
    frame = pl.DataFrame({"region": ["KZ-33", "KZ-19", "KZ-10", "KZ-71"]})
    mapped = frame.select(comparable_expr()).to_series().to_list()
    assert mapped[0] == mapped[1] != mapped[2] and mapped[3] == "KZ-71"


def test_crosses_reform():
    assert crosses_reform(["2021-Q4", "2025-Q3"])
    assert not crosses_reform(["2022-Q3", "2025-Q3"])
    assert not crosses_reform(["2019", "2021"])


def test_old_units_population_is_the_sum_of_todays_units():
    today = dict(reference_regions().select("code", "population").iter_rows())
    old = population_reference().filter(pl.col("before_2022"))
    assert old.height == 17
    assert old.get_column("population").sum() == sum(today.values())
    by_code = dict(old.select("region", "population").iter_rows())
    for new, parent in NEW.items():
        assert new not in by_code
        assert by_code[parent] == today[parent] + today[new]
    rows = pl.DataFrame({"region": ["KZ-19", "KZ-19", "KZ-75"], "period": ["2021", "2023", "2021"]})
    population = with_population(rows).get_column("population").to_list()
    assert population == [today["KZ-19"] + today["KZ-33"], today["KZ-19"], today["KZ-75"]]


def test_old_boundary_map_has_17_units_made_of_todays_polygons():
    old = old_boundaries()["features"]
    today = {f["id"]: f["geometry"] for f in boundaries()["features"]}
    assert len(old) == 17 and len(today) == 20
    ids = {f["id"] for f in old}
    assert ids == set(today) - set(NEW)

    def polygons(geometry):
        coords = geometry["coordinates"]
        return [coords] if geometry["type"] == "Polygon" else coords

    for feature in old:
        members = [feature["id"], *(new for new, parent in NEW.items() if parent == feature["id"])]
        expected = [p for code in members for p in polygons(today[code])]
        got = sorted(json.dumps(p) for p in polygons(feature["geometry"]))
        assert got == sorted(json.dumps(p) for p in expected), feature["id"]


def test_the_map_of_a_pre_reform_wave_draws_the_old_units():
    from dashboard.components.regionmap import region_map

    frame = pl.DataFrame(
        {"region": ["KZ-19", "KZ-63"], "estimate": [6.0, 5.0], "ci_low": [5.5, 4.5],
         "ci_high": [6.5, 5.5], "n": [100, 90], "suppressed": [False, False]}
    )  # fmt: skip
    old = region_map(frame, value_title="t", title="t", wave="2021-Q2")
    new = region_map(frame, value_title="t", title="t", wave="2025-Q2")
    assert len(old.data[0].locations) == 17 and len(old.data[0].geojson["features"]) == 17
    assert len(new.data[0].locations) == 20


def reform_responses() -> pl.DataFrame:
    """Hand-made waves: 2021-Q4 on the old units (KZ-19 = Almaty Region with today's Jetisu),
    2025-Q2 on today's (KZ-19 and KZ-33 apart). Astana (KZ-71), untouched by the reform, in both.

    2021-Q4  KZ-19: 20 answers of 4 and 20 of 6, weight 1  -> 5.0
    2025-Q2  KZ-19: 20 answers of 6 and 20 of 8, weight 1  -> 7.0 (today's Almaty Region only)
             KZ-33: 40 answers of 8, weight 2              -> 8.0
    Almaty Region on its pre-2022 boundaries in 2025: (20*6 + 20*8 + 40*2*8) / (40 + 80) = 920/120
    so the 2021 -> 2025 change is 920/120 - 5 = 2.6667 (not 7.0 - 5.0 = 2.0).
    """
    cells = [  # wave, start, region, score, weight, count
        ("2021-Q4", dt.date(2021, 10, 1), "KZ-19", 4.0, 1.0, 20),
        ("2021-Q4", dt.date(2021, 10, 1), "KZ-19", 6.0, 1.0, 20),
        ("2021-Q4", dt.date(2021, 10, 1), "KZ-71", 5.0, 1.0, 40),
        ("2025-Q2", dt.date(2025, 4, 1), "KZ-19", 6.0, 1.0, 20),
        ("2025-Q2", dt.date(2025, 4, 1), "KZ-19", 8.0, 1.0, 20),
        ("2025-Q2", dt.date(2025, 4, 1), "KZ-33", 8.0, 2.0, 40),
        ("2025-Q2", dt.date(2025, 4, 1), "KZ-71", 6.0, 1.0, 40),
    ]
    rows = [
        {"source": "kurultai", "wave": w, "period_start": s, "region": r, "score": x, "weight": wt}
        for w, s, r, x, wt, count in cells
        for _ in range(count)
    ]
    frame = pl.DataFrame(rows)
    return frame.with_columns(stratum=pl.concat_str("source", "wave", "region", separator="|"))


def test_change_2021_to_2025_for_almaty_region_is_on_merged_units():
    from queries.metrics.trend import metric_trend

    trend = metric_trend(reform_responses(), {"score": pl.col("score")}, by="region")
    assert set(trend.get_column("region")) == {"KZ-19+33", "KZ-71"}  # Jetisu is inside
    almaty = trend.filter(pl.col("region") == "KZ-19+33").sort("period_start")
    assert almaty.get_column("estimate").to_list() == pytest.approx([5.0, 920 / 120])
    assert almaty.item(1, "change") == pytest.approx(920 / 120 - 5.0)
    astana = trend.filter(pl.col("region") == "KZ-71").sort("period_start")
    assert astana.item(1, "change") == pytest.approx(1.0)  # unaffected units keep their code


def test_within_one_vintage_regions_keep_their_own_units():
    from queries.metrics.trend import metric_trend

    after = reform_responses().filter(pl.col("wave") == "2025-Q2")
    trend = metric_trend(after, {"score": pl.col("score")}, by="region")
    by_region = dict(trend.select("region", "estimate").iter_rows())
    assert by_region == pytest.approx({"KZ-19": 7.0, "KZ-33": 8.0, "KZ-71": 6.0})


def test_a_region_chosen_across_the_reform_is_shown_as_its_comparable_unit():
    from types import SimpleNamespace

    from queries.metrics.filters import Filters
    from queries.metrics.overview import overview_numbers

    responses = reform_responses().with_columns(
        trust_government=pl.col("score"),
        state_listens=pl.col("score"),
        participated_consultation=pl.lit(False),
    )
    proposals = pl.DataFrame(
        schema={"proposal_id": pl.String, "source": pl.String, "region": pl.String,
                "submitted_on": pl.Date, "answered_on": pl.Date, "status": pl.String,
                "implemented_on": pl.Date, "topic": pl.String}
    )  # fmt: skip
    data = SimpleNamespace(responses=responses, proposals=proposals, ngo=pl.DataFrame())
    for chosen in ("KZ-33", "KZ-19"):  # Jetisu did not exist in 2021: both mean the old unit
        numbers = overview_numbers(data, Filters(regions=(chosen,)), "kurultai")
        assert numbers.comparable_units == ("KZ-19+33",)
        series = numbers.trend.filter(pl.col("variable") == "trust_government")
        series = series.sort("period_start")
        assert series.get_column("estimate").to_list() == pytest.approx([5.0, 920 / 120])
    # within one vintage, today's Almaty Region alone
    later = Filters(regions=("KZ-19",), wave_from="2025-Q2")
    numbers = overview_numbers(data, later, "kurultai")
    assert numbers.comparable_units == ()
    series = numbers.trend.filter(pl.col("variable") == "trust_government")
    assert series.get_column("estimate").to_list() == pytest.approx([7.0])


@pytest.mark.parametrize(
    ("lang", "label"),
    [
        ("en", "Almaty Region, pre-2022 boundaries"),
        ("ru", "Алматинская область, в границах до 2022 г."),
        ("kk", "Алматы облысы, 2022 жылға дейінгі шекарада"),
    ],
)
def test_comparable_unit_is_labelled_in_three_languages(lang, label):
    from dashboard.i18n import region_name

    assert region_name(comparable_region("KZ-33"), lang) == label
    assert region_name("KZ-19", lang) != label  # today's Almaty Region keeps its own name


def test_trend_chart_marks_the_reform_between_the_waves_it_falls_between():
    from dashboard.components.charts import trend_chart
    from dashboard.i18n import translate

    trend = pl.DataFrame(
        {"wave": ["2021-Q2", "2021-Q4", "2022-Q4", "2025-Q2"], "variable": "composite_trust",
         "period_start": [dt.date(2021, 4, 1), dt.date(2021, 10, 1), dt.date(2022, 10, 1),
                          dt.date(2025, 4, 1)],
         "estimate": [5.0, 5.1, 5.3, 5.6], "ci_low": [4.5] * 4, "ci_high": [6.0] * 4, "n": [90] * 4}
    )  # fmt: skip
    kwargs = {"series": "variable", "label": str, "colour": lambda _: "#000000",
              "y_title": "y", "title": "t"}  # fmt: skip
    marked = trend_chart(trend, reform_break=True, **kwargs)
    shapes = marked.layout.shapes
    assert len(shapes) == 1 and shapes[0].x0 == shapes[0].x1 == 1.5  # between waves 1 and 2
    texts = [a.text for a in marked.layout.annotations]
    assert translate("reform.break_label", "kk") in texts  # the session language (kk default)
    assert not trend_chart(trend, **kwargs).layout.shapes
    after = trend.filter(pl.col("period_start") > dt.date(2022, 6, 8))
    assert not trend_chart(after, reform_break=True, **kwargs).layout.shapes  # no break to mark


def test_regions_that_moved_across_the_reform_are_comparable_units():
    from queries.metrics.moved import regions_moved

    responses = reform_responses().with_columns(trust_government=pl.col("score"))
    moved = regions_moved(responses)
    changes = dict(moved.select("region", "change").iter_rows())
    assert changes == pytest.approx({"KZ-19+33": 920 / 120 - 5.0, "KZ-71": 1.0})


def test_ngo_density_of_a_pre_reform_year_uses_the_old_units_population():
    from queries.metrics.ngo import ngo_density

    ngo = pl.DataFrame(
        {"region": ["KZ-19", "KZ-19"], "period": ["2021", "2023"], "registered_ngos": [4432, 3040],
         "active_ngos": [2216, 1520], "grants_kzt": [0.0, 0.0], "grants_count": [0, 0]}
    )  # fmt: skip
    density = dict(ngo_density(ngo).select("year", "active_per_10k").iter_rows())
    # 2021: Almaty Region with Jetisu, 1,520,000 + 696,000 residents; 2023: 1,520,000
    assert density == pytest.approx({2021: 2216 / 2_216_000 * 10_000, 2023: 10.0})


def test_the_ngo_card_compares_a_complete_2022_with_a_complete_2021():
    from queries.metrics.overview import _ngo_card

    codes = reference_regions().get_column("code").to_list()
    old = sorted({NEW.get(c, c) for c in codes})  # the 17 units of 2021
    rows = [(c, "2021", 100) for c in old] + [(c, "2022", 120) for c in codes]
    ngo = pl.DataFrame(rows, schema=["region", "period", "active_ngos"], orient="row")
    ngo = ngo.with_columns(registered_ngos=pl.col("active_ngos") * 2, grants_kzt=0.0,
                           grants_count=0)  # fmt: skip
    card = _ngo_card(ngo)
    assert (card["wave"], card["previous_wave"]) == ("2022", "2021")
    total = reference_regions().get_column("population").sum()
    assert card["estimate"] == pytest.approx(120 * 20 / total * 10_000)
    assert card["previous"] == pytest.approx(100 * 17 / total * 10_000)
