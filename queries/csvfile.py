"""Read an uploaded CSV exactly as Excel or a survey tool wrote it: detect the encoding, the
delimiter and decimal commas; refuse what is not a table with a message that says why."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from queries.errors import InputFileError

MAX_COLUMNS = 500
ROW = "_row"
MAX_LINE_BYTES = 1_000_000
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# File signatures of things people upload by mistake (or on purpose).
MAGIC = {
    b"PK\x03\x04": "a ZIP archive or an Excel .xlsx workbook (save it as CSV first)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook (save it as CSV first)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
}
# UTF-8 Cyrillic (lead byte D0/D1 + continuation byte): a file with these that is not valid
# UTF-8 as a whole mixes encodings.
UTF8_CYRILLIC = re.compile(rb"[\xd0\xd1][\x80-\xbf]")


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
    for magic, what in MAGIC.items():
        if content.startswith(magic):
            raise _reject(file_name, f"this is {what}, not a CSV text file.")
    nul = content.find(b"\x00")
    if nul >= 0:
        line = content.count(b"\n", 0, nul) + 1
        raise _reject(
            file_name,
            f"contains NUL bytes (first on line {line}): this is a binary file, not CSV text. "
            "Save it from Excel as 'CSV UTF-8' or 'CSV (comma delimited)'.",
        )


def _check_lines(content: bytes, file_name: str) -> None:
    newlines = np.flatnonzero(np.frombuffer(content, dtype=np.uint8) == 10)
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
        return body.decode("utf-8"), encoding
    except UnicodeDecodeError as exc:
        bad_line = body.count(b"\n", 0, exc.start) + 1
        if encoding == "utf-8-sig" or UTF8_CYRILLIC.search(body):
            raise _reject(
                file_name,
                f"mixed text encodings: the file is UTF-8 but line {bad_line} is not "
                "(probably Windows-1251). Save the whole file again in one encoding.",
            ) from None
    try:
        text = body.decode("cp1251")
    except UnicodeDecodeError:
        raise _reject(
            file_name, "is neither UTF-8 nor Windows-1251 text; save it as 'CSV UTF-8'."
        ) from None
    controls = sum(1 for ch in text[:100_000] if ord(ch) < 32 and ch not in "\t\r\n")
    if controls:
        raise _reject(file_name, "contains control characters: this is not a CSV text file.")
    return text, "cp1251"


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _normalise_headers(headers: list[str], file_name: str) -> list[str]:
    out: list[str] = []
    for position, header in enumerate(headers, start=1):
        name = header.strip().strip('"').strip().lower() or f"column_{position}"
        if name in out:
            raise _reject(file_name, f"the column '{header.strip()}' appears twice in the header.")
        out.append(name)
    return out


def read_table(content: bytes, file_name: str, *, max_bytes: int | None = None) -> RawTable:
    """Read an uploaded file as a table of strings, or raise InputFileError saying why not."""
    if max_bytes is not None and len(content) > max_bytes:
        raise _reject(
            file_name,
            f"the file is {len(content) / 1e6:,.1f} MB; the limit is {max_bytes / 1e6:,.0f} MB.",
        )
    if not content.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _reject(file_name, "the file is empty.")
    _check_binary(content, file_name)
    _check_lines(content, file_name)
    text, encoding = _decode(content, file_name)
    header_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = _delimiter(header_line)
    if header_line.count(delimiter) + 1 > MAX_COLUMNS:
        raise _reject(
            file_name,
            f"the header has {header_line.count(delimiter) + 1:,} columns; at most "
            f"{MAX_COLUMNS} are allowed.",
        )
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=delimiter,
            infer_schema=False,
            has_header=True,
            quote_char='"',
            raise_if_empty=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError) as exc:
        raise _reject(file_name, _ragged_message(text, delimiter, exc)) from None
    if frame.width == 0:
        raise _reject(file_name, "the file has no header row.")
    headers = list(frame.columns)
    names = [n if n != ROW else "_row_in_file" for n in _normalise_headers(headers, file_name)]
    frame = frame.rename(dict(zip(headers, names, strict=True)))
    frame = frame.with_columns(pl.all().str.strip_chars()).with_columns(
        pl.when(pl.all().str.len_bytes() == 0).then(None).otherwise(pl.all()).name.keep()
    )
    # Excel leaves blank rows; drop them but keep each row's number in the file for messages.
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    frame = frame.filter(~pl.all_horizontal(pl.exclude(ROW).is_null()))
    return RawTable(frame, headers, encoding, delimiter, delimiter != ",", file_name)


def _ragged_message(text: str, delimiter: str, exc: Exception) -> str:
    import csv

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    expected = None
    bad: list[int] = []
    try:
        for number, row in enumerate(reader):
            if expected is None:
                expected = len(row)
            elif row and len(row) != expected:
                bad.append(number)
                if len(bad) >= 10:
                    break
    except csv.Error as error:
        return f"cannot be read as CSV (line {reader.line_num}: {error})."
    if bad:
        rows = ", ".join(str(r) for r in bad)
        return (
            f"rows do not have the {expected} fields of the header (data rows {rows}). "
            f"Check the {DELIMITER_NAMES[delimiter]} delimiters and quotes."
        )
    return f"cannot be read as CSV ({str(exc).splitlines()[0][:200]})."
