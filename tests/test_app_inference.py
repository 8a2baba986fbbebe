"""Issue 12 on the pages (AppTest, the shared demo database): the Regions page shows rank
intervals and groups (never a bare rank), the Overview lists only the regions that survive
Holm's correction and names the family, the NGO page shows the line's robustness, the Drivers
page draws the model or says why not, the Methodology page has the new sections."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from dashboard.i18n import LANGUAGES, region_name, translate
from queries.db import engine_for
from queries.metrics.dataset import load_dataset
from queries.metrics.drivers import drivers_numbers
from queries.metrics.filters import Filters, apply_filters
from queries.metrics.inference import region_standing
from queries.metrics.moved import composite_by_region
from queries.metrics.ngo import ngo_density, ngo_trust_relation
from queries.metrics.overview import overview_numbers
from tests.apptest_helpers import DEFAULT_SOURCE, use_database, view


@pytest.fixture(autouse=True)
def environment(demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=False)


def latest_own(url: str) -> pl.DataFrame:
    data = load_dataset(engine_for(url))
    own = apply_filters(data.responses, Filters()).filter(pl.col("source") == DEFAULT_SOURCE)
    return own.filter(pl.col("wave") == own.sort("period_start")["wave"].last())


def test_regions_show_rank_intervals_and_groups_never_a_bare_rank(demo_url):
    at = view("regions")
    assert not at.exception, at.exception
    standing = region_standing(latest_own(demo_url))
    table = at.dataframe[0].value
    ranked = standing.regions.filter(pl.col("rank").is_not_null())
    shown = table[translate("regions.col_rank", "en")].tolist()[: ranked.height]
    bounds = ranked.select("rank", "rank_low", "rank_high").rows()
    expected = [f"{r} ({lo}–{hi})" for r, lo, hi in bounds]
    assert shown == expected
    p_raw = table[translate("regions.col_p_raw", "en")].tolist()[: ranked.height]
    assert p_raw == pytest.approx(ranked["p_value"].round(4).to_list())
    groups = table[translate("regions.col_group", "en")].tolist()[: ranked.height]
    assert groups == [translate(f"regions.group_{g}", "en") for g in ranked["group"]]
    ranking = json.loads(at.get("plotly_chart")[1].proto.spec)["data"][0]  # map, then ranking
    by_name = dict(zip(ranking["y"], ranking["marker"]["color"], strict=True))
    expected_colours = {"above": "#0072B2", "same": "#999999", "below": "#D55E00"}
    for code, group in ranked.select("region", "group").rows():
        assert by_name[region_name(code, "en")] == expected_colours[group]
    captions = [c.value for c in at.caption]
    assert not any(re.search(r"\d+ / \d+", c) for c in captions)  # the old "Rank k / 20"
    first = ranked.row(0, named=True)
    profile = translate(
        "regions.rank_interval", "en", rank=first["rank"], low=first["rank_low"],
        high=first["rank_high"], ranked=ranked.height,
        group=translate(f"regions.group_{first['group']}", "en"),
    )  # fmt: skip
    assert profile in captions  # the profile opens on the best-measured region: rank 1


def test_one_region_alone_has_no_group_but_says_why():
    at = view("regions", params={"region": "KZ-75"})  # nothing left to compare it with
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert not any("regions." in c for c in captions)  # no untranslated key
    assert any(translate("regions.group_none", "en") in c for c in captions)


def test_the_overview_lists_only_what_survives_holm(demo_url):
    at = view("overview")
    assert not at.exception, at.exception
    data = load_dataset(engine_for(demo_url))
    moved = overview_numbers(data, Filters(), DEFAULT_SOURCE).moved
    first = moved.row(0, named=True)
    family = {"tested": first["tested"], "before": first["previous_wave"], "after": first["wave"]}
    captions = [c.value for c in at.caption]
    assert translate("overview.moved_family", "en", **family) in captions
    significant = moved.filter(pl.col("significant"))
    if significant.is_empty():
        notice = translate("overview.moved_no_significant", "en", **family)
        assert notice in [i.value for i in at.info]
    else:
        table = at.dataframe[0].value
        names = table[translate("common.region", "en")].tolist()
        assert names == [region_name(r, "en") for r in significant["region"]]
        assert translate("overview.moved_p_adjusted", "en") in table.columns


def test_the_ngo_page_says_how_robust_the_line_is(demo_url):
    at = view("ngo")
    assert not at.exception, at.exception
    data = load_dataset(engine_for(demo_url))
    density = ngo_density(data.ngo)
    year = density["year"].max()
    own = apply_filters(data.responses, Filters()).filter(pl.col("source") == DEFAULT_SOURCE)
    trust = composite_by_region(own.filter(pl.col("period_start").dt.year() == year))
    relation = ngo_trust_relation(trust, density.filter(pl.col("year") == year))
    assert relation is not None and relation.robustness is not None
    prefix = translate("ngo.robust_caption", "en", ols="", ols_p="", rho="", rho_p="",
                       slope_low="", slope_high="", p_low="", p_high="").split(" ")[:4]  # fmt: skip
    assert any(c.value.startswith(" ".join(prefix)) for c in at.caption)
    fragile = translate("ngo.fragile", "en", flips=relation.robustness.flips,
                        n=relation.n_regions)  # fmt: skip
    warnings = [w.value for w in at.warning]
    assert (fragile in warnings) == relation.robustness.fragile
    assert translate("ngo.not_cause", "en") in warnings


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_drivers_page_draws_the_model(demo_url, lang):
    at = view("drivers", lang)
    assert not at.exception, at.exception
    assert at.title[0].value == translate("drivers.title", lang)
    model = drivers_numbers(load_dataset(engine_for(demo_url)), Filters(), DEFAULT_SOURCE,
                            "trust_government")  # fmt: skip
    assert model.fitted
    table = at.dataframe[0].value
    terms = table[translate("drivers.col_term", lang)].tolist()
    assert terms == [translate(f"drivers.term_{k}", lang) for k in model.terms["key"]]
    assert table[translate("drivers.col_estimate", lang)].tolist() == pytest.approx(
        model.terms["estimate"].round(3).to_list()
    )
    at.segmented_control(key="drivers_outcome").set_value("composite_trust").run()
    assert not at.exception
    assert not at.dataframe[0].value.equals(table)


def test_no_model_below_200_respondents_on_the_page(demo_url):
    at = view("drivers", params={"region": "KZ-62"})  # one small region
    assert not at.exception, at.exception
    filters = Filters(regions=("KZ-62",))
    model = drivers_numbers(load_dataset(engine_for(demo_url)), filters, DEFAULT_SOURCE,
                            "trust_government")  # fmt: skip
    assert model.reason == "too_few" and model.n < 200
    notice = translate("drivers.no_model_too_few", "en", n=model.n, min_n=200)
    assert notice in [i.value for i in at.info]
    assert len(at.dataframe) == 0


def test_methodology_explains_the_new_methods():
    at = view("methodology", "kk")
    assert not at.exception, at.exception
    titles = [h.value for h in at.subheader]
    for section in ("intervals", "multiplicity", "ranks", "ngo_robust", "drivers"):
        assert translate(f"methodology.{section}_title", "kk") in titles
    assert translate("methodology.ci_title", "kk") not in titles  # the ± 1.96 SE text is gone
    bodies = " ".join(m.value for m in at.markdown)
    assert "svyciprop" in bodies and "p.adjust" in bodies and "svyglm" in bodies
