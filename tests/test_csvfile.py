"""Reading uploaded files (queries/csvfile.py): encodings, delimiters, Excel habits, row numbers,
and every kind of file that is not a table refused with InputFileError and a message saying why."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from queries.errors import InputFileError
from queries.ingest.reading import MAX_COLUMNS, MAX_LINE_BYTES, ROW, read_table

FILES = Path(__file__).parent / "fixtures" / "upload"


def read(name: str, **options):
    return read_table((FILES / name).read_bytes(), name, **options)


def test_every_column_is_text_with_normalised_headers_and_row_numbers():
    table = read_table(b" Respondent_ID , REGION \nA1, 7 \n", "a.csv")
    assert table.frame.columns == [ROW, "respondent_id", "region"]
    assert table.headers == ["Respondent_ID", "REGION"]  # as typed, outer spaces dropped
    assert table.frame.schema == {ROW: pl.Int64, "respondent_id": pl.String, "region": pl.String}
    assert table.frame.row(0) == (1, "A1", "7")  # cells stripped, numbers stay text
    assert (table.encoding, table.delimiter, table.decimal_comma) == ("utf-8", ",", False)


def test_windows_1251_semicolons_and_decimal_comma_flag():
    table = read("ngo_cp1251_semicolon.csv")
    assert (table.encoding, table.delimiter, table.decimal_comma) == ("cp1251", ";", True)
    assert table.frame.get_column("регион").to_list() == [
        "Восточно-Казахстанская область",
        "г. Шымкент",
    ]
    assert table.frame.get_column("grants_kzt").to_list() == ["1 500 000,75", "0"]


def test_cp1251_guillemets_are_not_mistaken_for_mixed_encodings():
    # «...С» in cp1251 is the byte pair D1 BB, which is also a UTF-8 letter.
    content = "id;name\n1;ТОО «АЛМАС»\n2;ОФ «РОСТ»\n".encode("cp1251")
    table = read_table(content, "ngo.csv")
    assert table.encoding == "cp1251"
    assert table.frame.get_column("name").to_list() == ["ТОО «АЛМАС»", "ОФ «РОСТ»"]


def test_utf8_bom_is_dropped_from_the_first_header():
    table = read("survey_bom.csv")
    assert table.encoding == "utf-8-sig"
    assert table.frame.columns[1] == "respondent_id"


def test_tab_delimited():
    table = read_table("region\tperiod\nВКО\t2025\n".encode(), "t.tsv")
    assert table.delimiter == "\t" and table.frame.get_column("region").to_list() == ["ВКО"]


def test_excel_sep_line_chooses_the_delimiter():
    table = read("survey_sep_line.csv")
    assert table.delimiter == ";" and table.decimal_comma
    assert table.frame.columns[1:] == [
        "respondent_id",
        "source",
        "wave",
        "region",
        "weight",
        "trust_government",
    ]
    assert table.frame.get_column("weight").to_list() == ["1,5"]


def test_blank_rows_are_dropped_but_row_numbers_stay_those_of_the_file():
    table = read("survey_blank_rows.csv")
    assert table.frame.get_column(ROW).to_list() == [1, 4, 5]
    assert table.frame.get_column("region").to_list() == ["Астана", "Атлантида", "Астана, г."]


def test_a_quoted_cell_may_span_lines():
    table = read("survey_multiline_cell.csv")
    assert table.frame.get_column("respondent_id").to_list() == ["Q1\nsecond line", "Q2"]


def test_old_mac_line_ends():
    table = read_table(b"region,period\rKZ-75,2025\rKZ-71,2024\r", "mac.csv")
    assert table.frame.get_column("period").to_list() == ["2025", "2024"]


def test_empty_trailing_excel_columns_are_dropped():
    table = read_table(b"region,period,,\nKZ-75,2025,,\n", "x.csv")
    assert table.frame.columns == [ROW, "region", "period"]


def test_ragged_rows_are_refused_naming_the_rows():
    with pytest.raises(InputFileError) as error:
        read("survey_ragged.csv")
    message = str(error.value)
    assert "5 fields" in message
    assert "row 2 has 4" in message and "row 4 has 6" in message
    assert "row 1 " not in message and "row 3 " not in message


def test_ragged_rows_with_a_multiline_cell_use_the_slow_path():
    content = b'a,b\n"x\ny",1\n2\n'
    with pytest.raises(InputFileError, match="row 2 has 1"):
        read_table(content, "x.csv")


def test_a_header_given_twice_is_refused():
    with pytest.raises(InputFileError, match=r"'Region' appears twice.*columns 1 and 3"):
        read_table(b"region,period,Region\nA,2025,B\n", "x.csv")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("empty.csv", "empty"),
        ("not_csv.csv", "PNG image"),
        ("workbook.csv", "Excel .xlsx"),
        ("archive.csv", "ZIP archive"),
        ("survey.csv.gz.csv", "gzip"),
        ("pdf.csv", "PDF"),
        ("garbage.csv", "NUL|control|neither"),
        ("survey_nul_bytes.csv", "NUL bytes \\(first on line 2\\)"),
        ("survey_utf16.csv", "UTF-16"),
        ("survey_mixed_encodings.csv", "mixed text encodings.*line 3"),
    ],
)
def test_files_that_are_not_tables_are_refused_with_the_reason(name, words):
    with pytest.raises(InputFileError, match=words) as error:
        read(name)
    assert str(error.value).startswith(f"{name}: ")


def test_the_size_limit_is_inclusive_and_off_by_default():
    content = b"region\n" + b"KZ-75\n" * 400_000
    with pytest.raises(InputFileError, match=r"2\.4 MB; the limit is 2 MB"):
        read_table(content, "big.csv", max_bytes=len(content) - 1)
    assert read_table(content, "big.csv", max_bytes=len(content)).frame.height == 400_000
    assert read_table(content, "big.csv").frame.height == 400_000


def test_exactly_the_maximum_number_of_columns_is_read():
    ok = (",".join(f"c{i}" for i in range(MAX_COLUMNS)) + "\n" + "1," * 499 + "1\n").encode()
    assert read_table(ok, "wide.csv").frame.width == MAX_COLUMNS + 1
    too_many = (",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n").encode()
    with pytest.raises(InputFileError, match="501 columns; at most 500"):
        read_table(too_many, "wide.csv")


def test_a_line_of_exactly_the_maximum_length_is_read():
    cell = b"a" * (MAX_LINE_BYTES - 2)
    table = read_table(b"id,text\n1," + cell + b"\n", "long.csv")
    assert table.frame.get_column("text").str.len_bytes().to_list() == [MAX_LINE_BYTES - 2]
    with pytest.raises(InputFileError, match="line 2 is 1,000,001 bytes long"):
        read_table(b"id,text\n1,a" + cell + b"\n", "long.csv")


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f"])
def test_control_characters(char):
    with pytest.raises(InputFileError, match=r"control character.*line 2"):
        read_table(f"a,b\n1,x{char}y\n".encode(), "c.csv")


def test_a_header_alone_reads_as_an_empty_table():
    table = read("header_only.csv")
    assert table.frame.height == 0 and "trust_government" in table.frame.columns


@pytest.mark.parametrize("content", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n\n"])
def test_blank_files(content):
    with pytest.raises(InputFileError, match="empty"):
        read_table(content, "blank.csv")


def test_content_that_is_not_bytes():
    with pytest.raises(InputFileError, match="no file content"):
        read_table(None, "none.csv")  # type: ignore[arg-type]


SURVEY_HEADER = [
    "respondent_id",
    "source",
    "wave",
    "interview_date",
    "region",
    "settlement",
    "sex",
    "age",
    "weight",
    "trust_government",
    "trust_police",
    "state_listens",
    "participated_consultation",
    "submitted_proposal",
    "received_response",
    "response_satisfaction",
    "ngo_involvement",
]


def test_good_utf8_survey_reads_every_cell_as_written():
    table = read("survey_good.csv")
    assert (table.encoding, table.delimiter, table.decimal_comma) == ("utf-8", ",", False)
    assert table.frame.columns == [ROW, *SURVEY_HEADER] and table.headers == SURVEY_HEADER
    assert table.frame.get_column(ROW).to_list() == [1, 2, 3]
    assert table.frame.get_column("interview_date").to_list() == [
        "2025-08-14",
        "14.08.2025",
        "14/08/2025",
    ]
    assert table.frame.get_column("trust_government").to_list() == ["7", "DK", "10"]
    assert table.frame.row(2, named=True)["sex"] is None  # blank cells are null, not ""


def test_survey_in_windows_1251_with_semicolons_keeps_decimal_commas_as_text():
    content = (FILES / "survey_cp1251_semicolon.csv").read_bytes()
    assert "Восточно".encode("cp1251") in content  # really a cp1251 file
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    table = read_table(content, "survey_cp1251_semicolon.csv")
    assert (table.encoding, table.delimiter, table.decimal_comma) == ("cp1251", ";", True)
    assert table.frame.columns == [ROW, *SURVEY_HEADER]
    assert table.frame.get_column("weight").to_list() == ["1,25", "0,75"]
    assert table.frame.get_column("region").to_list() == [
        "Восточно-Казахстанская обл.",
        "г. Алматы",
    ]
    assert table.frame.get_column("state_listens").to_list() == ["7", "не знаю"]


def test_header_only_file_keeps_its_columns():
    table = read("header_only.csv")
    assert table.frame.columns == [ROW, *SURVEY_HEADER]
    assert table.frame.height == 0 and table.frame.schema[ROW] == pl.Int64


def test_the_delimiter_is_the_most_frequent_one_in_the_header():
    table = read_table(b"a;b;c,d\n1;2;3,5\n", "x.csv")
    assert table.delimiter == ";" and table.frame.columns == [ROW, "a", "b", "c,d"]
    assert table.frame.row(0) == (1, "1", "2", "3,5")


def test_a_quoted_header_may_hold_the_delimiter():
    table = read_table(b'"trust, government",region\n5,KZ-75\n', "x.csv")
    assert table.frame.columns == [ROW, "trust, government", "region"]
    assert table.frame.row(0) == (1, "5", "KZ-75")


def test_ctrl_z_at_the_end_of_an_old_dos_file_is_ignored():
    table = read_table(b"region\r\nKZ-75\r\n\x1a", "dos.csv")
    assert table.frame.get_column("region").to_list() == ["KZ-75"]


def test_a_byte_undefined_in_cp1251_is_neither_encoding():
    with pytest.raises(InputFileError, match="neither UTF-8 nor Windows-1251"):
        read_table(b"region\n\x98\n", "x.csv")
