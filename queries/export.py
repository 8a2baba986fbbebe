"""Exports of what a user sees: CSV (UTF-8 with BOM, for Excel) and xlsx, with spreadsheet
formulas neutralised so a cell like ``=HYPERLINK(...)`` stays inert text."""

from __future__ import annotations

import io
import math
import re

import polars as pl

# A text cell starting with one of these is run as a formula by Excel / LibreOffice / Sheets.
FORMULA_START = r"^[=+\-@\t\r]"
# ...unless it is a plain number ("-5", "+1.5"), which a spreadsheet reads as that number.
PLAIN_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def neutralise_text(value: str) -> str:
    """One text value made inert: prefixed with an apostrophe when it would run as a formula."""
    if re.match(FORMULA_START, value) and not re.match(PLAIN_NUMBER, value):
        return "'" + value
    return value


def _inert(name: str) -> pl.Expr:
    column = pl.col(name).cast(pl.String)
    risky = column.str.contains(FORMULA_START) & ~column.str.contains(PLAIN_NUMBER)
    return pl.when(risky).then(pl.lit("'") + column).otherwise(column).alias(name)


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells (and headers) that a spreadsheet would run as a formula with an
    apostrophe; numbers, dates and booleans are left as they are."""
    text = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    safe = frame.with_columns(_inert(name) for name in text)
    return safe.rename({c: neutralise_text(c) for c in safe.columns})


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """CSV that Excel opens correctly (UTF-8 with BOM), formulas neutralised."""
    buffer = io.BytesIO()
    neutralise(frame).write_csv(buffer)
    return b"\xef\xbb\xbf" + buffer.getvalue()


def to_xlsx_bytes(frame: pl.DataFrame, sheet: str = "Senim") -> bytes:
    """An Excel workbook of the frame: text written as text (never as a formula), numbers as
    numbers, dates as ISO text; NaN and infinity left empty."""
    import xlsxwriter

    buffer = io.BytesIO()
    safe = neutralise(frame)
    numeric = [dtype.is_numeric() and dtype != pl.Boolean for dtype in safe.dtypes]
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(buffer, options) as book:
        # Sheet names may not hold []:*?/\ and are at most 31 characters.
        name = "".join(" " if ch in "[]:*?/\\" else ch for ch in sheet).strip()[:31] or "Senim"
        out = book.add_worksheet(name)
        bold = book.add_format({"bold": True})
        for col, header in enumerate(safe.columns):
            out.write_string(0, col, header, bold)
        for row_number, row in enumerate(safe.iter_rows(), start=1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if numeric[col]:
                    if not math.isfinite(value):
                        continue
                    out.write_number(row_number, col, value)
                else:
                    out.write_string(row_number, col, str(value))
    return buffer.getvalue()
