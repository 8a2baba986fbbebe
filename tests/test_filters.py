"""The analyst's filters: whole strata are cut, subgroups become a domain (worked by hand)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from queries.errors import SenimError
from queries.metrics.filters import Filters, apply_filters
from queries.survey.design import survey_mean


def responses() -> pl.DataFrame:
    # two sources, two waves, two regions; per stratum 4 respondents (y = 2, 4 women, 6, 8 men)
    rows = []
    for source in ("ptc", "kurultai"):
        for wave, start in (("2025-Q1", dt.date(2025, 1, 1)), ("2025-Q3", dt.date(2025, 7, 1))):
            for region in ("KZ-75", "KZ-71"):
                for y, sex in ((2.0, "female"), (4.0, "female"), (6.0, "male"), (8.0, None)):
                    rows.append((source, wave, start, region, sex, "18-29", "urban", y))
    frame = pl.DataFrame(
        rows,
        schema=["source", "wave", "period_start", "region", "sex", "age_group", "settlement", "y"],
        orient="row",
    )
    return frame.with_columns(
        weight=pl.lit(1.0), stratum=pl.concat_str("source", "wave", "region", separator="|")
    )


def test_no_filters_keep_everything_in_the_domain():
    out = apply_filters(responses(), Filters())
    assert out.height == 32 and out["in_domain"].all()


def test_sources_regions_and_wave_range_drop_whole_strata():
    chosen = Filters(sources=("ptc",), regions=("KZ-75",), wave_from="2025-Q3")
    out = apply_filters(responses(), chosen)
    assert out.height == 4
    assert out.select("source", "wave", "region").unique().rows() == [("ptc", "2025-Q3", "KZ-75")]
    upto = apply_filters(responses(), Filters(wave_to="2025-Q1"))
    assert upto["wave"].unique().to_list() == ["2025-Q1"] and upto.height == 16


def test_subgroups_become_a_domain_and_null_is_outside_it():
    out = apply_filters(responses(), Filters(sexes=("female",)))
    assert out.height == 32  # every respondent stays in its stratum
    assert out["in_domain"].sum() == 16  # two women per stratum; the null sex is outside
    men = apply_filters(responses(), Filters(sexes=("male",), settlements=("urban",)))
    assert men["in_domain"].sum() == 8
    assert apply_filters(responses(), Filters(age_groups=("60+",)))["in_domain"].sum() == 0


def test_domain_estimate_keeps_the_full_design():
    # One stratum of 4 (ptc, 2025-Q1, KZ-75); women only: y = 2 and 4, so the mean is 3.
    chosen = Filters(sources=("ptc",), regions=("KZ-75",), wave_to="2025-Q1", sexes=("female",))
    frame = apply_filters(responses(), chosen)
    out = survey_mean(frame, "y", weight="weight", strata="stratum", domain="in_domain")
    assert out["n"][0] == 2 and out["suppressed"][0]  # fewer than 30: hidden, n kept
    big = pl.concat([frame] * 15)  # 60 rows, 30 women, still one stratum
    row = survey_mean(big, "y", weight="weight", strata="stratum", domain="in_domain").row(
        0, named=True
    )
    # W = 30; z = ±1/30 for the 30 women, 0 for 30 others: Σz = 0, Σz² = 30/900
    assert row["estimate"] == pytest.approx(3.0) and row["n"] == 30
    assert row["se"] == pytest.approx(math.sqrt(60 / 59 * 30 / 900))


def test_unknown_wave_is_a_clear_error():
    with pytest.raises(SenimError, match=r"Unknown wave '2030'.*2025-Q1, 2025-Q3"):
        apply_filters(responses(), Filters(wave_from="2030"))
