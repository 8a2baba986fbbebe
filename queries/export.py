"""Exports of what a user sees: CSV (UTF-8 with BOM, for Excel) and xlsx, with spreadsheet
formulas neutralised so a cell like ``=HYPERLINK(...)`` stays inert text."""

from __future__ import annotations

import io

import polars as pl

FORMULA_START = r"^[=+\-@\t\r]"


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.String
    )


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """CSV that Excel opens correctly (BOM), formulas neutralised."""
    buffer = io.BytesIO()
    neutralise(frame).write_csv(buffer)
    return b"\xef\xbb\xbf" + buffer.getvalue()


def to_xlsx_bytes(frame: pl.DataFrame, sheet: str = "Senim") -> bytes:
    """An Excel workbook of the frame, text cells written as text (never as formulas)."""
    import xlsxwriter

    buffer = io.BytesIO()
    safe = neutralise(frame)
    with xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False}) as book:
        sheet_ = book.add_worksheet(sheet[:31])
        bold = book.add_format({"bold": True})
        for col, name in enumerate(safe.columns):
            sheet_.write_string(0, col, str(name), bold)
        for row_number, row in enumerate(safe.iter_rows(), start=1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    sheet_.write_string(row_number, col, str(value))
                else:
                    sheet_.write_number(row_number, col, value)
    return buffer.getvalue()
