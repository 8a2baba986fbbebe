"""The survey insert path as it was before the ingest-speed work (issue 11), kept here only so
bench/bench_ingest.py can show old and new side by side in one run. Not used by the app.

Previous design: the whole frame converted at once, responses and the long trust scores both by
executemany (SQLite) / COPY (PostgreSQL) straight into their tables, every score checked row by
row by the trust_scores -> responses foreign key (schema before migration 0006)."""

from __future__ import annotations

import io

import polars as pl
from sqlalchemy import Connection, Table, func, select

from queries.contract import TRUST_PREFIX
from queries.ingest.store import RESPONSE_COLUMNS, wave_ids
from queries.schema.data import responses, trust_scores
from queries.vocab import Stage

CHUNK = 100_000
SCHEMA_BEFORE = "0005"  # the revision whose schema this path was written for
# the responses columns of that schema (0010 added the contract's trust items as columns)
COLUMNS = tuple(c for c in RESPONSE_COLUMNS if not c.startswith(TRUST_PREFIX))


def bulk_insert(conn: Connection, table: Table, frame: pl.DataFrame, progress=None) -> None:
    if frame.is_empty():
        return
    columns = frame.columns
    frame = frame.with_columns(pl.col(pl.Date).cast(pl.String))
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
        with cursor.copy(sql) as copy:
            for offset in range(0, frame.height, CHUNK):
                buffer = io.BytesIO()
                frame.slice(offset, CHUNK).write_csv(buffer, include_header=False)
                copy.write(buffer.getvalue())
                if progress:
                    progress(min(1.0, (offset + CHUNK) / frame.height))
        if progress:  # (bench only) the COPY's deferred per-row checks ran at its end: charge
            progress(1.0)  # them to this stage, as today's path does
        return
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    for offset in range(0, frame.height, CHUNK):
        conn.exec_driver_sql(sql, frame.slice(offset, CHUNK).rows())
        if progress:
            progress(min(1.0, (offset + CHUNK) / frame.height))


def insert_survey(conn: Connection, upload_id: int, clean: pl.DataFrame, progress=None) -> int:
    first_id = int(conn.execute(select(func.coalesce(func.max(responses.c.id), 0))).scalar()) + 1
    rows = clean.join(wave_ids(conn, clean), on=["source", "wave"], how="left").with_columns(
        id=pl.int_range(first_id, first_id + clean.height, dtype=pl.Int64),
        upload_id=pl.lit(upload_id, dtype=pl.Int64),
    )
    bulk_insert(
        conn,
        responses,
        rows.select(COLUMNS),
        (lambda f: progress(0.1 + 0.4 * f, Stage.RESPONSES)) if progress else None,
    )
    trust_cols = [c for c in rows.columns if c.startswith(TRUST_PREFIX)]
    scores = (
        rows.select("id", *trust_cols)
        .unpivot(index="id", variable_name="institution", value_name="score")
        .drop_nulls("score")
        .select(
            pl.col("id").alias("response_id"),
            pl.col("institution").str.strip_prefix(TRUST_PREFIX),
            pl.col("score").cast(pl.Int16),
        )
        .sort("response_id", "institution")
    )
    bulk_insert(
        conn,
        trust_scores,
        scores,
        (lambda f: progress(0.5 + 0.45 * f, Stage.TRUST_SCORES)) if progress else None,
    )
    # the summary store's hook, as in today's path, so both designs do the same work
    from queries.summaries.store import after_survey_insert

    after_survey_insert(conn, clean)
    return clean.height
