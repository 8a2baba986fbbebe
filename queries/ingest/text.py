"""An upload's bytes as UTF-8 text: refuse what is not text (file signatures, NUL bytes, control
characters) and find the encoding.

Encodings: UTF-8, UTF-8 with BOM, else Windows-1251. A file that is not valid UTF-8 but holds
UTF-8 Cyrillic words mixes two encodings (rows pasted from two sources): it is refused, naming
the first line that is not UTF-8, because decoding it either way would garble half the rows.
Any other non-UTF-8 file is decoded as Windows-1251 on purpose (every byte but 0x98 is defined
there), then refused if it holds control characters, which no text table has.

A UTF-8 upload is checked as bytes and handed on as bytes (the very bytes uploaded, or a slice):
no Python string of the whole file is made (decoding 134 MB took 0.23 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from queries.errors import InputFileError

BOM = b"\xef\xbb\xbf"
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
# Control characters are ASCII: in UTF-8 and Windows-1251 alike each is its own byte and no
# other byte stands for one, so the bytes say where the first one is.
CONTROL = re.compile(rb"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_CONTROL = bytes(b for b in range(256) if not CONTROL.match(bytes([b])))


@dataclass(frozen=True)
class FileText:
    """An upload as UTF-8 bytes: without its BOM and the Ctrl-Z bytes old DOS tools end files
    with, classic Mac line ends made line feeds. ``at``: where ``data`` starts in the upload
    when it is a part of it (else it was encoded afresh)."""

    data: bytes
    encoding: str
    at: int | None


def refused(file_name: str, why: str) -> InputFileError:
    """The error refusing a file, naming it."""
    return InputFileError(f"{file_name}: {why}")


def check_binary(content: bytes, file_name: str) -> None:
    """Refuse a file with a known binary signature or a NUL byte."""
    for magic, why in MAGIC.items():
        if content.startswith(magic):
            raise refused(file_name, why)
    nul = content.find(b"\x00")
    if nul >= 0:
        line = content.count(b"\n", 0, nul) + 1
        raise refused(
            file_name,
            f"contains NUL bytes (first on line {line}): this is a binary file, not CSV text. "
            "Save it from Excel as 'CSV UTF-8' or 'CSV (comma delimited)'.",
        )


def file_text(content: bytes, file_name: str) -> FileText:
    """``content`` as UTF-8 text, or InputFileError saying why it is not text."""
    start = len(BOM) if content.startswith(BOM) else 0
    encoding = "utf-8-sig" if start else "utf-8"
    body = content[start:] if start else content
    if _is_utf8(body):
        text = FileText(_without_eof(body), encoding, start)
    else:
        text = FileText(_from_cp1251(body, encoding, file_name), "cp1251", None)
    _check_control(text.data, file_name)
    if b"\n" not in text.data and b"\r" in text.data:  # classic Mac line ends
        return FileText(text.data.replace(b"\r", b"\n"), text.encoding, None)
    return text


def _is_utf8(body: bytes) -> bool:
    """Whether ``body`` is valid UTF-8, checked without a Python string of it (polars' check
    of the bytes: 134 MB in 0.02 s, where decoding took 0.23 s)."""
    try:
        pl.Series([body], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        return False
    return True


def _without_eof(data: bytes) -> bytes:
    """``data`` without the Ctrl-Z bytes ending it (a copy only when there are some)."""
    return data.rstrip(b"\x1a") if data.endswith(b"\x1a") else data


def _from_cp1251(body: bytes, encoding: str, file_name: str) -> bytes:
    """A body that is not UTF-8, as UTF-8 from Windows-1251, or refused as mixed encodings."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = body.count(b"\n", 0, exc.start) + 1
        if encoding == "utf-8-sig" or UTF8_CYRILLIC.search(body):
            raise refused(
                file_name,
                f"mixed text encodings: the file is UTF-8 but line {bad_line} is not "
                "(probably Windows-1251). Save the whole file again in one encoding.",
            ) from None
    try:
        text = body.decode("cp1251")
    except UnicodeDecodeError:
        raise refused(
            file_name, "is neither UTF-8 nor Windows-1251 text; save it as 'CSV UTF-8'."
        ) from None
    return text.rstrip("\x1a").encode("utf-8")


def _check_control(data: bytes, file_name: str) -> None:
    """Refuse text holding a control character (a translate keeping only those bytes says
    whether there is one: 0.05 s for 134 MB; the regex finds the first only then)."""
    if not data.translate(None, _NOT_CONTROL):
        return
    control = CONTROL.search(data)
    assert control is not None
    line = data.count(b"\n", 0, control.start()) + 1
    raise refused(
        file_name,
        f"contains the control character U+{control.group()[0]:04X} on line {line}: "
        "this is not a CSV text file.",
    )
