"""Validation against the data contract (queries/validate.py, contract.py, messages.py): each
rule on a real file in tests/fixtures/upload/, the clean frame's documented columns, and the
error table's shape, cap and translations."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path

import polars as pl
import pytest

from queries.contract import canonical_header, contract, contract_columns, template_csv
from queries.ingest.messages import MAX_REPORTED_ERRORS, TEMPLATES
from queries.ingest.reading import read_table
from queries.ingest.validate import ERROR_SCHEMA, validate

FILES = Path(__file__).parent / "fixtures" / "upload"
CATALOGUE = Path(__file__).parents[1] / "dashboard" / "i18n" / "validation.toml"


def check(kind: str, name: str, **options):
    return validate(kind, read_table((FILES / name).read_bytes(), name), **options)


def problems(validation) -> list[tuple]:
    return [(r["row"], r["column"], r["code"]) for r in validation.errors.iter_rows(named=True)]


def test_clean_survey_columns_and_dtypes_are_the_documented_ones():
    v = check("survey", "survey_good.csv")
    assert v.ok and v.errors.schema == ERROR_SCHEMA
    # exactly the contract's clean columns, in its order, trust items last
    assert v.clean.schema == contract("survey").clean_schema(("trust_government", "trust_police"))
    # and the types the store and the metrics rely on
    expected = {
        "_row": pl.Int64,
        "period_start": pl.Date,
        "interview_date": pl.Date,
        "age": pl.Int16,
        "weight": pl.Float64,
        "state_listens": pl.Int8,
        "trust_police": pl.Int8,
        "received_response": pl.Boolean,
        "region": pl.String,
    }
    assert {k: v.clean.schema[k] for k in expected} == expected  # fmt: skip


def test_clean_ngo_and_proposals_columns():
    ngo = check("ngo", "ngo_cp1251_semicolon.csv")
    assert ngo.ok, ngo.errors
    assert ngo.clean.columns == [
        "_row",
        "region",
        "period",
        "registered_ngos",
        "active_ngos",
        "grants_count",
        "grants_kzt",
        "volunteers",
        "beneficiaries",
    ]
    assert ngo.clean.row(0) == (1, "KZ-63", "2024", 1200, 900, None, 1500000.75, 300, None)
    assert ngo.clean.get_column("region").to_list() == ["KZ-63", "KZ-79"]
    props = check("proposals", "proposals_good.csv")
    assert dict(props.clean.schema) == {
        "_row": pl.Int64,
        "proposal_id": pl.String,
        "source": pl.String,
        "region": pl.String,
        "topic": pl.String,
        "submitted_on": pl.Date,
        "status": pl.String,
        "answered_on": pl.Date,
        "implemented_on": pl.Date,
    }


def test_missing_codes_are_missing_never_zero():
    v = check("survey", "survey_missing_codes.csv")
    assert v.ok
    c = v.clean.sort("_row")
    for name in ("trust_government", "trust_media", "state_listens"):
        assert c.get_column(name).head(3).to_list() == [None, None, None], name
    assert c.get_column("response_satisfaction").to_list() == [None, None, 0, 7]
    assert c.row(3, named=True)["trust_government"] == 0  # a real zero stays zero


def test_received_response_only_after_a_proposal():
    v = check("survey", "survey_cross_field.csv")
    assert problems(v) == [
        (2, "received_response", "received_without_proposal"),
        (3, "received_response", "received_without_proposal"),
    ]
    assert v.clean.get_column("respondent_id").to_list() == ["X1", "X4"]


def test_header_synonyms_in_russian_and_loose_english():
    v = check("survey", "survey_header_synonyms.csv")
    assert v.ok, v.errors
    row = v.clean.row(0, named=True)
    assert row["respondent_id"] == "S1" and row["source"] == "kurultai"
    assert row["wave"] == "2025-Q3" and row["period_start"] == dt.date(2025, 7, 1)
    assert row["region"] == "KZ-19" and row["sex"] == "female" and row["age"] == 45
    assert row["weight"] == 1.5 and row["trust_police"] == 6 and row["submitted_proposal"]
    assert v.clean.row(1, named=True)["interview_date"] == dt.date(2025, 10, 9)


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Respondent ID", "respondent_id"),
        ("respondent-id", "respondent_id"),
        ("TRUST  Government", "trust_government"),
        ("trust_science", "trust_science"),
        ("trust_<script>", None),
        ("trust_", None),
        ("регион", "region"),
        ("комментарий", None),
    ],
)
def test_canonical_headers(header, column):
    assert canonical_header("survey", header) == column


def test_header_map_for_headers_the_contract_does_not_know():
    content = "Анкета №;Откуда;Доверие правительству\n1;Астана;7\n".encode("cp1251")
    table = read_table(content, "own.csv")
    mapping = {
        "анкета №": "respondent_id",
        "откуда": "region",
        "доверие правительству": "trust_government",
    }
    v = validate("survey", table, source="kurultai", wave="2025-10", header_map=mapping)
    assert v.ok, v.errors
    assert v.clean.row(0, named=True)["trust_government"] == 7
    bogus = validate(
        "survey", table, source="kurultai", wave="2025-10", header_map={"откуда": "nonsense"}
    )
    assert "откуда" in bogus.unknown_columns
    assert (0, "region", "missing_column") in problems(bogus)


def test_source_and_wave_for_the_whole_file():
    assert problems(check("survey", "survey_no_source_wave.csv")) == [
        (0, "source", "missing_column"),
        (0, "wave", "missing_column"),
    ]
    v = check("survey", "survey_no_source_wave.csv", source="Курултай", wave="2025-q4")
    assert v.ok
    assert v.clean.get_column("source").to_list() == ["kurultai", "kurultai"]
    assert v.clean.get_column("wave").to_list() == ["2025-Q4", "2025-Q4"]
    assert v.clean.get_column("period_start").to_list() == [dt.date(2025, 10, 1)] * 2
    bad = check("survey", "survey_no_source_wave.csv", source="tv", wave="Q4")
    assert (0, "source", "bad_choice") in problems(bad) and (0, "wave", "bad_wave") in problems(bad)
    assert bad.clean.is_empty() and "period_start" in bad.clean.columns


def test_a_cell_that_contradicts_the_whole_file_value_is_an_error():
    v = check("survey", "survey_source_conflict.csv", source="kurultai", wave="2025-10")
    assert problems(v) == [(3, "source", "conflict"), (3, "wave", "conflict")]
    assert v.clean.get_column("respondent_id").to_list() == ["K1", "K2"]  # blank cells filled
    assert "public_trust_council" in v.errors.item(0, "message")


def test_bad_values_one_error_per_problem():
    v = check("survey", "survey_bad_values.csv")
    assert problems(v) == [
        (1, "settlement", "bad_choice"),
        (1, "sex", "bad_choice"),
        (1, "age", "bad_integer"),
        (1, "weight", "bad_number"),
        (1, "trust_government", "bad_score"),
        (1, "participated_consultation", "bad_yes_no"),
        (2, "source", "bad_choice"),
        (2, "wave", "bad_wave"),
        (2, "age", "bad_integer"),
        (3, "region", "missing_value"),
        (4, "respondent_id", "missing_value"),
    ]
    first = v.errors.row(0, named=True)
    assert first["value"] == "town" and "rural, urban" in first["message"]
    assert json.loads(first["params"])["allowed"] == "rural, urban"


def test_unknown_region_keeps_the_files_row_number_after_blank_rows():
    v = check("survey", "survey_blank_rows.csv")
    assert problems(v) == [(4, "region", "unknown_region_no_hint")]
    assert v.clean.get_column("region").to_list() == ["KZ-71", "KZ-71"]


def test_ngo_value_rules_and_duplicates():
    v = check("ngo", "ngo_bad_values.csv")
    assert problems(v) == [
        (1, "registered_ngos", "bad_integer"),
        (1, "grants_count", "bad_integer"),
        (1, "grants_kzt", "negative"),
        (1, "volunteers", "negative"),
        (2, "period", "bad_period"),
        (3, "period", "missing_value"),
        (3, "registered_ngos", "missing_value"),
        (5, "region", "duplicate_in_file"),
    ]
    assert "row 4" in v.errors.item(7, "message")


def test_proposals_in_russian_and_kazakh_vocabularies():
    v = check("proposals", "proposals_statuses.csv")
    assert problems(v) == [(4, "region", "unknown_region_no_hint")]
    c = v.clean.sort("_row")
    assert c.get_column("source").to_list() == ["eotinish", "kurultai", "other"]
    assert c.get_column("status").to_list() == ["in_review", "implemented", "rejected"]
    assert c.get_column("region").to_list() == ["KZ-75", None, "KZ-33"]
    assert c.get_column("topic").to_list() == ["образование", "денсаулық", "roads"]


def test_errors_are_capped_but_all_counted_and_long_values_shortened():
    rows = "\n".join(f"R{i},kurultai,2025-10,{'Ж' * 500},11" for i in range(12_000))
    content = f"respondent_id,source,wave,region,trust_government\n{rows}\n".encode()
    v = validate("survey", read_table(content, "many.csv"))
    assert v.error_count == 24_000 and v.errors.height == MAX_REPORTED_ERRORS
    assert v.rows_read == 12_000 and v.clean.is_empty()
    region = v.errors.filter(pl.col("column") == "region").row(0, named=True)
    assert len(region["value"]) == 200 and region["value"].endswith("…")


def test_formula_markup_and_sql_are_inert_text():
    v = check("survey", "survey_inert_text.csv")
    assert v.ok
    assert "+cmd" in v.clean.get_column("respondent_id").to_list()


def test_unknown_kind_is_a_programming_error():
    table = read_table(b"region\nKZ-75\n", "x.csv")
    with pytest.raises(ValueError, match="unknown upload kind"):
        validate("budget", table)
    with pytest.raises(ValueError, match="unknown upload kind"):
        contract_columns("budget")


@pytest.mark.parametrize("kind", ["survey", "ngo", "proposals"])
def test_contract_columns_and_templates(kind):
    columns = contract_columns(kind)
    assert all(c.name and c.parser and c.description for c in columns)
    required = {c.name for c in columns if c.required}
    assert {
        "survey": {"respondent_id", "source", "wave", "region"},
        "ngo": {"region", "period", "registered_ngos"},
        "proposals": {"proposal_id", "source", "topic", "submitted_on", "status"},
    }[kind] == required
    content = template_csv(kind)
    assert content.startswith(b"\xef\xbb\xbf") and content.count(b"\r\n") == 2
    v = validate(kind, read_table(content, f"{kind}.csv"))
    assert v.ok and v.clean.height == 1


def test_every_message_code_has_a_template_and_three_translations():
    catalogue = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))["validation"]
    assert set(TEMPLATES) <= set(catalogue)
    for code, template in TEMPLATES.items():
        placeholders = set(re.findall(r"{(\w+)}", template))
        for lang in ("kk", "ru", "en"):
            text = catalogue[code][lang]
            assert text.strip(), (code, lang)
            assert set(re.findall(r"{(\w+)}", text)) <= placeholders | {
                "value",
                "column",
            }
        assert catalogue[code]["kk"] != catalogue[code]["ru"] != catalogue[code]["en"], code


# --- the upload fixtures, value by value -----------------------------------------------------


def column(validation, name: str) -> list:
    return validation.clean.sort("_row").get_column(name).to_list()


def test_good_survey_every_type_parsed():
    v = check("survey", "survey_good.csv")
    assert v.ok and v.rows_read == 3 and v.clean.height == 3
    assert column(v, "interview_date") == [dt.date(2025, 8, 14)] * 3  # ISO, d.m.Y and d/m/Y
    assert column(v, "period_start") == [dt.date(2025, 7, 1)] * 3  # wave 2025-Q3
    assert column(v, "region") == ["KZ-75", "KZ-71", "KZ-79"]
    assert column(v, "settlement") == ["urban", "rural", None]
    assert column(v, "sex") == ["female", "male", None]
    assert column(v, "age") == [34, 61, None]
    assert column(v, "weight") == [1.2, 0.8, 1.0]  # blank weight -> 1
    assert column(v, "trust_government") == [7, None, 10]  # DK -> null, never 0
    assert column(v, "trust_police") == [5, 4, 0]  # a real 0 stays 0
    assert column(v, "state_listens") == [6, None, None]  # 99 and "не знаю" -> null
    assert column(v, "participated_consultation") == [True, False, None]
    assert column(v, "submitted_proposal") == [True, False, None]
    assert column(v, "received_response") == [True, None, None]
    assert column(v, "response_satisfaction") == [8, None, None]
    assert column(v, "ngo_involvement") == [False, True, None]


def test_windows_1251_survey_with_semicolons_and_decimal_comma_weights():
    v = check("survey", "survey_cp1251_semicolon.csv")
    assert v.ok, v.errors
    assert column(v, "weight") == [1.25, 0.75]
    assert column(v, "source") == ["kurultai", "kurultai"]  # "Национальный курултай"
    assert column(v, "interview_date") == [dt.date(2025, 10, 15)] * 2
    assert column(v, "region") == ["KZ-63", "KZ-75"]  # "Восточно-...обл.", "г. Алматы"
    assert column(v, "settlement") == ["urban", "rural"]  # город / село
    assert column(v, "sex") == ["female", "male"]  # ж / м
    assert column(v, "state_listens") == [7, None]  # "не знаю" -> null
    assert column(v, "participated_consultation") == [True, True]  # да
    assert column(v, "submitted_proposal") == [True, False]  # да / нет
    assert column(v, "received_response") == [False, None]


def test_utf8_bom_survey_with_kazakh_yes_no():
    v = check("survey", "survey_bom.csv")
    assert v.ok
    row = v.clean.row(0, named=True)
    assert row["respondent_id"] == "PTC-9"  # the BOM is not part of the first header
    assert row["participated_consultation"] is True  # иә
    assert row["submitted_proposal"] is False and row["ngo_involvement"] is False  # жоқ
    assert row["region"] == "KZ-79"


def test_mixed_region_spellings_each_row():
    expected = (FILES / "survey_mixed_regions.expected").read_text().split()
    v = check("survey", "survey_mixed_regions.csv")
    assert v.ok, v.errors
    assert len(expected) == v.rows_read == 26
    assert column(v, "region") == expected
    raw = read_table((FILES / "survey_mixed_regions.csv").read_bytes(), "m.csv").frame
    by_spelling = dict(zip(raw.get_column("region").to_list(), expected, strict=True))
    assert by_spelling["ВКО"] == "KZ-63" and by_spelling["ЮКО"] == "KZ-61"
    assert by_spelling["Нур-Султан"] == "KZ-71" and by_spelling["г. Алматы"] == "KZ-75"
    assert by_spelling["Aqtöbe oblysy"] == "KZ-15" and by_spelling["KZ-62"] == "KZ-62"
    assert by_spelling["75"] == "KZ-75" and by_spelling["791010000"] == "KZ-79"  # KATO


def test_missing_required_column_is_one_file_error_naming_what_was_found():
    v = check("survey", "survey_missing_column.csv")
    assert problems(v) == [(0, "region", "missing_column")]
    assert v.errors.item(0, "message") == (
        "Required column 'region' is missing "
        "(columns found: respondent_id, source, wave, trust_government)."
    )
    assert v.rows_read == 1 and v.clean.is_empty() and not v.ok
    assert v.clean.columns[:3] == ["_row", "respondent_id", "source"]


def test_out_of_range_values_with_their_bounds():
    v = check("survey", "survey_out_of_range.csv")
    assert problems(v) == [
        (1, "age", "out_of_range"),
        (1, "weight", "not_positive"),
        (1, "trust_government", "out_of_range"),
        (1, "state_listens", "out_of_range"),
        (2, "age", "out_of_range"),
        (2, "weight", "not_positive"),
    ]
    assert v.errors.get_column("value").to_list() == ["15", "0", "11", "-3", "111", "-1"]
    assert json.loads(v.errors.item(0, "params"))["low"] == 16
    assert json.loads(v.errors.item(3, "params"))["high"] == 10
    assert v.errors.item(4, "message") == "111 is outside the allowed range 16-110."
    assert v.clean.is_empty() and v.error_count == 6


def test_duplicate_respondent_ids_name_the_first_row():
    v = check("survey", "survey_duplicate_ids.csv")
    assert problems(v) == [(3, "respondent_id", "duplicate_in_file")]
    assert v.errors.item(0, "message") == "Duplicate of data row 1 (A / kurultai / 2025-10)."
    assert column(v, "respondent_id") == ["A", "B"]  # the first "A" is kept


def test_the_same_respondent_id_in_two_waves_is_not_a_duplicate():
    content = (
        b"respondent_id,source,wave,region,trust_government\n"
        b"A,kurultai,2025-10,KZ-75,5\nA,kurultai,2025-Q3,KZ-75,5\n"
        b"A,public_trust_council,2025-10,KZ-75,5\n"
    )
    assert validate("survey", read_table(content, "w.csv")).ok
    # With the wave chosen for the whole file, blank cells take it: now a real duplicate.
    blank = b"respondent_id,source,wave,region,trust_government\nA,kurultai,,75,5\nA,,,71,5\n"
    v = validate("survey", read_table(blank, "w.csv"), source="kurultai", wave="2025-10")
    assert problems(v) == [(2, "respondent_id", "duplicate_in_file")]


def test_bad_dates_are_row_errors_with_the_value():
    v = check("survey", "survey_bad_date.csv")
    assert problems(v) == [(1, "interview_date", "bad_date"), (2, "interview_date", "bad_date")]
    assert v.errors.get_column("value").to_list() == ["31.02.2025", "yesterday"]
    assert v.clean.is_empty()


def test_header_only_file_has_no_rows():
    v = check("survey", "header_only.csv")
    assert problems(v) == [(0, "", "no_rows")]
    assert v.errors.item(0, "message") == "The file has a header but no data rows."
    assert v.rows_read == 0 and v.clean.is_empty() and not v.ok


def test_good_ngo_file_with_decimal_comma():
    v = check("ngo", "ngo_good.csv")
    assert v.ok
    assert v.clean.sort("_row").rows() == [
        (1, "KZ-10", "2025", 1520, 910, 85, 412000000.5, 5400, 48000),
        (2, "KZ-75", "2025-Q3", 4100, 2600, None, None, None, None),
    ]


def test_ngo_active_over_registered_negative_and_bad_period():
    v = check("ngo", "ngo_active_over_registered.csv")
    assert problems(v) == [
        (1, "active_ngos", "active_over_registered"),
        (2, "registered_ngos", "negative"),
        (3, "period", "bad_period"),
    ]
    assert v.errors.item(0, "message") == "active_ngos (120) is more than registered_ngos (100)."
    assert v.clean.is_empty()


def test_good_proposals_dates_and_vocabularies():
    v = check("proposals", "proposals_good.csv")
    assert v.ok
    assert v.clean.sort("_row").rows() == [
        (1, "EO-1", "eotinish", "KZ-63", "education", dt.date(2025, 3, 2), "answered",
         dt.date(2025, 3, 20), None),
        (2, "EO-2", "eotinish", None, "healthcare", dt.date(2025, 3, 2), "implemented",
         dt.date(2025, 3, 10), dt.date(2025, 6, 1)),
        (3, "KU-1", "kurultai", "KZ-71", "roads", dt.date(2025, 3, 5), "received", None, None),
    ]  # fmt: skip


def test_proposals_date_order_and_required_dates():
    v = check("proposals", "proposals_bad_dates.csv")
    assert problems(v) == [
        (1, "answered_on", "date_before"),
        (2, "implemented_on", "implemented_on_required"),
        (3, "answered_on", "answered_on_required"),
        (4, "status", "bad_choice"),
        (5, "proposal_id", "duplicate_in_file"),
    ]
    messages = v.errors.get_column("message").to_list()
    assert messages[0] == "answered_on (2025-03-01) is before submitted_on (2025-03-10)."
    assert messages[2] == "answered_on is required when status is 'answered'."
    assert messages[4] == "Duplicate of data row 1 (P1 / eotinish)."
    assert v.clean.is_empty()


def test_implemented_before_answered_and_status_without_dates():
    content = (
        b"proposal_id,source,topic,submitted_on,status,answered_on,implemented_on\n"
        b"P1,eotinish,x,2025-03-10,implemented,2025-03-12,2025-03-11\n"
        b"P2,eotinish,x,2025-03-10,rejected,,\n"
        b"P3,eotinish,x,2025-03-10,received,,\n"
        b"P4,eotinish,x,2025-03-10,answered,10.03.2025,\n"  # same day is fine
    )
    v = validate("proposals", read_table(content, "p.csv"))
    assert problems(v) == [
        (1, "implemented_on", "date_before"),
        (2, "answered_on", "answered_on_required"),
    ]
    assert column(v, "proposal_id") == ["P3", "P4"]


# --- one cell at a time ------------------------------------------------------------------------

BASE = {
    "respondent_id": "R1",
    "source": "kurultai",
    "wave": "2025-10",
    "region": "KZ-75",
    "trust_government": "5",
}


def one_cell(name: str, cell: str, delimiter: str = ";"):
    """Validate a one-row survey file whose ``name`` column holds ``cell``."""
    row = {**BASE, name: cell}
    text = delimiter.join(row) + "\n" + delimiter.join(row.values()) + "\n"
    v = validate("survey", read_table(text.encode(), "one.csv"))
    codes = [(r["column"], r["code"]) for r in v.errors.iter_rows(named=True)]
    return codes, (v.clean.item(0, target(name)) if v.clean.height else None)


def target(name: str) -> str:
    return {"wave": "period_start"}.get(name, name)


@pytest.mark.parametrize(
    ("name", "cell", "value"),
    [
        ("weight", "1,5", 1.5),
        ("weight", "1.5", 1.5),
        ("weight", "2", 2.0),
        ("weight", "", 1.0),
        ("weight", "1 000,5", 1000.5),
        ("trust_government", "0", 0),
        ("trust_government", "10", 10),
        ("trust_government", "DK", None),
        ("trust_government", "dk", None),
        ("trust_government", "NA", None),
        ("trust_government", "-1", None),
        ("trust_government", "98", None),
        ("trust_government", "99", None),
        ("trust_government", "не знаю", None),
        ("trust_government", "Не знаю", None),
        ("trust_government", "білмеймін", None),
        ("trust_government", "затрудняюсь ответить", None),
        ("trust_government", "", None),
        ("submitted_proposal", "да", True),
        ("submitted_proposal", "Да", True),
        ("submitted_proposal", "иә", True),
        ("submitted_proposal", "ИӘ", True),
        ("submitted_proposal", "yes", True),
        ("submitted_proposal", "Y", True),
        ("submitted_proposal", "1", True),
        ("submitted_proposal", "TRUE", True),
        ("submitted_proposal", "нет", False),
        ("submitted_proposal", "жоқ", False),
        ("submitted_proposal", "no", False),
        ("submitted_proposal", "0", False),
        ("submitted_proposal", "false", False),
        ("submitted_proposal", "", None),
        ("interview_date", "08.10.2025", dt.date(2025, 10, 8)),
        ("interview_date", "08/10/2025", dt.date(2025, 10, 8)),
        ("interview_date", "2025-10-08", dt.date(2025, 10, 8)),
        ("interview_date", "8.10.2025", dt.date(2025, 10, 8)),
        ("interview_date", "2025-10-08 14:30", dt.date(2025, 10, 8)),
        ("interview_date", "08.10.2025 14:30:59", dt.date(2025, 10, 8)),
        ("wave", "2025-Q3", dt.date(2025, 7, 1)),
        ("wave", "2025-q1", dt.date(2025, 1, 1)),
        ("wave", "2025-Q4", dt.date(2025, 10, 1)),
        ("wave", "2025-10", dt.date(2025, 10, 1)),
        ("wave", "2025", dt.date(2025, 1, 1)),
        ("age", "16", 16),
        ("age", "110", 110),
        ("age", "30.0", 30),
        ("sex", "Ж", "female"),
        ("sex", "ер", "male"),
        ("settlement", "ауыл", "rural"),
        ("settlement", "Город", "urban"),
        ("source", "Құрылтай", "kurultai"),
        ("source", "Совет общественного доверия", "public_trust_council"),
        ("region", "г. Алматы", "KZ-75"),
        ("region", "Алматы облысы", "KZ-19"),
    ],
)
def test_a_cell_is_parsed(name, cell, value):
    codes, parsed = one_cell(name, cell)
    assert codes == []
    assert parsed == value
    assert type(parsed) is type(value)  # 0 is int 0, not False; None is None


@pytest.mark.parametrize(
    ("name", "cell", "code"),
    [
        ("weight", "0", "not_positive"),
        ("weight", "-0,5", "not_positive"),
        ("weight", "heavy", "bad_number"),
        ("weight", "NaN", "bad_number"),
        ("weight", "inf", "bad_number"),
        ("weight", "Infinity", "bad_number"),
        ("weight", "1e400", "bad_number"),
        ("trust_government", "11", "out_of_range"),
        ("trust_government", "-2", "out_of_range"),
        ("trust_government", "5.5", "bad_score"),
        ("trust_government", "very", "bad_score"),
        ("submitted_proposal", "maybe", "bad_yes_no"),
        ("submitted_proposal", "2", "bad_yes_no"),
        ("interview_date", "31.02.2025", "bad_date"),
        ("interview_date", "10/31/2025", "bad_date"),  # month first is not accepted
        ("interview_date", "08.10.25", "bad_date"),
        ("interview_date", "01.01.1899", "bad_date"),
        ("interview_date", "yesterday", "bad_date"),
        ("wave", "2025-Q5", "bad_wave"),
        ("wave", "2025-13", "bad_wave"),
        ("wave", "Q3", "bad_wave"),
        ("age", "15", "out_of_range"),
        ("age", "111", "out_of_range"),
        ("age", "30,5", "bad_integer"),
        ("age", "40000", "out_of_range"),
        ("age", "-40000", "out_of_range"),
        ("age", "99999999999999", "out_of_range"),
        ("sex", "x", "bad_choice"),
        ("source", "telegram", "bad_choice"),
        ("region", "Атлантида", "unknown_region_no_hint"),
        ("region", "Pavlodarr", "unknown_region"),
        ("region", "", "missing_value"),
        ("respondent_id", "", "missing_value"),
    ],
)
def test_a_bad_cell_is_one_error_and_no_clean_row(name, cell, code):
    codes, parsed = one_cell(name, cell)
    assert codes == [(name, code)]
    assert parsed is None  # the row is not in the clean frame


def test_a_decimal_comma_is_not_a_decimal_in_a_comma_delimited_file():
    codes, _ = one_cell("weight", '"1,5"', delimiter=",")
    assert codes == [("weight", "bad_number")]


def test_grants_in_tenge_must_be_finite():
    content = b"region;period;registered_ngos;grants_kzt\nKZ-75;2025;1;inf\nKZ-71;2025;1;1,5\n"
    v = validate("ngo", read_table(content, "n.csv"))
    assert problems(v) == [(1, "grants_kzt", "bad_number")]
    assert column(v, "grants_kzt") == [1.5]
