"""Read an uploaded CSV exactly as Excel or a survey tool wrote it: detect the encoding, the
delimiter and decimal commas; refuse what is not a table with a message that says why. The jobs
are in their own modules: the bytes as text (``text``), the header (``header``), scans of the
lines (``lines``); here they are put in order, and the table parsed and cleaned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from queries.contract import ROW
from queries.ingest.header import MAX_COLUMNS, Header, header
from queries.ingest.lines import (
    MAX_LINE_BYTES,
    check_lines,
    newlines,
    ragged_message,
    ragged_rows,
    spaced_cells,
)
from queries.ingest.text import check_binary, file_text, refused

__all__ = ["HEAD_BYTES", "MAX_COLUMNS", "MAX_LINE_BYTES", "ROW", "RawTable", "read_header"]
__all__ += ["read_table"]
HEAD_BYTES = 2 * MAX_LINE_BYTES + 4_096  # an optional sep= line, then the header line
STRIPPED_AT_ONCE = 4  # columns whose cells are stripped together (one copy of each beside)


@dataclass(frozen=True)
class RawTable:
    """A file read as text: every column a string, headers normalised (stripped, lower-case),
    plus ``_row``: the 1-based data row number in the file (blank rows are dropped)."""

    frame: pl.DataFrame
    headers: list[str]
    encoding: str
    delimiter: str
    decimal_comma: bool
    file_name: str = ""


def _check_size(content, file_name: str, max_bytes: int | None) -> bytes:
    if not isinstance(content, bytes | bytearray | memoryview):
        raise refused(file_name, "no file content was given.")
    content = bytes(content)
    if max_bytes is not None and len(content) > max_bytes:
        raise refused(
            file_name,
            f"the file is {len(content) / 1e6:,.1f} MB; the limit is {max_bytes / 1e6:,.0f} MB.",
        )
    blank = b" \t\r\n\xef\xbb\xbf"
    # Strip a copy of the start only: stripping the whole file would copy all of it.
    if not content[:65_536].strip(blank) and not content.strip(blank):
        raise refused(file_name, "the file is empty.")
    return content


def _check_row_count(content: bytes, file_name: str, max_rows: int | None, feeds: int) -> None:
    """Refuse a file with more lines than ``max_rows`` data rows (+ header, ``sep=`` line and a
    few blank lines) before parsing: the line feeds (``feeds``, found already) cost one pass
    over the bytes, parsing them costs gigabytes. Quoted line breaks count too, so the cap is
    slightly conservative."""
    if max_rows is None:
        return
    lines = feeds or content.count(b"\r")  # classic Mac line ends
    if lines > max_rows + 10:
        raise refused(
            file_name,
            f"the file has about {lines - 1:,} rows; at most {max_rows:,} can be loaded at once. "
            "Split it into smaller files.",
        )


def read_header(content: bytes, file_name: str, *, max_bytes: int | None = None) -> RawTable:
    """The file's header only (a table with no rows), read from its first bytes: enough to
    refuse missing or duplicate columns before a single row is parsed (issue 13: a 199 MB file
    with one short column used to cost gigabytes before that answer)."""
    content = _check_size(content, file_name, max_bytes)
    head = content[:HEAD_BYTES]
    check_binary(head, file_name)
    if len(content) > HEAD_BYTES:
        # Cut at a line end so no UTF-8 character is split and the header line is whole.
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        if cut < 0:
            raise refused(
                file_name,
                f"line 1 is longer than {MAX_LINE_BYTES:,} bytes; is this really a table?",
            )
        head = head[: cut + 1]
    text = file_text(head, file_name)
    found = header(text.data, file_name)
    frame = pl.DataFrame(schema={ROW: pl.Int64, **dict.fromkeys(found.names, pl.String)})
    return _raw_table(frame, found.raw, found.delimiter, text.encoding, file_name)


def _raw_table(frame, headers: list[str], delimiter: str, encoding: str, file_name: str):
    stripped = [h.strip() for h in headers]
    return RawTable(frame, stripped, encoding, delimiter, delimiter != ",", file_name)


def read_table(
    content: bytes,
    file_name: str,
    *,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> RawTable:
    """Read an uploaded file as a table of strings, or raise InputFileError saying why not."""
    content = _check_size(content, file_name, max_bytes)
    check_binary(content, file_name)
    feeds = newlines(content)
    _check_row_count(content, file_name, max_rows, len(feeds))
    check_lines(content, file_name, feeds)
    text = file_text(content, file_name)
    found = header(text.data, file_name)
    data = text.data[found.start :] if found.start else text.data
    width = len(found.raw)
    # the upload's line feeds are data's own when data is a part of the upload (UTF-8)
    if text.at is not None:
        at = text.at + found.start
        feeds = feeds[np.searchsorted(feeds, at) :] - at
    bad = ragged_rows(data, found.delimiter, width, feeds if text.at is not None else None)
    if bad:
        raise refused(file_name, ragged_message(bad, width, found.delimiter))
    try:
        frame = pl.read_csv(
            data,
            separator=found.delimiter,
            infer_schema=False,
            has_header=True,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise refused(file_name, f"cannot be read as CSV ({why}).") from None
    if frame.width != len(found.names):
        raise refused(file_name, ragged_message([(0, frame.width)], width, found.delimiter))
    frame = frame.rename(dict(zip(frame.columns, found.names, strict=True)))
    # quoted cells may hold spaces the bytes do not show beside a delimiter
    if b'"' in data or spaced_cells(data, found.delimiter):
        frame = _stripped(frame)
    frame, headers = _without_blanks(frame, found)
    return _raw_table(frame, headers, found.delimiter, text.encoding, file_name)


def _stripped(frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell stripped of white space, a blank one null: a few columns at a time (their
    copies beside the frame, stripped on every core)."""
    for at in range(0, frame.width, STRIPPED_AT_ONCE):
        batch = frame.columns[at : at + STRIPPED_AT_ONCE]
        values = [pl.col(name).str.strip_chars() for name in batch]
        frame = frame.with_columns(
            pl.when(value.str.len_bytes() > 0).then(value).alias(name)
            for name, value in zip(batch, values, strict=True)
        )
    return frame


def _without_blanks(frame: pl.DataFrame, found: Header) -> tuple[pl.DataFrame, list[str]]:
    """Without Excel's formatted but empty columns (no header, no value) and blank rows, each
    row numbered as in the file (``ROW``) for messages; the headers kept."""
    empty = [
        n
        for n, h in zip(found.names, found.raw, strict=True)
        if not h.strip() and frame[n].is_null().all()
    ]
    headers = [h for n, h in zip(found.names, found.raw, strict=True) if n not in empty]
    frame = frame.drop(empty)
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    blank = pl.all_horizontal(pl.exclude(ROW).is_null())
    if frame.select(blank.any()).item():  # a filter copies every cell even when none goes
        frame = frame.filter(~blank)
    return frame, headers
