"""The contract is the one description of each upload kind: the tables, the store's keys, the
dataset's selects, the templates, the documentation and the translations follow it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from queries.contract import CONTRACTS, LABELS, Storage, contract, docs, template_csv
from queries.contract.model import label_name
from queries.metrics.dataset import ANALYSED
from queries.schema.base import metadata
from queries.vocab import UploadKind

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "data-contract.md"
TABLES = metadata.tables


@pytest.mark.parametrize("kind", list(UploadKind))
def test_each_stored_column_is_a_table_column_of_the_contracts_type(kind):
    spec = contract(kind)
    table = TABLES[spec.table]
    for name in spec.stored:
        column = spec.column(name)
        assert name in table.c, name
        assert type(table.c[name].type) is type(column.sql), name
        assert table.c[name].nullable == (not column.required and column.default is None), name
    # the contract's trust items are columns too (migration 0010), nullable, of their type
    items = [c for c in spec.columns if c.storage is Storage.LONG]
    for item in items:
        assert type(table.c[item.name].type) is type(item.sql) and table.c[item.name].nullable
    # and nothing else in the table but the bookkeeping columns
    stored = {*spec.stored, *(c.name for c in items)}
    assert set(table.c.keys()) - stored <= {"id", "upload_id", "wave_id"}


def test_natural_keys_and_unique_constraints_agree():
    for spec in (contract("ngo"), contract("proposals"), contract("population")):
        unique = [c for c in TABLES[spec.table].constraints if c.name and c.name.startswith("uq_")]
        assert [tuple(col.name for col in u.columns) for u in unique] == [spec.key]
    assert contract("survey").key == ("respondent_id", "source", "wave")


def test_the_dataset_reads_every_stored_survey_answer():
    stored = set(contract("survey").stored) - {"respondent_id", "interview_date"}
    assert {c.name for c in ANALYSED} == stored


@pytest.mark.parametrize("kind", list(UploadKind))
def test_templates_carry_every_column_and_read_back(kind):
    text = template_csv(kind).decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert header == [c.name for c in contract(kind).columns]
    frame = pl.read_csv(template_csv(kind))
    assert frame.height == 1


def test_every_column_has_a_name_in_three_languages():
    for spec in CONTRACTS.values():
        for column in spec.columns:
            label = LABELS[label_name(column.name)]
            assert set(label) == {"kk", "ru", "en"} and all(label.values()), column.name


def test_trust_items_are_apart_from_the_rest_of_the_row():
    # the contract's items are their own columns of responses (migration 0010), any other
    # trust_<word> of a file long rows of trust_scores; neither is a plain stored answer
    survey = contract("survey")
    long = [c.name for c in survey.columns if c.storage is Storage.LONG]
    assert long and all(name.startswith("trust_") for name in long)
    assert not set(long) & set(survey.stored)
    assert set(long) <= set(TABLES["responses"].c.keys())


def test_the_documented_column_tables_are_the_contracts():
    text = DOC.read_text(encoding="utf-8")
    assert docs.render(text) == text, "run: python -m queries contract-docs"
    for spec in CONTRACTS.values():
        assert f"<!-- contract:{spec.kind} -->" in text


def test_contract_docs_command_finds_and_mends_a_stale_document(tmp_path):
    stale = tmp_path / "contract.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace("| weight |", "| wieght |"))
    run = [sys.executable, "-m", "queries", "contract-docs", "--file", str(stale)]
    check = subprocess.run([*run, "--check"], capture_output=True, text=True, cwd=ROOT)
    assert check.returncode == 1 and "out of date" in check.stdout
    assert subprocess.run(run, capture_output=True, text=True, cwd=ROOT).returncode == 0
    assert stale.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
