"""Hostile uploads at the reader and validation level: every file that is not a sane table is
refused with InputFileError and a message naming the problem (with its size, line or column
count); formulas, markup and SQL in text fields are plain data, kept character for character."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from queries.errors import InputFileError
from queries.ingest.reading import MAX_COLUMNS, MAX_LINE_BYTES, read_table
from queries.ingest.validate import validate

FILES = Path(__file__).parent / "fixtures" / "upload"
LIMIT = 1_000_000
GOOD_SURVEY = (FILES / "survey_good.csv").read_bytes()
FORMULA = '=HYPERLINK("http://x","y")'
SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE responses; --"


def refusal(content: bytes, name: str = "upload.csv", **options) -> str:
    """The message of the InputFileError that reading ``content`` must raise."""
    with pytest.raises(InputFileError) as error:
        read_table(content, name, **options)
    message = str(error.value)
    assert message.startswith(f"{name}: "), message  # names the file the user chose
    return message


def zip_bomb(megabytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("data.csv", b"0" * (megabytes * 1_000_000))
    return buffer.getvalue()


# --- files that are not tables ------------------------------------------------------------


def test_a_file_ten_times_the_limit_is_refused_with_both_sizes():
    content = GOOD_SURVEY + b"x" * (10 * LIMIT - len(GOOD_SURVEY))
    assert len(content) == 10 * LIMIT
    message = refusal(content, "big.csv", max_bytes=LIMIT)
    assert message == "big.csv: the file is 10.0 MB; the limit is 1 MB."


def test_the_size_limit_is_checked_before_the_content():
    # A huge file full of NUL bytes is refused for its size, never scanned for NULs.
    message = refusal(b"\x00" * (10 * LIMIT), max_bytes=LIMIT)
    assert "the limit is 1 MB" in message and "NUL" not in message


def test_a_file_exactly_at_the_limit_is_read():
    padding = b"\n" * (LIMIT - len(GOOD_SURVEY))  # blank lines: still a 3-row table
    table = read_table(GOOD_SURVEY + padding, "edge.csv", max_bytes=LIMIT)
    assert table.frame.height == 3
    assert "limit" in refusal(GOOD_SURVEY + padding + b"\n", max_bytes=LIMIT)


def test_the_zip_bomb_fixture_is_refused_as_an_archive():
    content = (FILES / "archive.csv").read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:  # headers only: it is a real bomb
        (entry,) = archive.infolist()
    assert entry.file_size >= 900 * len(content)  # 20 MB of zeros in ~20 KB
    message = refusal(content, "archive.csv")
    assert message == (
        "archive.csv: this is a ZIP archive or an Excel .xlsx workbook; save it as CSV first."
    )


def test_a_50_mb_zip_bomb_renamed_csv_is_refused_without_being_unpacked():
    content = zip_bomb(50)
    assert len(content) < 200_000  # 50 MB of zeros in well under 200 KB
    message = refusal(content, "survey.csv", max_bytes=LIMIT)
    assert "ZIP archive" in message and "save it as CSV first" in message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_garbage_is_refused_as_binary(seed):
    content = random.Random(seed).randbytes(4096)
    message = refusal(content)
    assert "binary file" in message or "control character" in message or "neither" in message


def test_the_garbage_fixture_names_the_first_nul_line():
    content = (FILES / "garbage.csv").read_bytes()
    expected_line = content.count(b"\n", 0, content.index(b"\x00")) + 1
    message = refusal(content, "garbage.csv")
    assert f"contains NUL bytes (first on line {expected_line})" in message
    assert "this is a binary file, not CSV text" in message


def test_binary_garbage_without_nul_bytes_is_refused_for_its_control_characters():
    content = b"region,period\nKZ-75,2025\n" + bytes(range(1, 32)) * 10
    message = refusal(content)
    assert "control character U+0001 on line 3" in message


def test_ten_thousand_columns_are_refused_with_the_count():
    content = (",".join(f"c{i}" for i in range(10_000)) + "\n" + "1," * 9_999 + "1\n").encode()
    message = refusal(content, "wide.csv")
    assert message == (
        f"wide.csv: the header has 10,000 columns; at most {MAX_COLUMNS} are allowed."
    )


def test_a_5_mb_line_is_refused_naming_the_line_and_its_length():
    content = b"respondent_id,region\n1," + b"a" * 5_000_000 + b"\n"
    message = refusal(content, "long.csv", max_bytes=10 * LIMIT)
    assert "line 2 is 5,000,002 bytes long" in message
    assert f"at most {MAX_LINE_BYTES:,} bytes" in message


def test_a_5_mb_line_without_any_newline_is_line_1():
    message = refusal(b"a" * 5_000_000)
    assert "line 1 is 5,000,000 bytes long" in message


def test_nul_bytes_are_refused_naming_the_line():
    message = refusal((FILES / "survey_nul_bytes.csv").read_bytes(), "survey_nul_bytes.csv")
    assert "contains NUL bytes (first on line 2)" in message
    message = refusal(b"respondent_id,region\n1,Almaty\n2,Astana\n3,Alm\x00aty\n")
    assert "first on line 4" in message


def test_mixed_utf8_and_cp1251_lines_are_refused_naming_the_first_cp1251_line():
    message = refusal(
        (FILES / "survey_mixed_encodings.csv").read_bytes(), "survey_mixed_encodings.csv"
    )
    assert "mixed text encodings" in message
    assert "line 3 is not (probably Windows-1251)" in message
    # The other way round: cp1251 rows first, then rows pasted from a UTF-8 file.
    content = "region\nАлматы\n".encode("cp1251") + "Астана\nШымкент\n".encode()
    assert "line 2 is not" in refusal(content)


def test_a_utf8_bom_followed_by_cp1251_text_is_mixed():
    content = b"\xef\xbb\xbf" + "region\nАлматы\n".encode("cp1251")
    assert "mixed text encodings" in refusal(content)


# --- hostile text inside a well-formed table ------------------------------------------------


def test_formulas_markup_and_sql_in_respondent_id_are_kept_exactly():
    table = read_table((FILES / "survey_inert_text.csv").read_bytes(), "survey_inert_text.csv")
    assert table.frame.get_column("respondent_id").to_list() == [
        FORMULA,
        "+cmd",
        "@SUM(1)",
        SCRIPT,
        SQL,
    ]
    v = validate("survey", table)
    assert v.ok and v.error_count == 0
    clean = v.clean.sort("_row")
    assert clean.get_column("_row").to_list() == [1, 2, 3, 4, 5]
    assert clean.get_column("respondent_id").to_list() == [FORMULA, "+cmd", "@SUM(1)", SCRIPT, SQL]
    assert clean.get_column("region").to_list() == ["KZ-75"] * 5


def test_formulas_markup_and_sql_in_proposal_id_and_topic_are_inert():
    v = validate(
        "proposals",
        read_table((FILES / "proposals_inert_text.csv").read_bytes(), "proposals_inert_text.csv"),
    )
    assert v.ok, v.errors
    payloads = [FORMULA, "+cmd", "@SUM(1)", SCRIPT, SQL, "-2+3"]
    clean = v.clean.sort("_row")
    assert clean.get_column("proposal_id").to_list() == payloads
    # topic is a category, folded to lower case on purpose (validate.py); nothing else changes.
    assert clean.get_column("topic").to_list() == [p.lower() for p in payloads]
    assert clean.get_column("topic").to_list()[1:4] == ["+cmd", "@sum(1)", SCRIPT]


def test_hostile_text_in_a_checked_column_is_reported_verbatim_not_run():
    content = (
        "respondent_id,source,wave,region,trust_government\n"
        f'R1,"{SQL}",2025-10,"{FORMULA.replace(chr(34), chr(34) * 2)}",5\n'
        f"R2,kurultai,2025-10,{SCRIPT},=1+1\n"
    ).encode()
    v = validate("survey", read_table(content, "evil.csv"))
    got = [(r["row"], r["column"], r["value"], r["code"]) for r in v.errors.iter_rows(named=True)]
    assert got == [
        (1, "source", SQL, "bad_choice"),
        (1, "region", FORMULA, "unknown_region_no_hint"),
        (2, "region", SCRIPT, "unknown_region_no_hint"),
        (2, "trust_government", "=1+1", "bad_score"),
    ]
    assert v.clean.is_empty()
    assert f"Unknown region '{SCRIPT}'." in v.errors.get_column("message").to_list()
