"""Every rule of the data contract, each on a real file in tests/fixtures/upload/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from queries.contract import contract_columns, template_csv
from queries.errors import InputFileError
from queries.ingest.pipeline import ingest_bytes
from queries.ingest.reading import read_table
from queries.ingest.validate import validate

FILES = Path(__file__).parent / "fixtures" / "upload"


def check(kind: str, name: str, **options):
    content = (FILES / name).read_bytes()
    return validate(kind, read_table(content, name), **options)


def errors_of(validation) -> list[tuple]:
    return [(r["row"], r["column"], r["code"]) for r in validation.errors.iter_rows(named=True)]


def test_good_survey_parses_every_contract_type():
    v = check("survey", "survey_good.csv")
    assert v.ok and v.rows_read == 3
    c = v.clean.sort("_row")
    assert c.get_column("interview_date").to_list() == [dt.date(2025, 8, 14)] * 3
    assert c.get_column("region").to_list() == ["KZ-75", "KZ-71", "KZ-79"]
    assert c.get_column("period_start").to_list() == [dt.date(2025, 7, 1)] * 3
    assert c.get_column("weight").to_list() == [1.2, 0.8, 1.0]  # blank weight -> 1
    assert c.get_column("trust_government").to_list() == [7, None, 10]  # DK -> missing, not 0
    assert c.get_column("state_listens").to_list() == [6, None, None]  # 99, "не знаю" -> missing
    assert c.get_column("received_response").to_list() == [True, None, None]
    assert c.get_column("sex").to_list() == ["female", "male", None]


def test_windows_1251_with_semicolons_and_decimal_commas():
    table = read_table((FILES / "survey_cp1251_semicolon.csv").read_bytes(), "x.csv")
    assert (table.encoding, table.delimiter, table.decimal_comma) == ("cp1251", ";", True)
    v = validate("survey", table)
    assert v.ok, v.errors
    c = v.clean.sort("_row")
    assert c.get_column("weight").to_list() == [1.25, 0.75]
    assert c.get_column("source").to_list() == ["kurultai", "kurultai"]
    assert c.get_column("region").to_list() == ["KZ-63", "KZ-75"]
    assert c.get_column("settlement").to_list() == ["urban", "rural"]
    assert c.get_column("participated_consultation").to_list() == [True, True]


def test_utf8_bom_and_kazakh_yes_no():
    table = read_table((FILES / "survey_bom.csv").read_bytes(), "x.csv")
    assert table.encoding == "utf-8-sig" and table.frame.columns[1] == "respondent_id"
    v = validate("survey", table)
    assert v.ok
    assert v.clean.row(0, named=True)["participated_consultation"] is True
    assert v.clean.row(0, named=True)["submitted_proposal"] is False


def test_mixed_region_spellings_resolve_to_iso_codes():
    expected = (FILES / "survey_mixed_regions.expected").read_text().split()
    v = check("survey", "survey_mixed_regions.csv")
    assert v.ok
    assert v.clean.sort("_row").get_column("region").to_list() == expected


def test_unknown_region_names_the_value_and_suggests():
    v = check("survey", "survey_unknown_region.csv")
    assert errors_of(v) == [
        (1, "region", "unknown_region"),
        (2, "region", "unknown_region_no_hint"),
    ]
    assert "Pavlodarr" in v.errors.item(0, "message") and "KZ-55" in v.errors.item(0, "message")


def test_missing_required_column_is_a_file_error():
    v = check("survey", "survey_missing_column.csv")
    assert errors_of(v) == [(0, "region", "missing_column")]
    assert v.clean.is_empty()
    assert check("survey", "survey_missing_column.csv", wave="2025-10").error_count == 1


def test_out_of_range_values():
    v = check("survey", "survey_out_of_range.csv")
    found = set(errors_of(v))
    assert {
        (1, "age", "out_of_range"),
        (1, "weight", "not_positive"),
        (1, "trust_government", "out_of_range"),
        (1, "state_listens", "out_of_range"),
        (2, "age", "out_of_range"),
        (2, "weight", "not_positive"),
    } <= found
    assert v.clean.is_empty()


def test_duplicate_ids_within_the_file():
    v = check("survey", "survey_duplicate_ids.csv")
    assert errors_of(v) == [(3, "respondent_id", "duplicate_in_file")]
    assert "row 1" in v.errors.item(0, "message")
    assert v.clean.get_column("respondent_id").to_list() == ["A", "B"]


def test_bad_dates():
    v = check("survey", "survey_bad_date.csv")
    assert errors_of(v) == [(1, "interview_date", "bad_date"), (2, "interview_date", "bad_date")]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("empty.csv", "empty"),
        ("not_csv.csv", "PNG"),
        ("workbook.csv", "Excel"),
    ],
)
def test_files_that_are_not_tables(name, words):
    with pytest.raises(InputFileError, match=words):
        read_table((FILES / name).read_bytes(), name)


def test_header_only_file():
    v = check("survey", "header_only.csv")
    assert errors_of(v) == [(0, "", "no_rows")]


def test_formulas_html_and_sql_are_kept_as_inert_text():
    v = check("survey", "survey_inert_text.csv")
    assert v.ok
    assert v.clean.sort("_row").get_column("respondent_id").to_list() == [
        '=HYPERLINK("http://x","y")',
        "+cmd",
        "@SUM(1)",
        "<script>alert(1)</script>",
        "'; DROP TABLE responses; --",
    ]


def test_ngo_rules():
    good = check("ngo", "ngo_good.csv")
    assert good.ok
    assert good.clean.sort("_row").get_column("grants_kzt").to_list() == [412000000.5, None]
    bad = check("ngo", "ngo_active_over_registered.csv")
    assert errors_of(bad) == [
        (1, "active_ngos", "active_over_registered"),
        (2, "registered_ngos", "negative"),
        (3, "period", "bad_period"),
    ]


def test_proposal_rules():
    good = check("proposals", "proposals_good.csv")
    assert good.ok
    c = good.clean.sort("_row")
    assert c.get_column("source").to_list() == ["eotinish", "eotinish", "kurultai"]
    assert c.get_column("region").to_list() == ["KZ-63", None, "KZ-71"]
    assert c.get_column("topic").to_list() == ["education", "healthcare", "roads"]
    bad = check("proposals", "proposals_bad_dates.csv")
    assert errors_of(bad) == [
        (1, "answered_on", "date_before"),
        (2, "implemented_on", "implemented_on_required"),
        (3, "answered_on", "answered_on_required"),
        (4, "status", "bad_choice"),
        (5, "proposal_id", "duplicate_in_file"),
    ]


def test_the_same_file_uploaded_twice(engine):
    content = (FILES / "survey_good.csv").read_bytes()
    assert ingest_bytes(engine, "survey", content, "a.csv").status == "loaded"
    assert ingest_bytes(engine, "survey", content, "a.csv").status == "unchanged"


@pytest.mark.parametrize("kind", ["survey", "ngo", "proposals"])
def test_templates_are_valid_contract_files(kind):
    content = template_csv(kind)
    assert content.startswith(b"\xef\xbb\xbf")
    table = read_table(content, "template.csv")
    assert table.frame.columns[1:] == [c.name for c in contract_columns(kind)]
    assert validate(kind, table).ok
