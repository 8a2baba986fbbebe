"""Issue 13, finding 5: an upload's cost is bounded before rows are parsed (the header decides
missing columns; a row cap counted on the raw bytes), and finding 10 (part): columns named
``row`` or ``reason`` in the file do not break or overwrite the rejected-rows CSV."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from queries.errors import InputFileError
from queries.ingest import pipeline
from queries.ingest.pipeline import check_bytes, ingest_bytes
from queries.ingest.reading import HEAD_BYTES, read_header

FILES = Path(__file__).parent / "fixtures" / "upload"
GOOD_SURVEY = (FILES / "survey_good.csv").read_bytes()


def _no_row_parsing(monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("rows were parsed")

    monkeypatch.setattr(pipeline, "read_table", refuse)


def test_missing_columns_refused_from_the_header_alone(engine, monkeypatch):
    """A big file with one short column: refused for its missing columns, no row parsed."""
    content = b"x\n" + b"12345678\n" * 3_000_000  # 27 MB, 3 million rows
    _no_row_parsing(monkeypatch)
    report = check_bytes(engine, "survey", content, "one-column.csv")
    assert report.status == "rejected"
    codes = set(report.errors.get_column("code"))
    assert "missing_column" in codes
    assert set(report.errors.get_column("row")) == {0}
    loaded = ingest_bytes(engine, "survey", content, "one-column.csv", uploaded_by="t")
    assert loaded.status == "rejected" and loaded.rows_loaded == 0


def test_header_check_keeps_unknown_columns_for_mapping(engine, monkeypatch):
    """Staff can still map an unknown header onto the missing column after the early refusal."""
    header, rest = GOOD_SURVEY.split(b"\n", 1)
    renamed = header.replace(b"respondent_id", b"anketa_no", 1) + b"\n" + rest
    with monkeypatch.context() as patched:
        _no_row_parsing(patched)
        early = check_bytes(engine, "survey", renamed, "s.csv")
    assert "anketa_no" in early.validation.unknown_columns
    mapping = {"anketa_no": "respondent_id"}
    mapped = check_bytes(engine, "survey", renamed, "s.csv", header_map=mapping)
    assert mapped.status == "valid", mapped.errors
    assert mapped.rows_read > 0


def test_duplicate_header_refused_before_rows(engine, monkeypatch):
    header, rest = GOOD_SURVEY.split(b"\n", 1)
    twice = header.rstrip(b"\r") + b",region\n" + rest
    _no_row_parsing(monkeypatch)
    report = check_bytes(engine, "survey", twice, "dup.csv")
    assert report.status == "rejected"
    assert "twice" in report.message


def test_row_cap_refuses_before_parsing(engine, monkeypatch):
    header, first = GOOD_SURVEY.split(b"\n")[:2]
    monkeypatch.setenv("SENIM_MAX_UPLOAD_ROWS", "50")
    content = header + b"\n" + (first + b"\n") * 200
    report = check_bytes(engine, "survey", content, "many.csv")
    assert report.status == "rejected"
    assert "at most 50" in report.message
    monkeypatch.setenv("SENIM_MAX_UPLOAD_ROWS", "1000")
    assert check_bytes(engine, "survey", content, "many.csv").rows_read == 200


def test_header_reader_reads_only_the_start():
    padding = b"a,b\n" * 600_000  # 2.4 MB: past what the header reader looks at
    header = read_header(GOOD_SURVEY + padding + b"\x00" * 1_000, "tail.csv")
    assert header.frame.height == 0
    assert "respondent_id" in header.frame.columns
    with pytest.raises(InputFileError, match="line 1 is longer"):
        read_header(b"a" * (HEAD_BYTES + 10) + b"\n1\n", "wide.csv")


@pytest.mark.parametrize("extra", ["row", "reason", "_row"])
def test_rejected_rows_csv_with_row_or_reason_columns(engine, extra):
    """A file's own ``row``/``reason`` column is kept as data next to the real row number and
    reasons (it used to crash the CSV, or to replace the reasons)."""
    lines = GOOD_SURVEY.decode("utf-8-sig").splitlines()
    header = lines[0] + f",{extra}"
    rows = [line + ",mine" for line in lines[1:4]]
    rows[1] = rows[1].replace("public_trust_council", "nonsense_source", 1)
    content = ("\n".join([header, *rows]) + "\n").encode()
    report = ingest_bytes(engine, "survey", content, "extra.csv", keep_valid=True, uploaded_by="t")
    assert report.status == "partial", report.message
    frame = pl.read_csv(io.BytesIO(report.rejected_csv()), infer_schema=False)
    assert frame.height == 1
    first, second = frame.columns[:2]
    assert frame.get_column(first).to_list() == ["2"]  # the data row that was rejected
    assert "source" in frame.get_column(second).item()  # the real reason, not the file's column
    assert "mine" in frame.row(0)  # the file's own column is still there, as data
