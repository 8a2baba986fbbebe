"""The fourth upload kind, population counts: read, validated, stored, replaced and rolled back
like the others, on both databases; the margins taken from it for calibrating weights."""

from __future__ import annotations

import polars as pl
import pytest
from alembic import command
from sqlalchemy import func, select

from queries import db
from queries.contract import template_csv
from queries.ingest import ingest_bytes, rollback
from queries.metrics.dataset import load_dataset
from queries.metrics.margins import REFERENCE_YEAR, population_margins
from queries.reference.regions import reference_regions
from queries.schema.data import ngo_activity, population, uploads

HEADER = "region,sex,age_group,year,count\n"


def load(engine, text: str, name: str = "population.csv", **kw):
    return ingest_bytes(engine, "population", (HEADER + text).encode(), name, **kw)


def stored(engine) -> list[tuple]:
    with engine.connect() as conn:
        query = select(population.c.region, population.c.sex, population.c.age_group,
                       population.c.year, population.c.count).order_by(population.c.id)  # fmt: skip
        return [tuple(r) for r in conn.execute(query).all()]


def test_counts_are_read_in_the_words_staff_write(engine):
    report = load(engine, "Алматы,жен,18–29,2024,130000\nKZ-75,всего,барлығы,2024,2200000\n")
    assert report.status == "loaded", report.errors
    assert stored(engine) == [
        ("KZ-75", "female", "18-29", 2024, 130000),
        ("KZ-75", "total", "total", 2024, 2200000),
    ]


def test_each_bad_cell_is_named_and_nothing_half_loaded(engine):
    report = load(
        engine,
        "KZ-75,x,18-29,2024,10\nKZ-71,male,18-29,1850,10\nKZ-79,male,18-29,2024,-5\n"
        "KZ-79,male,18-29,2024,7\nKZ-79,male,18-29,2024,8\n",
    )
    assert report.status == "rejected"
    problems = [(r["row"], r["column"], r["code"]) for r in report.errors.iter_rows(named=True)]
    assert problems == [
        (1, "sex", "bad_choice"),
        (2, "year", "out_of_range"),
        (3, "count", "negative"),
        (4, "region", "duplicate_in_file"),  # of row 3: the same region, sex, age and year
        (5, "region", "duplicate_in_file"),
    ]
    assert stored(engine) == []


def test_a_new_count_replaces_the_old_and_a_rollback_restores_it(engine):
    first = load(engine, "KZ-75,total,total,2024,2200000\n")
    second = load(
        engine, "KZ-75,total,total,2024,2300000\nKZ-71,total,total,2024,1400000\n", "b.csv"
    )
    assert (second.rows_new, second.rows_updated) == (1, 1)
    assert stored(engine) == [("KZ-75", "total", "total", 2024, 2300000),
                              ("KZ-71", "total", "total", 2024, 1400000)]  # fmt: skip
    rollback(engine, second.upload_id, by="test")
    assert stored(engine) == [("KZ-75", "total", "total", 2024, 2200000)]
    assert first.status == "loaded"


def test_the_template_reads_back_as_a_valid_file(engine):
    report = ingest_bytes(engine, "population", template_csv("population"), "template.csv")
    assert report.status == "loaded", report.errors
    assert load_dataset(engine).population.height == 1


def test_the_upgrade_keeps_existing_uploads_and_their_rows(engine):
    """0004 rebuilds the uploads table on SQLite (a new kind in its CHECK): rows that refer to
    uploads must survive a downgrade and upgrade with data in."""
    ingest_bytes(engine, "ngo", b"region,period,registered_ngos\nKZ-75,2024,10\n", "n.csv")
    upgrade = command.upgrade
    try:  # the same path init_db takes, from one revision earlier
        command.upgrade = lambda config, rev: (command.downgrade(config, "0003"),
                                               upgrade(config, rev))  # fmt: skip
        db.upgrade(engine)
    finally:
        command.upgrade = upgrade
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(uploads)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(ngo_activity)).scalar_one() == 1
    assert load(engine, "KZ-75,total,total,2024,1\n").status == "loaded"


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["region", "sex", "age_group", "year", "count"], orient="row")


def test_margins_from_totals_and_from_detailed_rows():
    totals = frame(
        [
            (region, sex, "total", 2025, count)
            for region, counts in (("KZ-75", (100, 52, 48)), ("KZ-71", (50, 26, 24)))
            for sex, count in zip(("total", "female", "male"), counts, strict=True)
        ]
    )
    regions = reference_regions()
    assert population_margins(totals, regions, year=2025) == {
        "region": {"KZ-71": 50.0, "KZ-75": 100.0},
        "sex": {"female": 78.0, "male": 72.0},
    }
    detail = frame(
        [
            ("KZ-75", "female", "18-29", 2025, 10),
            ("KZ-75", "male", "18-29", 2025, 12),
            ("KZ-75", "female", "60+", 2025, 7),
            ("KZ-71", "male", "60+", 2025, 3),
        ]
    )
    assert population_margins(detail, regions, year=2025) == {
        "region": {"KZ-71": 3.0, "KZ-75": 29.0},
        "sex": {"female": 17.0, "male": 15.0},
        "age_group": {"18-29": 22.0, "60+": 10.0},
    }


def test_without_uploaded_counts_only_the_reference_year_is_calibrated():
    regions = reference_regions()
    none = frame([]).cast({"year": pl.Int64, "count": pl.Int64})
    shipped = population_margins(none, regions, year=REFERENCE_YEAR)
    assert shipped == {"region": dict(zip(regions["code"], map(float, regions["population"]),
                                          strict=True))}  # fmt: skip
    assert population_margins(none, regions, year=2019) is None


@pytest.mark.parametrize("year", [2019, 2030])
def test_an_uploaded_year_needs_no_reference(year):
    rows = frame([("KZ-75", "total", "total", year, 5)])
    assert population_margins(rows, reference_regions(), year=year) == {"region": {"KZ-75": 5.0}}
