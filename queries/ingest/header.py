"""An upload's header: where it starts (after blank lines and an Excel ``sep=`` line), the
delimiter (the ``sep=`` one, else the most frequent of comma, semicolon, tab in the header) and
the column names, normalised (stripped, lower-case, unique). Found in the UTF-8 bytes: line
breaks and delimiters are ASCII, so no text of the whole file is needed."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from queries.contract import ROW
from queries.ingest.text import refused

MAX_COLUMNS = 500
DELIMITERS = (",", ";", "\t")
SEP_LINE = re.compile(r"^sep=(.)\s*$", re.IGNORECASE)
_NOT_LINE_BREAK = re.compile(rb"[^\r\n]")


@dataclass(frozen=True)
class Header:
    """Where the header line starts in the text, the delimiter, the header cells as written
    and as normalised."""

    start: int
    delimiter: str
    raw: list[str]
    names: list[str]


def header(data: bytes, file_name: str) -> Header:
    """The header of ``data`` (UTF-8 text); refuses a file without one or with too many
    columns, or naming a column twice."""
    start, delimiter = _layout(data)
    line = _line_at(data, start)
    if not line.strip():
        raise refused(file_name, "the file has no header row.")
    raw = _split_header(line, delimiter)
    if len(raw) > MAX_COLUMNS:
        raise refused(
            file_name,
            f"the header has {len(raw):,} columns; at most {MAX_COLUMNS} are allowed.",
        )
    return Header(start, delimiter, raw, _normalise_headers(raw, file_name))


def _text_start(data: bytes, at: int) -> int:
    """The first position from ``at`` on that is not a line break (blank lines skipped)."""
    found = _NOT_LINE_BREAK.search(data, at)
    return found.start() if found else len(data)


def _line_at(data: bytes, start: int) -> str:
    """The line starting at ``start``, without its line break."""
    end = data.find(b"\n", start)
    return data[start : None if end < 0 else end].decode("utf-8").rstrip("\r")


def _layout(data: bytes) -> tuple[int, str]:
    """Where the header line starts and the delimiter."""
    start = _text_start(data, 0)
    first = _line_at(data, start)
    sep = SEP_LINE.match(first)
    if sep and sep.group(1) in DELIMITERS:
        end = data.find(b"\n", start)
        return (len(data) if end < 0 else _text_start(data, end + 1)), sep.group(1)
    return start, _delimiter(first)


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _split_header(header_line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([header_line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return header_line.split(delimiter)


def _normalise_headers(headers: list[str], file_name: str) -> list[str]:
    out: list[str] = []
    for position, header in enumerate(headers, start=1):
        name = " ".join(header.replace("\ufeff", "").split()).strip('"').strip().lower()
        name = name or f"column_{position}"
        if name == ROW:
            name = "_row_in_file"
        if name in out:
            first = out.index(name) + 1
            raise refused(
                file_name,
                f"the column '{header.strip()}' appears twice in the header "
                f"(columns {first} and {position}); rename or delete one.",
            )
        out.append(name)
    return out
