"""Raking weights to population margins, and exports that keep formulas inert."""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest

from queries.errors import SenimError
from queries.export import to_csv_bytes, to_xlsx_bytes
from queries.survey.raking import poststratify, rake


def sample() -> pl.DataFrame:
    # 2 women and 1 man in the city, 1 woman in the village; all weights 1
    return pl.DataFrame(
        {
            "sex": ["f", "f", "m", "f"],
            "place": ["city", "city", "city", "rural"],
            "weight": [1.0, 1.0, 1.0, 1.0],
        }
    )


def test_raking_meets_every_margin():
    margins = {"sex": {"f": 60.0, "m": 40.0}, "place": {"city": 70.0, "rural": 30.0}}
    result = rake(sample(), margins)
    w = result.frame
    assert w.filter(pl.col("sex") == "f")["weight"].sum() == pytest.approx(60)
    assert w.filter(pl.col("sex") == "m")["weight"].sum() == pytest.approx(40)
    assert w.filter(pl.col("place") == "rural")["weight"].sum() == pytest.approx(30)
    # the lone man must carry all 40 men; the rural woman all 30 rural residents
    assert w.filter(pl.col("sex") == "m")["weight"].item() == pytest.approx(40)
    assert w.filter(pl.col("place") == "rural")["weight"].item() == pytest.approx(30)
    assert result.max_error < 1e-8 and result.iterations >= 1


def test_an_empty_margin_cell_is_a_clear_error():
    with pytest.raises(SenimError, match="sex='x' has no respondents"):
        rake(sample(), {"sex": {"f": 50.0, "m": 40.0, "x": 10.0}})


def test_poststratification_scales_each_cell_to_its_population():
    cells = pl.DataFrame({"sex": ["f", "m"], "population": [75.0, 25.0]})
    out = poststratify(sample(), cells)
    assert out.filter(pl.col("sex") == "f")["weight"].to_list() == pytest.approx([25.0] * 3)
    assert out.filter(pl.col("sex") == "m")["weight"].item() == pytest.approx(25.0)


FORMULAS = pl.DataFrame(
    {
        "text": ['=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(1)", "\tTAB", "plain"],
        "number": [1, -2, 3, 4, 5, 6],
    }
)


def test_csv_export_neutralises_formulas_but_not_numbers():
    content = to_csv_bytes(FORMULAS)
    assert content.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(content[3:])
    assert back["text"].to_list()[:4] == [
        '\'=HYPERLINK("http://x","y")',
        "'+cmd",
        "'-2+3",
        "'@SUM(1)",
    ]
    assert back["text"].to_list()[5] == "plain"
    assert back["number"].to_list() == [1, -2, 3, 4, 5, 6]


def test_xlsx_export_writes_text_never_formulas():
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(FORMULAS, "t")))
    sheet = book.active
    cells = [sheet.cell(row=r, column=1) for r in range(2, 8)]
    assert all(c.data_type == "s" for c in cells)  # strings, not formulas ("f")
    assert cells[0].value.startswith("'=")
    assert sheet.cell(row=3, column=2).value == -2
