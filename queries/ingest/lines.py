"""Scans of an upload's UTF-8 bytes line by line, a block at a time (no array the size of the
file, no copy of it per line): where the lines end, which are too long, which rows do not have
the header's number of fields, and whether any cell may hold spaces around its value."""

from __future__ import annotations

import csv
import io

import numpy as np
import polars as pl

from queries.ingest.text import refused

MAX_LINE_BYTES = 1_000_000
SHOWN_ROWS = 10
SCAN_BYTES = 16 * 1024 * 1024  # bytes looked at together: no file-sized mask
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# What polars' strip_chars() takes from a cell's ends (Unicode White_Space), ASCII and wider.
ASCII_SPACES = b" \t\n\x0b\x0c\r"
WIDE_SPACES = (
    "\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def newlines(content: bytes) -> np.ndarray:
    """The positions of the line feeds in ``content``."""
    data = np.frombuffer(content, dtype=np.uint8)
    parts = [
        np.flatnonzero(data[start : start + SCAN_BYTES] == 10) + start
        for start in range(0, len(data), SCAN_BYTES)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def check_lines(content: bytes, file_name: str, found: np.ndarray) -> None:
    """Refuse a line longer than MAX_LINE_BYTES (``found``: the line feeds' positions)."""
    bounds = np.concatenate(([-1], found, [len(content)]))
    lengths = np.diff(bounds) - 1
    longest = int(lengths.argmax())
    if lengths[longest] > MAX_LINE_BYTES:
        raise refused(
            file_name,
            f"line {longest + 1} is {lengths[longest]:,} bytes long; a CSV line may be at most "
            f"{MAX_LINE_BYTES:,} bytes. Is this really a table?",
        )


def ragged_rows(
    data: bytes, delimiter: str, width: int, found: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """(data row, field count) of the first rows whose field count differs from the header's
    (at most SHOWN_ROWS + 1; -1: not valid CSV). ``data``: UTF-8 text from its header line on;
    ``found``: its line feeds' positions when already known."""
    if b'"' not in data:
        return _ragged_unquoted(data, delimiter, width, found)
    if _quoted_line_break(data):
        return _ragged_rows_csv(data.decode("utf-8"), delimiter, width)
    lines = pl.Series("line", [data], dtype=pl.Binary).cast(pl.String).str.split("\n").explode()
    # Quoted fields taken out pair by pair leave only the delimiters between fields.
    unquoted = lines.str.replace_all(r'"[^"]*"', "")
    frame = pl.DataFrame(
        {
            "fields": unquoted.str.count_matches(delimiter, literal=True) + 1,
            "blank": lines.str.strip_chars().str.len_bytes() == 0,
        }
    ).with_row_index("row")
    bad = frame.filter((pl.col("row") > 0) & ~pl.col("blank") & (pl.col("fields") != width))
    return [(int(r), int(f)) for r, f in bad.head(SHOWN_ROWS + 1).select("row", "fields").rows()]


def _quoted_line_break(data: bytes) -> bool:
    """Whether some line holds an odd number of quotes (a quoted field spans lines), found from
    the positions of quotes and line breaks only, without a copy of the text per line."""
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    ends = np.append(np.flatnonzero(raw == ord("\n")), len(raw))
    per_line = np.diff(np.searchsorted(quotes, ends), prepend=0)
    return bool((per_line % 2).any())


def _line_starts(data: bytes, found: np.ndarray | None) -> np.ndarray:
    """Where each line of ``data`` starts (an empty last line after the last feed is none)."""
    feeds = newlines(data) if found is None else found
    starts = np.concatenate(([0], feeds + 1))
    return starts[starts < len(data)] if len(data) else starts[:0]


def _blocks(starts: np.ndarray, size: int):
    """(first line, line after the last, first byte, byte after the last) of blocks of whole
    lines of about SCAN_BYTES bytes (a longer line is a block of its own)."""
    first = 0
    while first < len(starts):
        low = int(starts[first])
        last = max(int(np.searchsorted(starts, low + SCAN_BYTES, side="right")), first + 1)
        high = int(starts[last]) if last < len(starts) else size
        yield first, last, low, high
        first = last


def _ragged_unquoted(
    data: bytes, delimiter: str, width: int, found: np.ndarray | None
) -> list[tuple[int, int]]:
    """``ragged_rows`` of a text without quotes: a line's fields are its delimiters + 1, summed
    per line over a block's delimiter mask (no array of every delimiter's position: 1M rows
    of 22 fields, 0.6 -> 0.1 s)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = _line_starts(data, found)
    counts = np.ones(len(starts), dtype=np.int64)
    for first, last, low, high in _blocks(starts, len(raw)):
        mask = raw[low:high] == ord(delimiter)
        # an empty line's sum is the mask at its start: a line feed, never a delimiter
        counts[first:last] += np.add.reduceat(mask, starts[first:last] - low, dtype=np.int64)
    suspects = np.flatnonzero(counts != width)
    suspects = suspects[suspects > 0]  # line 0 is the header
    ends = np.append(starts[1:] - 1, len(raw))  # each line's end (exclusive)
    bad: list[tuple[int, int]] = []
    for batch in range(0, len(suspects), 1_000):  # blank lines are no rows: skip them
        rows = suspects[batch : batch + 1_000]
        lines = [data[starts[r] : ends[r]].decode("utf-8") for r in rows]
        blank = pl.Series(lines, dtype=pl.String).str.strip_chars().str.len_bytes() == 0
        bad += [(int(r), int(counts[r])) for r, b in zip(rows, blank, strict=True) if not b]
        if len(bad) > SHOWN_ROWS:
            break
    return bad[: SHOWN_ROWS + 1]


def _ragged_rows_csv(text: str, delimiter: str, width: int) -> list[tuple[int, int]]:
    bad: list[tuple[int, int]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader):
            blank = not any(cell.strip() for cell in row)
            if number and not blank and len(row) != width:
                bad.append((number, len(row)))
                if len(bad) > SHOWN_ROWS:
                    break
    except csv.Error:
        bad.append((reader.line_num, -1))
    return bad


def ragged_message(bad: list[tuple[int, int]], width: int, delimiter: str) -> str:
    shown = ", ".join(
        f"row {row} has {fields}" if fields >= 0 else f"line {row} is not valid CSV"
        for row, fields in bad[:SHOWN_ROWS]
    )
    more = " and more" if len(bad) > SHOWN_ROWS else ""
    return (
        f"rows do not have the {width} fields of the header (data {shown}{more}). "
        f"Check the {DELIMITER_NAMES.get(delimiter, repr(delimiter))} delimiters and quotes."
    )


def spaced_cells(data: bytes, delimiter: str) -> bool:
    """Whether some cell of an unquoted text may begin or end with white space, which the
    reader strips: when none does (the usual file) the strip, a copy of every cell, is not
    needed (1M rows: 0.6-1.2 s; this look 0.1 s). A "may" is never a wrong "no"."""
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return True  # a CR that does not end a line, which the reader may keep or drop
    table = bytearray(_CLASSES)
    table[ord(delimiter)] = _SEPARATOR
    for low in range(0, len(data), SPACE_SCAN_BYTES):
        # three bytes before the block: pairs across blocks, and the bytes before a space's
        # last; a separator imagined before the first cell and after the last
        piece = data[max(0, low - 3) : low + SPACE_SCAN_BYTES]
        piece = (b"\n" if low == 0 else b"") + piece
        piece += b"\n" if low + SPACE_SCAN_BYTES >= len(data) else b""
        # each byte's class (bytes.translate: one pass in C); the product of two neighbours'
        # classes says what the pair may be, whatever its order (a cell cannot begin with a
        # UTF-8 continuation byte, nor end with a lead byte)
        classes = np.frombuffer(piece.translate(table), dtype=np.uint8)
        pairs = classes[:-1] * classes[1:]
        if (pairs == _SEPARATOR * _SPACE).any():
            return True
        ends = np.flatnonzero(pairs == _SEPARATOR * _WIDE_LAST)  # a cell's last byte
        if len(ends) and _wide_space_ends(np.frombuffer(piece, dtype=np.uint8), ends):
            return True
    return False


def _wide_space_ends(raw: np.ndarray, last: np.ndarray) -> bool:
    """Whether a space beyond ASCII ends at one of the positions ``last`` of ``raw``."""
    # its lead byte one or two before its last: few other cells (Cyrillic letters end with
    # such bytes too) get past this
    lead = np.isin(raw[np.maximum(last - 1, 0)], _WIDE_LEADS)
    lead |= np.isin(raw[np.maximum(last - 2, 0)], _WIDE_LEADS)
    return any(raw[max(0, at - 2) : at + 1].tobytes().endswith(_WIDE) for at in last[lead])


SPACE_SCAN_BYTES = 1024 * 1024  # small enough for the CPU's cache: 16 MB took 5x as long
# classes of bytes: line breaks and the delimiter, a space's first byte or an ASCII space, the
# last byte of a wider space (and of many letters); a separator beside a space is 64, before
# such a last byte 128, other pairs (in uint8) neither but two such last bytes (then "may")
_SEPARATOR, _SPACE, _WIDE_LAST = 16, 4, 8
_WIDE = tuple(space.encode("utf-8") for space in WIDE_SPACES)
_WIDE_LEADS = np.array(sorted({space[0] for space in _WIDE}), dtype=np.uint8)


def _classes() -> bytes:
    classes = bytearray(256)
    for space in _WIDE:
        classes[space[0]], classes[space[-1]] = _SPACE, _WIDE_LAST
    for byte in ASCII_SPACES:
        classes[byte] = _SEPARATOR if byte in b"\r\n" else _SPACE
    return bytes(classes)


_CLASSES = _classes()
