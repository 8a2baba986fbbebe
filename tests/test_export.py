"""Exports: CSV with a BOM and xlsx, every formula-like text cell made inert, numbers kept."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import polars as pl

from queries.export import neutralise, to_csv_bytes, to_xlsx_bytes

HOSTILE = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-1+2", "@SUM(A1)", "\tx", "\r=1"]


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "text": [*HOSTILE, "Алматы", "-5", None],
            "count": [-3, 1, 2, 3, 4, 5, 6, 7, 8],
            "share": [0.5, -1.25, None, 1.0, 2.0, float("nan"), float("inf"), 3.0, 4.0],
            "day": [dt.date(2025, 1, i + 1) for i in range(9)],
        }
    )


def test_formula_like_text_is_prefixed_and_numbers_are_not():
    safe = neutralise(frame())
    assert safe.get_column("text").to_list()[:6] == ["'" + v for v in HOSTILE]
    # a plain number written as text is read as that number by a spreadsheet: left alone
    assert safe.get_column("text").to_list()[6:] == ["Алматы", "-5", None]
    assert safe.get_column("count").to_list() == frame().get_column("count").to_list()
    assert safe.schema == frame().schema


def test_headers_and_categorical_columns_are_neutralised_too():
    hostile = pl.DataFrame({"=cmd()": ["@x"]}).with_columns(pl.col("=cmd()").cast(pl.Categorical))
    safe = neutralise(hostile)
    assert safe.columns == ["'=cmd()"] and safe.item(0, 0) == "'@x"


def test_csv_has_a_bom_and_reads_back_inert():
    content = to_csv_bytes(frame())
    assert content.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(io.BytesIO(content[3:]), infer_schema=False)
    assert back.get_column("text").to_list()[0] == "'" + HOSTILE[0]
    assert back.get_column("count").to_list()[0] == "-3"
    assert back.get_column("text").to_list()[7] == "-5"


def test_xlsx_writes_text_as_text_and_numbers_as_numbers():
    content = to_xlsx_bytes(frame(), sheet="trust: by/region [2025]")
    book = openpyxl.load_workbook(io.BytesIO(content))
    sheet = book.active
    assert len(sheet.title) <= 31 and "/" not in sheet.title and ":" not in sheet.title
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("text", "count", "share", "day")
    assert rows[1] == ("'" + HOSTILE[0], -3, 0.5, "2025-01-01")
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert rows[6][2] is None and rows[7][2] is None  # NaN and infinity left empty
    assert rows[9][0] is None  # null stays an empty cell
