"""The bulk write path (queries/summaries/bulk.py, issue 11 ingest at speed) on SQLite and
PostgreSQL: every value comes back exactly as the frame held it, whatever each chunk's binding
choice was (integer literals for a column of one value, NULLIF stand-ins for gaps, shared
strings, booleans as 0/1); and a survey load, which checks its references once on SQLite
instead of row by row, refuses rows that refer to nothing and gives its connection back with
foreign keys on."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    delete,
    event,
    func,
    select,
)

from queries.db import make_engine
from queries.errors import SenimError
from queries.ingest.pipeline import ingest_bytes
from queries.schema.data import regions, responses
from queries.schema.summaries import summary_cells
from queries.summaries.bulk import insert_frame
from tests.uploads_helpers import survey_csv, survey_rows

TABLE = Table(
    "bulk_check",
    MetaData(),
    Column("k", Integer, primary_key=True),
    Column("flag", Boolean),
    Column("small", SmallInteger),
    Column("extreme", BigInteger),
    Column("same", Integer),
    Column("absent", Integer),
    Column("label", String(16)),
    Column("word", String(16)),
    Column("day", Date),
    Column("x", Float),
)
# chunks of 3 rows: chunk 1 has gaps, chunk 2 a single value, chunk 3 no value at all in
# "same"; "small" reaches Int8's minimum beside a gap (the stand-in is then below Int8)
FRAME = pl.DataFrame(
    {
        "k": range(1, 11),
        "flag": [True, None, False, True, True, True, None, None, None, False],
        "small": [-128, None, 10, 3, 3, 3, None, None, None, 0],
        "extreme": [-(2**63), None, 2**63 - 1, 0, 0, 0, None, None, None, -1],
        "same": [7, None, 7, 7, 7, 7, None, None, None, 7],
        "absent": [None] * 10,
        "label": ["a", "a", None, "b", "b", "b", None, None, None, "it's"],
        "word": ["ещё", "x", "y", "z", "w", "v", "u", "t", "s", "r"],
        "day": [dt.date(2025, 1, d) for d in range(1, 11)],
        "x": [
            0.1 + 0.2,
            1e-300,
            -2.5,
            1 / 3,
            5e300,
            0.0,
            -0.0,
            7.0,
            2.0**-52,
            1.7976931348623157e308,
        ],
    },
    schema_overrides={"small": pl.Int8, "same": pl.Int16, "absent": pl.Int32},
)


def test_a_frame_comes_back_exactly_whatever_each_chunk_binds(engine):
    TABLE.create(engine)
    with engine.begin() as conn:
        insert_frame(conn, TABLE.name, FRAME, chunk=3)
    with engine.connect() as conn:
        stored = conn.execute(select(TABLE).order_by(TABLE.c.k)).all()
    assert [tuple(row) for row in stored] == list(FRAME.iter_rows())


def test_rows_go_several_to_a_statement_and_come_back_exactly(engine):
    # 150 rows in chunks of 100: statements of several rows, then single rows for the rest of
    # each chunk; then 70 rows whose every column holds one value (nothing bound at all)
    TABLE.create(engine)
    many = pl.concat([FRAME] * 15).with_columns(k=pl.int_range(1, 151))
    alike = FRAME.slice(3, 1).drop("k", "x").select(pl.all().repeat_by(70).explode())
    if engine.dialect.name == "postgresql":  # COPY binds nothing; k's sequence would start at 1
        alike = alike.with_columns(k=pl.int_range(151, 221))
    with engine.begin() as conn:
        insert_frame(conn, TABLE.name, many, chunk=100)
        insert_frame(conn, TABLE.name, alike, chunk=100)  # k: the rowids that follow
    with engine.connect() as conn:
        stored = conn.execute(select(TABLE).order_by(TABLE.c.k)).all()
    alike = alike.with_columns(k=pl.int_range(151, 221), x=pl.lit(None, pl.Float64))
    alike = alike.select(FRAME.columns)
    expected = pl.concat([many, alike])
    assert [tuple(row) for row in stored] == list(expected.iter_rows())


def test_small_integer_columns_sharing_bound_integers_come_back_exactly(engine):
    # twelve columns of 6-bit ranges (two bound integers a row), flags, negative lows, gaps
    items = [f"i{k}" for k in range(12)]
    table = Table(
        "bulk_small",
        MetaData(),
        Column("k", Integer, primary_key=True),
        Column("flag", Boolean),
        *(Column(name, SmallInteger) for name in items),
    )
    table.create(engine)
    frame = pl.DataFrame(
        {
            "k": range(150),
            "flag": [(None, True, False)[i % 3] for i in range(150)],
            **{
                name: [None if (i + k) % 7 == 0 else (i * (k + 3)) % 40 - 5 * k for i in range(150)]
                for k, name in enumerate(items)
            },
        },
        schema_overrides=dict.fromkeys(items, pl.Int16),
    )
    from queries.summaries.bulk import _fields

    assert len(_fields(frame.drop("k"))[1]) == 2  # 13 columns, two bound integers a row
    with engine.begin() as conn:
        insert_frame(conn, table.name, frame, chunk=100)
    with engine.connect() as conn:
        stored = conn.execute(select(table).order_by(table.c.k)).all()
    assert [tuple(row) for row in stored] == list(frame.iter_rows())


def test_an_int_column_of_one_value_is_written_as_a_literal():
    # what makes the chunk cheaper: nothing of "same" or "absent" is bound, gaps are stand-ins
    from queries.summaries.bulk import _bound

    assert _bound(FRAME.get_column("same").slice(3, 3)) == ("7", None)
    assert _bound(FRAME.get_column("absent")) == ("NULL", None)
    assert _bound(FRAME.get_column("small").slice(0, 3)) == ("NULLIF(?, -129)", [-128, -129, 10])
    # Int64's minimum beside a gap leaves no number below it: the gap is bound as None
    assert _bound(FRAME.get_column("extreme").slice(0, 3)) == ("?", [-(2**63), None, 2**63 - 1])
    assert _bound(FRAME.get_column("flag").slice(0, 3)) == ("NULLIF(?, -1)", [1, -1, 0])
    # text or dates of one value (a wave's source and label in its summary rows) likewise
    assert _bound(FRAME.get_column("label").slice(3, 3)) == ("'b'", None)
    assert _bound(FRAME.get_column("label").slice(9, 1)) == ("'it''s'", None)
    assert _bound(FRAME.get_column("day").slice(0, 1)) == ("'2025-01-01'", None)
    assert _bound(FRAME.get_column("label").slice(1, 2))[0] == "?"  # a gap: bound


def test_a_survey_load_checks_its_references_once_and_restores_foreign_keys(sqlite_db_url):
    engine = make_engine(sqlite_db_url)
    given_back: list[int] = []  # foreign_keys of every connection the pool takes back

    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_connection, _record) -> None:
        given_back.append(dbapi_connection.execute("PRAGMA foreign_keys").fetchone()[0])

    report = ingest_bytes(engine, "survey", survey_csv(survey_rows(5)), "a.csv")
    assert report.status == "loaded" and report.rows_loaded == 5
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.execute(select(func.count()).select_from(summary_cells)).scalar_one() > 0
        region = conn.execute(select(responses.c.region)).scalars().first()
    with engine.begin() as conn:  # regions nothing refers to yet, gone from the database
        conn.execute(delete(regions).where(regions.c.code != region))
    rows = survey_rows(3, wave="2025-Q4", region="Астана")
    with pytest.raises(SenimError, match="regions that do not exist"):
        ingest_bytes(engine, "survey", survey_csv(rows), "b.csv")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == 5
    assert len(given_back) > 5 and set(given_back) == {1}  # the failed load's connection too
    engine.dispose()


def test_text_columns_of_few_words_bound_as_codes_come_back_exactly(engine):
    # up to 31 words (a gap code beside them) go as codes that a CASE of literals turns back
    # into words; 32 words, or words too long for a CASE in every row, are bound as strings
    from queries.summaries.bulk import WORD_BYTES, WORD_CODES, _fields

    many = [f"w{k}'s «{k}»" for k in range(WORD_CODES)]
    columns = {
        "most": [None if i % 9 == 0 else many[i % WORD_CODES] for i in range(200)],
        "over": [f"o{i % (WORD_CODES + 1)}" for i in range(200)],
        "one": [None if i % 2 else "Қала" for i in range(200)],
        "long": [("x" * (WORD_BYTES // 2)) + str(i % 3) for i in range(200)],
    }
    table = Table(
        "bulk_words",
        MetaData(),
        Column("k", Integer, primary_key=True),
        *(Column(name, String(600)) for name in columns),
    )
    table.create(engine)
    frame = pl.DataFrame({"k": range(200), **columns})
    fields, bound = _fields(frame.drop("k"))
    cased = [before.startswith("CASE") for before, _, _ in fields]
    assert cased == [True, False, True, False] and len(bound) == 3  # codes share one integer
    with engine.begin() as conn:
        insert_frame(conn, table.name, frame, chunk=150)
    with engine.connect() as conn:
        stored = conn.execute(select(table).order_by(table.c.k)).all()
    assert [tuple(row) for row in stored] == list(frame.iter_rows())
