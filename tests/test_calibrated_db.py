"""Calibrated weights end to end on both databases (issue 12, point 6): population counts
uploaded for a year make that year's waves raked to region × sex × age-group margins, and the
Overview's numbers equal the frame-based rake + svymean of the wave."""

from __future__ import annotations

import math

import polars as pl
import pytest

from queries.demo import load_demo
from queries.ingest import ingest_bytes
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from queries.metrics.margins import population_margins
from queries.metrics.overview import overview_numbers
from queries.survey.calibrated_sums import UNKNOWN, with_unknown
from queries.survey.design import survey_mean

SOURCE = "public_trust_council"
AGES = ("18-29", "30-44", "45-59", "60+")


def population_file(codes: list[str], year: int) -> bytes:
    """Counts per region × sex × age group (made up: what matters is that they are not the
    sample's own shares)."""
    lines = ["region,sex,age_group,year,count"]
    for i, code in enumerate(codes):
        for j, sex in enumerate(("female", "male")):
            for k, age in enumerate(AGES):
                lines.append(
                    f"{code},{sex},{age},{year},{10_000 * (1 + i % 7) + 3_000 * j + 9_000 * k}"
                )
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.slow
def test_uploaded_counts_rake_their_year_and_equal_the_frame_path(engine, tmp_path):
    load_demo(engine, responses=4_000, folder=tmp_path / "files")
    data = load_dataset(engine)
    codes = data.regions.get_column("code").to_list()
    report = ingest_bytes(engine, "population", population_file(codes, 2025), "pop.csv")
    assert report.status == "loaded", report.errors
    data = load_dataset(engine)
    numbers = overview_numbers(data, Filters(), SOURCE)
    latest = numbers.latest_wave
    assert latest.startswith("2025") and numbers.weights == "calibrated"
    assert not any(w.startswith(("2024", "2025")) for w in numbers.uncalibrated_waves)
    assert any(w.startswith("2023") for w in numbers.uncalibrated_waves)

    margins = population_margins(data.population, data.regions, year=2025)
    assert set(margins) == {"region", "sex", "age_group"}
    rows = data.responses.filter(pl.col("source") == SOURCE, pl.col("wave") == latest)
    # missing sex or age group, and respondents under 18 (no count), keep their delivered share
    rows = rows.with_columns(
        pl.when(pl.col(c).is_in(list(t))).then(pl.col(c)).otherwise(pl.lit(UNKNOWN)).alias(c)
        for c, t in margins.items()
    )
    totals = {c: dict(rows.group_by(c).agg(pl.col("weight").sum()).iter_rows()) for c in margins}
    full = with_unknown(margins, totals)
    want = survey_mean(
        rows, "state_listens", weight="weight", strata="stratum", calibrate_to=full, ci="t"
    ).row(0, named=True)
    got = numbers.trend.filter(pl.col("variable") == "state_listens", pl.col("wave") == latest)
    assert math.isclose(got["estimate"][0], want["estimate"], rel_tol=1e-9)
    assert math.isclose(got["se"][0], want["se"], rel_tol=1e-9)
    delivered = overview_numbers(data, Filters(weights="delivered"), SOURCE).trend
    plain = delivered.filter(pl.col("variable") == "state_listens", pl.col("wave") == latest)
    assert abs(plain["estimate"][0] - got["estimate"][0]) > 1e-3  # the margins do change it
