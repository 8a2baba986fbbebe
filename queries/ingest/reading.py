"""Read an uploaded CSV exactly as Excel or a survey tool wrote it: detect the encoding, the
delimiter and decimal commas; refuse what is not a table with a message that says why.

Encodings: UTF-8, UTF-8 with BOM, else Windows-1251. A file that is not valid UTF-8 but holds
UTF-8 Cyrillic words mixes two encodings (rows pasted from two sources): it is refused, naming
the first line that is not UTF-8, because decoding it either way would garble half the rows.
Any other non-UTF-8 file is decoded as Windows-1251 on purpose (every byte but 0x98 is defined
there), then refused if it holds control characters, which no text table has.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from queries.contract import ROW
from queries.errors import InputFileError

MAX_COLUMNS = 500
MAX_LINE_BYTES = 1_000_000
HEAD_BYTES = 2 * MAX_LINE_BYTES + 4_096  # an optional sep= line, then the header line
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
SHOWN_ROWS = 10
STRIPPED_AT_ONCE = 4  # columns whose cells are stripped together (one copy of each beside)
# File signatures of things people upload by mistake (or on purpose).
MAGIC = {
    b"PK\x03\x04": "this is a ZIP archive or an Excel .xlsx workbook; save it as CSV first.",
    b"PK\x05\x06": "this is an empty ZIP archive, not a CSV text file.",
    b"\xd0\xcf\x11\xe0": "this is an old Excel .xls workbook; save it as CSV first.",
    b"%PDF": "this is a PDF document, not a CSV text file.",
    b"\x89PNG": "this is a PNG image, not a CSV text file.",
    b"\xff\xd8\xff": "this is a JPEG image, not a CSV text file.",
    b"GIF8": "this is a GIF image, not a CSV text file.",
    b"\x1f\x8b": "this is a gzip archive, not a CSV text file.",
    b"\xfd7zXZ": "this is an xz archive, not a CSV text file.",
    b"7z\xbc\xaf": "this is a 7-Zip archive, not a CSV text file.",
    b"Rar!": "this is a RAR archive, not a CSV text file.",
    b"\x7fELF": "this is a program (ELF executable), not a CSV text file.",
    b"SQLite format 3": "this is an SQLite database, not a CSV text file.",
    b"\xff\xfe": "this is UTF-16 text (Excel 'Unicode Text'); save it as 'CSV UTF-8' instead.",
    b"\xfe\xff": "this is UTF-16 text; save it as 'CSV UTF-8' instead.",
}
# Three UTF-8 Cyrillic letters in a row (lead byte D0-D3 + continuation byte). Windows-1251
# text practically never has this pattern ('Р«С»Т«'), real UTF-8 Kazakh or Russian always does.
UTF8_CYRILLIC = re.compile(rb"(?:[\xd0-\xd3][\x80-\xbf]){3}")
CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
SEP_LINE = re.compile(r"^sep=(.)\s*$", re.IGNORECASE)


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


def _reject(file_name: str, why: str) -> InputFileError:
    return InputFileError(f"{file_name}: {why}")


def _check_binary(content: bytes, file_name: str) -> None:
    for magic, why in MAGIC.items():
        if content.startswith(magic):
            raise _reject(file_name, why)
    nul = content.find(b"\x00")
    if nul >= 0:
        line = content.count(b"\n", 0, nul) + 1
        raise _reject(
            file_name,
            f"contains NUL bytes (first on line {line}): this is a binary file, not CSV text. "
            "Save it from Excel as 'CSV UTF-8' or 'CSV (comma delimited)'.",
        )


SCAN_BYTES = 16 * 1024 * 1024  # newlines are looked for a block at a time: no file-sized mask


def _newlines(content: bytes) -> np.ndarray:
    """The positions of the line feeds in ``content``."""
    data = np.frombuffer(content, dtype=np.uint8)
    parts = [
        np.flatnonzero(data[start : start + SCAN_BYTES] == 10) + start
        for start in range(0, len(data), SCAN_BYTES)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _check_lines(content: bytes, file_name: str, newlines: np.ndarray) -> None:
    """Refuse a line longer than MAX_LINE_BYTES (``newlines``: the line feeds' positions)."""
    bounds = np.concatenate(([-1], newlines, [len(content)]))
    lengths = np.diff(bounds) - 1
    longest = int(lengths.argmax())
    if lengths[longest] > MAX_LINE_BYTES:
        raise _reject(
            file_name,
            f"line {longest + 1} is {lengths[longest]:,} bytes long; a CSV line may be at most "
            f"{MAX_LINE_BYTES:,} bytes. Is this really a table?",
        )


def _decode(content: bytes, file_name: str) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        encoding, body = "utf-8-sig", content[3:]
    else:
        encoding, body = "utf-8", content
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = body.count(b"\n", 0, exc.start) + 1
        if encoding == "utf-8-sig" or UTF8_CYRILLIC.search(body):
            raise _reject(
                file_name,
                f"mixed text encodings: the file is UTF-8 but line {bad_line} is not "
                "(probably Windows-1251). Save the whole file again in one encoding.",
            ) from None
        try:
            text, encoding = body.decode("cp1251"), "cp1251"
        except UnicodeDecodeError:
            raise _reject(
                file_name, "is neither UTF-8 nor Windows-1251 text; save it as 'CSV UTF-8'."
            ) from None
    text = text.rstrip("\x1a")  # old DOS tools end files with Ctrl-Z
    # CONTROL's characters are ASCII: in UTF-8 and Windows-1251 alike each is its own byte and
    # no other byte stands for one, so the bytes say whether the text holds any (a translate
    # keeping only those bytes: 0.07 s for 134 MB, where the regex over the text took 0.37 s)
    control = _has_control(body) and CONTROL.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise _reject(
            file_name,
            f"contains the control character U+{ord(control.group()):04X} on line {line}: "
            "this is not a CSV text file.",
        )
    return text, encoding


_NOT_CONTROL = bytes(b for b in range(256) if not CONTROL.match(chr(b)) or b >= 0x80)


def _has_control(body: bytes) -> bool:
    """Whether ``body`` (ignoring the Ctrl-Z bytes that end it) holds a byte of CONTROL."""
    return bool(body.rstrip(b"\x1a").translate(None, _NOT_CONTROL))


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
            raise _reject(
                file_name,
                f"the column '{header.strip()}' appears twice in the header "
                f"(columns {first} and {position}); rename or delete one.",
            )
        out.append(name)
    return out


def _first_line(text: str) -> str:
    """The text up to the first line break (without copying the rest, as split would)."""
    end = text.find("\n")
    return (text if end < 0 else text[:end]).rstrip("\r")


def _quoted_line_break(text: str) -> bool:
    """Whether some line holds an odd number of quotes (a quoted field spans lines), found from
    the positions of quotes and line breaks only, without a copy of the text per line."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    if not len(quotes):
        return False
    ends = np.append(np.flatnonzero(data == ord("\n")), len(data))
    per_line = np.diff(np.searchsorted(quotes, ends), prepend=0)
    return bool((per_line % 2).any())


def _ragged_rows(text: str, delimiter: str, width: int) -> list[tuple[int, int]]:
    """(data row, field count) of the first rows whose field count differs from the header's.
    Vectorised over lines; falls back to the csv module when a quoted field spans lines."""
    if '"' in text and _quoted_line_break(text):
        return _ragged_rows_csv(text, delimiter, width)
    lines = pl.Series("line", [text]).str.split("\n").explode()
    unquoted = lines
    if '"' in text:
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


def _ragged_unquoted(
    data: bytes, delimiter: str, width: int, newlines: np.ndarray | None = None
) -> list[tuple[int, int]]:
    """``_ragged_rows`` of a file without quotes, from its UTF-8 bytes (a line's fields are
    its delimiters + 1), counted a block of lines at a time: no copy of the file per line.
    ``newlines``: the line feeds' positions in ``data`` when already found."""
    raw = np.frombuffer(data, dtype=np.uint8)
    found = _newlines(data) if newlines is None else newlines
    ends = np.append(found, len(raw))  # each line's end (exclusive)
    fields = []
    first = 0  # the block's first line
    while first < len(ends):
        low = int(ends[first - 1]) + 1 if first else 0
        last = max(int(np.searchsorted(ends, low + SCAN_BYTES, side="right")), first + 1)
        found = np.flatnonzero(raw[low : ends[last - 1]] == ord(delimiter)) + low
        fields.append(np.diff(np.searchsorted(found, ends[first:last]), prepend=0) + 1)
        first = last
    suspects = np.flatnonzero(np.concatenate(fields) != width)
    suspects = suspects[suspects > 0]  # line 0 is the header
    counts = np.concatenate(fields)
    bad: list[tuple[int, int]] = []
    for batch in range(0, len(suspects), 1_000):  # blank lines are no rows: skip them
        rows = suspects[batch : batch + 1_000]
        lines = [data[(ends[r - 1] + 1) : ends[r]].decode("utf-8") for r in rows]
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


def _ragged_message(bad: list[tuple[int, int]], width: int, delimiter: str) -> str:
    shown = ", ".join(
        f"row {row} has {fields}" if fields >= 0 else f"line {row} is not valid CSV"
        for row, fields in bad[:SHOWN_ROWS]
    )
    more = " and more" if len(bad) > SHOWN_ROWS else ""
    return (
        f"rows do not have the {width} fields of the header (data {shown}{more}). "
        f"Check the {DELIMITER_NAMES.get(delimiter, repr(delimiter))} delimiters and quotes."
    )


def _layout(text: str) -> tuple[str, str]:
    """The text from the header on (blank lines and an Excel ``sep=`` line removed) and the
    delimiter: the ``sep=`` one, else the most frequent of comma, semicolon, tab in the header."""
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    text = text.lstrip("\r\n")
    first = _first_line(text)
    sep = SEP_LINE.match(first)
    if sep and sep.group(1) in DELIMITERS:
        text = text.split("\n", 1)[1].lstrip("\r\n") if "\n" in text else ""
        return text, sep.group(1)
    return text, _delimiter(first)


def _check_size(content, file_name: str, max_bytes: int | None) -> bytes:
    if not isinstance(content, bytes | bytearray | memoryview):
        raise _reject(file_name, "no file content was given.")
    content = bytes(content)
    if max_bytes is not None and len(content) > max_bytes:
        raise _reject(
            file_name,
            f"the file is {len(content) / 1e6:,.1f} MB; the limit is {max_bytes / 1e6:,.0f} MB.",
        )
    blank = b" \t\r\n\xef\xbb\xbf"
    # Strip a copy of the start only: stripping the whole file would copy all of it.
    if not content[:65_536].strip(blank) and not content.strip(blank):
        raise _reject(file_name, "the file is empty.")
    return content


def _check_row_count(content: bytes, file_name: str, max_rows: int | None) -> None:
    """Refuse a file with more lines than ``max_rows`` data rows (+ header, ``sep=`` line and a
    few blank lines) before parsing: counting newlines costs one pass over the bytes, parsing
    them costs gigabytes. Quoted line breaks count too, so the cap is slightly conservative."""
    if max_rows is None:
        return
    lines = content.count(b"\n") + content.count(b"\r") * (b"\n" not in content)
    if lines > max_rows + 10:
        raise _reject(
            file_name,
            f"the file has about {lines - 1:,} rows; at most {max_rows:,} can be loaded at once. "
            "Split it into smaller files.",
        )


def _header(text: str, file_name: str) -> tuple[str, str, list[str], list[str]]:
    """The text from its header on, its delimiter, the header cells as written and normalised;
    refuses a file without a header or with too many columns."""
    text, delimiter = _layout(text)
    header_line = _first_line(text)
    if not header_line.strip():
        raise _reject(file_name, "the file has no header row.")
    raw_headers = _split_header(header_line, delimiter)
    if len(raw_headers) > MAX_COLUMNS:
        raise _reject(
            file_name,
            f"the header has {len(raw_headers):,} columns; at most {MAX_COLUMNS} are allowed.",
        )
    return text, delimiter, raw_headers, _normalise_headers(raw_headers, file_name)


def read_header(content: bytes, file_name: str, *, max_bytes: int | None = None) -> RawTable:
    """The file's header only (a table with no rows), read from its first bytes: enough to
    refuse missing or duplicate columns before a single row is parsed (issue 13: a 199 MB file
    with one short column used to cost gigabytes before that answer)."""
    content = _check_size(content, file_name, max_bytes)
    _check_binary(content[:HEAD_BYTES], file_name)
    head = content[:HEAD_BYTES]
    if len(content) > HEAD_BYTES:
        # Cut at a line end so no UTF-8 character is split and the header line is whole.
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        if cut < 0:
            raise _reject(
                file_name,
                f"line 1 is longer than {MAX_LINE_BYTES:,} bytes; is this really a table?",
            )
        head = head[: cut + 1]
    text, encoding = _decode(head, file_name)
    text, delimiter, raw_headers, names = _header(text, file_name)
    frame = pl.DataFrame(schema={ROW: pl.Int64, **dict.fromkeys(names, pl.String)})
    headers = [h.strip() for h in raw_headers]
    return RawTable(frame, headers, encoding, delimiter, delimiter != ",", file_name)


def _utf8(content: bytes, decoded: str, text: str, encoding: str) -> bytes:
    """``text`` (the decoded file from its header on) as UTF-8 bytes: when the upload already
    is UTF-8 and ``text`` is its tail (the usual case) these are the uploaded bytes themselves
    (a slice at most), not a second encoded copy of the file."""
    if encoding == "cp1251" or not decoded.endswith(text):
        return text.encode("utf-8")
    start = len(decoded[: len(decoded) - len(text)].encode("utf-8"))
    start += 3 if encoding == "utf-8-sig" else 0
    end = len(content.rstrip(b"\x1a"))  # as _decode strips them
    return content if (start, end) == (0, len(content)) else content[start:end]


def read_table(
    content: bytes,
    file_name: str,
    *,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> RawTable:
    """Read an uploaded file as a table of strings, or raise InputFileError saying why not."""
    content = _check_size(content, file_name, max_bytes)
    _check_binary(content, file_name)
    _check_row_count(content, file_name, max_rows)
    newlines = _newlines(content)
    _check_lines(content, file_name, newlines)
    decoded, encoding = _decode(content, file_name)
    text, delimiter, raw_headers, names = _header(decoded, file_name)
    data = _utf8(content, decoded, text, encoding)
    if b'"' in data:
        bad = _ragged_rows(text, delimiter, len(raw_headers))
    else:
        # the line feeds found in the upload are data's own when data is the upload (UTF-8)
        found = newlines if data is content else None
        bad = _ragged_unquoted(data, delimiter, len(raw_headers), found)
    del decoded, text  # the file as a str (up to 4 bytes a character) is not needed any more
    if bad:
        raise _reject(file_name, _ragged_message(bad, len(raw_headers), delimiter))
    try:
        frame = pl.read_csv(
            data,
            separator=delimiter,
            infer_schema=False,
            has_header=True,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise _reject(file_name, f"cannot be read as CSV ({why}).") from None
    if frame.width != len(names):
        raise _reject(file_name, _ragged_message([(0, frame.width)], len(names), delimiter))
    frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    # a few columns at a time: their copies beside the frame, stripped on every core
    for at in range(0, frame.width, STRIPPED_AT_ONCE):
        batch = frame.columns[at : at + STRIPPED_AT_ONCE]
        values = [pl.col(name).str.strip_chars() for name in batch]
        frame = frame.with_columns(
            pl.when(value.str.len_bytes() > 0).then(value).alias(name)
            for name, value in zip(batch, values, strict=True)
        )
    # Excel keeps formatted but empty columns: no header and no value -> not a column.
    empty = [
        n
        for n, h in zip(names, raw_headers, strict=True)
        if not h.strip() and frame[n].is_null().all()
    ]
    keep = [(n, h) for n, h in zip(names, raw_headers, strict=True) if n not in empty]
    frame = frame.drop(empty)
    # Excel leaves blank rows; drop them but keep each row's number in the file for messages.
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    frame = frame.filter(~pl.all_horizontal(pl.exclude(ROW).is_null()))
    headers = [h.strip() for _, h in keep]
    return RawTable(frame, headers, encoding, delimiter, delimiter != ",", file_name)
