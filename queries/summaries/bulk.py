"""Bulk writes of polars frames at the driver, in the caller's transaction: PostgreSQL COPY
(CSV), SQLite ``executemany`` of multi-row INSERTs built column by column. Used by the summary
store and by the ingest, which sits above it (one implementation of both).

SQLite's per-row cost is mostly the statement's own (one INSERT carries up to 32 rows) and the
binding of Python objects, so as little is bound as the values allow: a column of one value is
a literal, integer columns of a small range share bound integers that SQL unpacks, and so do
text columns of a few words (as codes a CASE of literals turns back into words), gaps are
stand-ins that NULLIF turns back into NULL, booleans are the ints 0/1 (the driver sends
``bool`` and ``None`` through its adapter lookup), and another column with few distinct
strings (dates, many labels) hands out one shared ``str`` per value instead of one per row.
Python's cycle collector is paused meanwhile."""

from __future__ import annotations

import gc
import io
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

import numpy as np
import polars as pl
from sqlalchemy import Connection

CHUNK = 100_000  # rows converted at a time: no Python copy of a whole frame is held
PROBE = 2_000  # a string column is shared out when these first values repeat enough
ROWS_PER_STATEMENT = 32  # SQLite: rows in one INSERT (fewer when that binds too many values)
PACK_BITS = 62  # bits of one bound integer that small integer columns share
FIELD_BITS = 6  # a column shares a bound integer when its values and a gap code fit in these
# a text column of at most this many words is bound as codes (a gap code fits in 5 bits),
# when its words hold at most WORD_BYTES bytes: the CASE is repeated in each row of a statement
WORD_CODES, WORD_BYTES = 31, 512


def insert_frame(
    conn: Connection,
    table: str,
    frame: pl.DataFrame,
    *,
    chunk: int = CHUNK,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Insert a frame whose columns are columns of ``table``, chunk by chunk; ``progress``
    hears the fraction written after each chunk but the last (the caller reports the end)."""
    if frame.is_empty():
        return
    columns = frame.columns
    if conn.dialect.name == "postgresql":
        copy_csv(conn, table, columns, chunks(frame, chunk, progress))
        return
    limit = _variable_limit(conn)
    into = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
    with _collector_paused():
        for part in chunks(frame, chunk, progress):
            fields, bound = _fields(part)
            # several rows per statement: SQLite's cost per executed statement (reset, bind,
            # step) is most of a narrow row's (1M responses 4.0 -> 3.5 s, 670k summary cells
            # 2.3 -> 1.4 s)
            per = max(1, min(ROWS_PER_STATEMENT, limit // max(1, len(bound))))
            for rows, params in _statements(bound, part.height, per):
                sql = into + ", ".join(_row_sql(fields, at * len(bound)) for at in range(rows))
                conn.exec_driver_sql(sql, params)  # type: ignore[arg-type]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while rows are bound: a chunk's parameters are a million
    tuples and values, none in a cycle, and the collections their creation set off walked
    them again and again for nothing. Put back as it was (when calls overlap in threads, as
    the first found it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# One column of a row in VALUES: SQL before the parameter, the parameter's index among the
# row's bound values (None: nothing bound, the SQL is whole), SQL after it.
Field = tuple[str, int | None, str]


def _fields(part: pl.DataFrame) -> tuple[list[Field], list[list]]:
    """How each column of a chunk goes into one row of VALUES, and the bound values' lists.
    Columns of a few values (scores, flags, ages; codes and labels) share bound integers: each
    takes some bits of it, which SQL shifts and masks back out (a 1M-row survey chunk binds 8
    values a row instead of 21: 0.5 s less at 1M responses), a text column's codes turned back
    into its words by a CASE of literals (no string bound and copied per row)."""
    fields: list[Field] = []
    bound: list[list] = []
    packed: list[tuple[int, _Codes]] = []  # (field, its codes)
    for column in part.iter_columns():
        if (codes := _small_codes(column)) is not None:
            packed.append((len(fields), codes))
            fields.append(("", None, ""))  # filled in below
            continue
        mark, values = _bound(column)
        if values is None:
            fields.append((mark, None, ""))
        else:
            before, after = mark.split("?")  # "?" or "NULLIF(?, n)": no text of the frame
            fields.append((before, len(bound), after))
            bound.append(values)
    word, shift = np.zeros(part.height, dtype=np.int64), 0
    for at, (field, codes) in enumerate(packed):
        bits = codes.span.bit_length()  # the codes 0 .. span - 1 are values, span is a gap
        word |= codes.codes.to_numpy().astype(np.int64) << shift
        before, after = codes.around(f" >> {shift}) & {(1 << bits) - 1}")
        fields[field] = (before, len(bound), after)
        shift += bits
        if at + 1 == len(packed) or shift + packed[at + 1][1].span.bit_length() > PACK_BITS:
            bound.append(word.tolist())
            word, shift = np.zeros(part.height, dtype=np.int64), 0
    return fields, bound


@dataclass(frozen=True)
class _Codes:
    """A column as small codes (``span`` for a gap), and the SQL around the bits that hold
    one (``around`` of the shift-and-mask text) giving its value back."""

    codes: pl.Series
    span: int
    around: Callable[[str], tuple[str, str]]


def _small_codes(column: pl.Series) -> _Codes | None:
    """A column of a small range of integers, or of a few words, as codes; else None."""
    if (small := _small_range(column)) is not None:
        low, span = small
        codes = (column.cast(pl.Int64) - low).fill_null(span)
        if column.has_nulls():
            return _Codes(codes, span, lambda bits: ("NULLIF((", f"{bits}, {span}) + {low}"))
        return _Codes(codes, span, lambda bits: ("((", f"{bits}) + {low}"))
    if (words := _few_words(column)) is None:
        return None
    codes = column.cast(pl.Enum(words)).to_physical().cast(pl.Int64).fill_null(len(words))
    cases = " ".join(f"WHEN {k} THEN {_literal(word)}" for k, word in enumerate(words))
    return _Codes(codes, len(words), lambda bits: ("CASE (", f"{bits} {cases} END"))


def _few_words(column: pl.Series) -> list[str] | None:
    """The distinct words of a text column holding at most WORD_CODES of them, short enough
    for a CASE of literals in each row of a statement (not one word throughout: a literal)."""
    if column.dtype != pl.String or column.head(PROBE).n_unique() > WORD_CODES + 1:
        return None
    words = column.drop_nulls().unique().sort()
    if not 1 <= len(words) <= WORD_CODES or (len(words) == 1 and not column.has_nulls()):
        return None
    if words.str.len_bytes().sum() > WORD_BYTES:
        return None
    found = words.to_list()
    return None if any("\x00" in word for word in found) else found


def _small_range(column: pl.Series) -> tuple[int, int] | None:
    """(lowest value, number of values from it to the highest) of an integer column whose
    values and a gap code fit in ``FIELD_BITS`` bits and that is not one value throughout."""
    if column.dtype == pl.Boolean:
        column = column.cast(pl.Int8)
    if not column.dtype.is_integer() or column.dtype == pl.UInt64:
        return None
    low, high = column.min(), column.max()
    if low is None or (low == high and not column.has_nulls()):
        return None  # a literal (_bound)
    span = int(high) - int(low) + 1  # type: ignore[arg-type]
    return (int(low), span) if span.bit_length() <= FIELD_BITS else None  # type: ignore[arg-type]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _row_sql(fields: list[Field], first: int) -> str:
    """One row of VALUES whose bound values are numbered from ``first`` + 1."""
    return (
        "("
        + ", ".join(
            before + ("" if at is None else f"?{first + at + 1}") + after
            for before, at, after in fields
        )
        + ")"
    )


def _statements(bound: list[list], height: int, per: int) -> Iterator[tuple[int, list[tuple]]]:
    """(rows per statement, each statement's values as one tuple) for ``height`` rows of the
    bound columns: statements of ``per`` rows, then single rows for what is left. The tuples
    are cut in C from one flat list of the values in row order: no tuple per row, no slice."""
    width = len(bound)
    flat: list = [None] * (width * height)
    for at, column in enumerate(bound):
        flat[at::width] = column
    values = iter(flat)
    statements, rest = divmod(height, per)
    for count, rows in ((statements, per), (rest, 1)):
        if count and width:
            yield rows, list(islice(zip(*[values] * (rows * width), strict=False), count))
        elif count:
            yield rows, [()] * count


def _variable_limit(conn: Connection) -> int:
    """How many parameters one SQLite statement may bind (999 before SQLite 3.32)."""
    raw = conn.connection.driver_connection
    try:
        return int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except AttributeError:  # Python before 3.11
        return 999


def chunks(
    frame: pl.DataFrame, size: int, progress: Callable[[float], None] | None = None
) -> Iterator[pl.DataFrame]:
    """``frame`` ``size`` rows at a time; progress is reported when the next chunk is asked
    for, i.e. once the previous one is written."""
    for offset in range(0, frame.height, size):
        yield frame.slice(offset, size)
        if progress and offset + size < frame.height:
            progress((offset + size) / frame.height)


def copy_csv(conn: Connection, table: str, columns, frames: Iterable[pl.DataFrame]) -> None:
    """PostgreSQL COPY of frames (CSV: dates ISO, floats written to round-trip exactly)."""
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        for frame in frames:
            buffer = io.BytesIO()
            frame.write_csv(buffer, include_header=False)
            copy.write(buffer.getvalue())


def driver_rows(frame: pl.DataFrame) -> list[tuple]:
    """The frame's rows as tuples for SQLite's executemany, built column by column (each
    column to a list natively, then zipped): booleans as 0/1, dates as ISO text, repeated
    strings shared."""
    return list(zip(*(_values(column) for column in frame.iter_columns()), strict=True))


def _bound(column: pl.Series) -> tuple[str, list | None]:
    """How one column of a chunk goes into SQLite's VALUES: its SQL (a parameter, or a
    literal) and the values bound to it (None: nothing to bind). Fewer and cheaper parameters
    per row: a column holding one value is written once as a literal, and an integer column
    with gaps binds a number below its values that NULLIF turns back into NULL."""
    if column.dtype == pl.Boolean:
        column = column.cast(pl.Int8)
    if (text := _one_text(column)) is not None:
        return text, None
    if not column.dtype.is_integer() or column.dtype == pl.UInt64:
        return "?", _values(column)
    low, high = column.min(), column.max()
    if low is None:  # no value at all
        return "NULL", None
    if not column.has_nulls():
        return (str(int(low)), None) if low == high else ("?", column.to_list())
    missing = int(low) - 1  # type: ignore[arg-type]
    if missing < -(2**63):
        return "?", column.to_list()
    return f"NULLIF(?, {missing})", column.cast(pl.Int64).fill_null(missing).to_list()


def _one_text(column: pl.Series) -> str | None:
    """A text or date column holding one value and no gap as an SQL string literal (e.g. a
    wave's source and label in its summary rows), else None."""
    if column.dtype not in (pl.String, pl.Date) or column.has_nulls():
        return None
    if column.dtype == pl.Date:
        column = column.cast(pl.String)
    first = column.first()
    if first is None or "\x00" in first or not (column == first).all():
        return None
    return "'" + first.replace("'", "''") + "'"


def _values(column: pl.Series) -> list:
    if column.dtype == pl.Boolean:
        return column.cast(pl.Int8).to_list()
    if column.dtype == pl.Date:
        column = column.cast(pl.String)
    if column.dtype == pl.String and _repeats(column):
        return _shared(column)
    return column.to_list()


def _repeats(column: pl.Series) -> bool:
    """Whether the column's first values hold few distinct strings (a guess: either answer
    gives the same values, only the speed differs)."""
    head = column.head(PROBE)
    return head.n_unique() * 4 <= head.len()


def _shared(column: pl.Series) -> list:
    """The column's values as a list in which equal strings are one object: the distinct
    values made once, then picked by their codes (numpy's take of object pointers)."""
    distinct = column.drop_nulls().unique()
    if distinct.is_empty():
        return column.to_list()
    values = np.array([*distinct.to_list(), None], dtype=object)
    codes = column.cast(pl.Enum(distinct)).to_physical().cast(pl.UInt32).fill_null(len(distinct))
    return values[codes.to_numpy()].tolist()
