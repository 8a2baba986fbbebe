"""Cells read with their surrounding white space stripped, whether or not the reader strips them
(queries/ingest/lines.spaced_cells decides that from the bytes): a cell's value never depends on
the shortcut. The white space the shortcut knows is exactly what polars' strip_chars removes."""

from __future__ import annotations

import polars as pl
import pytest

from queries.ingest.lines import ASCII_SPACES, WIDE_SPACES, spaced_cells
from queries.ingest.reading import read_table

SPACES = [" ", "\t", *WIDE_SPACES]  # the other ASCII ones are control characters: refused


def test_the_spaces_known_are_those_polars_strips():
    code_points = [c for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    stripped = pl.Series([f"a{chr(c)}" for c in code_points]).str.strip_chars()
    spaces = {chr(c) for c, value in zip(code_points, stripped, strict=True) if value == "a"}
    assert spaces == {chr(b) for b in ASCII_SPACES} | set(WIDE_SPACES)


@pytest.mark.parametrize("space", SPACES, ids=lambda s: f"U+{ord(s):04X}")
@pytest.mark.parametrize("where", ["before", "after", "alone", "last before", "last after"])
def test_a_space_at_a_cells_edge_is_stripped(space, where):
    cells = {
        "before": f"x,{space}Шымкент,z",
        "after": f"x,Шымкент{space},z",
        "alone": f"x,{space},z",
        "last before": f"x,y,{space}қала",
        "last after": f"x,y,қала{space}",
    }
    line = cells[where]
    data = f"a,b,c\nр,т,с\n{line}\n".encode()
    assert spaced_cells(data, ",")
    row = read_table(data, "s.csv").frame.row(1)
    expected = tuple(cell.strip(space) or None for cell in line.split(","))
    assert row[1:] == expected


@pytest.mark.parametrize(
    "text",
    [
        "a,b\nШымкент,т\n",  # Cyrillic letters end in bytes that end some spaces too
        "a,b\r\nx,y\r\n,\r\n",  # CR LF line ends, empty cells
        "a;b\nx;y",  # no line feed at the end
        "a,b\nx – y,z…”\n",  # punctuation of three bytes, as some spaces are
    ],
)
def test_cells_without_edge_spaces_are_not_stripped_and_read_the_same(text):
    data = text.encode()
    assert not spaced_cells(data, ";" if ";" in text else ",")
    frame = read_table(data, "s.csv").frame.drop("_row")
    stripped = frame.with_columns(pl.all().str.strip_chars())
    assert frame.equals(stripped)


@pytest.mark.parametrize("text", ["a,b\nx\r,y\n", "a,b\n\rx,y\n", "a,b\nx,y\r"])
def test_a_carriage_return_that_ends_no_line_makes_the_cells_stripped(text):
    assert spaced_cells(text.encode(), ",")
    assert "\r" not in "".join(read_table(text.encode(), "s.csv").frame.row(0)[1:])
