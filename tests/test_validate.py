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

from queries.contract import canonical_header, contract_columns, template_csv
from queries.csvfile import read_table
from queries.messages import MAX_REPORTED_ERRORS, TEMPLATES
from queries.validate import ERROR_SCHEMA, validate

FILES = Path(__file__).parent / "fixtures" / "upload"
CATALOGUE = Path(__file__).parents[1] / "dashboard" / "i18n" / "validation.toml"


def check(kind: str, name: str, **options):
    return validate(kind, read_table((FILES / name).read_bytes(), name), **options)


def problems(validation) -> list[tuple]:
    return [(r["row"], r["column"], r["code"]) for r in validation.errors.iter_rows(named=True)]


def test_clean_survey_columns_and_dtypes_are_the_documented_ones():
    v = check("survey", "survey_good.csv")
    assert v.ok and v.errors.schema == ERROR_SCHEMA
    assert dict(v.clean.schema) == {
        "_row": pl.Int64,
        "respondent_id": pl.String,
        "source": pl.String,
        "wave": pl.String,
        "period_start": pl.Date,
        "interview_date": pl.Date,
        "region_code": pl.String,
        "settlement": pl.String,
        "sex": pl.String,
        "age": pl.Int16,
        "weight": pl.Float64,
        "state_listens": pl.Int8,
        "participated_consultation": pl.Boolean,
        "submitted_proposal": pl.Boolean,
        "received_response": pl.Boolean,
        "response_satisfaction": pl.Int8,
        "ngo_involvement": pl.Boolean,
        "trust_government": pl.Int8,
        "trust_police": pl.Int8,
    }


def test_clean_ngo_and_proposals_columns():
    ngo = check("ngo", "ngo_cp1251_semicolon.csv")
    assert ngo.ok, ngo.errors
    assert ngo.clean.columns == [
        "_row",
        "region_code",
        "period",
        "registered_ngos",
        "active_ngos",
        "grants_count",
        "grants_kzt",
        "volunteers",
        "beneficiaries",
    ]
    assert ngo.clean.row(0) == (1, "KZ-63", "2024", 1200, 900, None, 1500000.75, 300, None)
    assert ngo.clean.get_column("region_code").to_list() == ["KZ-63", "KZ-79"]
    props = check("proposals", "proposals_good.csv")
    assert dict(props.clean.schema) == {
        "_row": pl.Int64,
        "proposal_id": pl.String,
        "source": pl.String,
        "region_code": pl.String,
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
    assert row["region_code"] == "KZ-19" and row["sex"] == "female" and row["age"] == 45
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
    assert v.clean.get_column("region_code").to_list() == ["KZ-71", "KZ-71"]


def test_ngo_value_rules_and_duplicates():
    v = check("ngo", "ngo_bad_values.csv")
    assert problems(v) == [
        (1, "registered_ngos", "bad_integer"),
        (1, "grants_count", "bad_integer"),
        (1, "volunteers", "negative"),
        (1, "grants_kzt", "negative"),
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
    assert c.get_column("region_code").to_list() == ["KZ-75", None, "KZ-33"]
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
    assert all(c.name and c.type and c.description for c in columns)
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
