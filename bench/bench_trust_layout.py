"""How to write trust ratings fast (issue 11): the same ratings of N respondents x 7 institutions
written in several layouts and ways, each in a transaction that is rolled back, on SQLite and
on PostgreSQL (a throwaway local server when installed). Prints wall and CPU seconds (this
process, and the database server's for PostgreSQL): on a shared machine CPU says more.

- long, row by row (previous): one bound row / CSV line per score, per-row foreign key
- long, set-based (before migration 0010; queries.ingest.store.insert_scores, which still
  writes items beyond the contract's): no per-row foreign key
- long, staging table + INSERT ... SELECT (PostgreSQL only)
- wide table: one row per respondent, one column per institution, a table of its own
- columns of responses (today, migration 0010): the scores written with the responses

Each figure is the responses and their scores together (the responses alone are the same in
every way but the last, which writes them with their score columns).

Usage: python bench/bench_trust_layout.py [RESPONDENTS]   (default 200,000)"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402
from sqlalchemy import Connection  # noqa: E402

from bench import legacy_ingest  # noqa: E402
from bench.bench_ingest import _server_cpu  # noqa: E402
from queries.contract import TRUST_INSTITUTIONS, TRUST_PREFIX  # noqa: E402
from queries.db import init_db, make_engine  # noqa: E402
from queries.ingest import store  # noqa: E402
from queries.ingest.uploads import start_upload  # noqa: E402
from queries.schema.data import responses  # noqa: E402
from queries.summaries.bulk import copy_csv  # noqa: E402

ITEMS = sorted(f"{TRUST_PREFIX}{i}" for i in TRUST_INSTITUTIONS)
LONG_DDL = (
    "CREATE TABLE {name} (response_id INTEGER NOT NULL, institution VARCHAR(64) NOT NULL, "
    "score SMALLINT NOT NULL CHECK (score BETWEEN 0 AND 10), "
    "PRIMARY KEY (response_id, institution){fk})"
)
FK = ", FOREIGN KEY (response_id) REFERENCES responses (id) ON DELETE CASCADE"


def ratings(n: int) -> pl.DataFrame:
    """``id`` 1..n and one column per institution, ~1 in 7 ratings missing (as the demo)."""
    frame = pl.DataFrame({"id": pl.int_range(1, n + 1, eager=True)})
    for k, item in enumerate(ITEMS):
        code = (pl.col("id") * (k + 3) * 2654435761) % 77
        frame = frame.with_columns(
            pl.when(code < 11).then(None).otherwise(code % 11).cast(pl.Int16).alias(item)
        )
    return frame


def respondents(conn: Connection, wide: pl.DataFrame, *, scores: bool = False) -> None:
    """The responses the ratings belong to (the foreign key's target), in this transaction;
    ``scores``: with their trust columns (today's layout)."""
    upload = conn.exec_driver_sql("SELECT max(id) FROM uploads").scalar()
    wave = conn.exec_driver_sql(
        "INSERT INTO survey_waves (source, wave, period_start) "
        "VALUES ('kurultai', '2025-Q1', '2025-01-01') RETURNING id"
    ).scalar()
    rows = wide.select(
        "id",
        upload_id=pl.lit(upload),
        wave_id=pl.lit(wave),
        respondent_id=pl.format("r{}", "id"),
        region=pl.lit("KZ-75"),
        weight=pl.lit(1.0),
    )
    if scores:
        rows = rows.with_columns(wide.select(ITEMS))
    store.bulk_insert(conn, responses, rows)


def long_row_by_row(conn: Connection, wide: pl.DataFrame) -> None:
    conn.exec_driver_sql(LONG_DDL.format(name="bench_scores_fk", fk=FK))
    table = _table("bench_scores_fk", ("response_id", "institution", "score"))
    legacy_ingest.bulk_insert(conn, table, store._long_scores(wide))


def long_set_based(conn: Connection, wide: pl.DataFrame) -> None:
    store.insert_scores(conn, wide)


def long_staged(conn: Connection, wide: pl.DataFrame) -> None:
    columns = ", ".join(f"{item} smallint" for item in ITEMS)
    conn.exec_driver_sql(f"CREATE TEMP TABLE stage (id integer, {columns}) ON COMMIT DROP")
    copy_csv(conn, "stage", wide.columns, iter([wide]))
    values = ", ".join(f"('{i.removeprefix(TRUST_PREFIX)}', s.{i})" for i in ITEMS)
    conn.exec_driver_sql(
        "INSERT INTO trust_scores (response_id, institution, score) "
        f"SELECT s.id, v.institution, v.score FROM stage s CROSS JOIN LATERAL (VALUES {values}) "
        "AS v(institution, score) WHERE v.score IS NOT NULL"
    )


def wide_table(conn: Connection, wide: pl.DataFrame) -> None:
    checks = ", ".join(f"{i} SMALLINT CHECK ({i} BETWEEN 0 AND 10)" for i in ITEMS)
    conn.exec_driver_sql(
        f"CREATE TABLE bench_wide (response_id INTEGER PRIMARY KEY REFERENCES responses (id), "
        f"{checks})"
    )
    table = _table("bench_wide", ("response_id", *ITEMS))
    store.bulk_insert(conn, table, wide.rename({"id": "response_id"}))


def columns_of_responses(conn: Connection, wide: pl.DataFrame) -> None:
    pass  # written with the responses (see measure)


def _table(name: str, columns: tuple[str, ...]):
    from sqlalchemy import column, table

    return table(name, *(column(c) for c in columns))


WAYS: dict[str, Callable] = {
    "long, row by row, per-row FK (previous)": long_row_by_row,
    "long, set-based, no per-row FK (before 0010)": long_set_based,
    "long, staging + INSERT ... SELECT, no FK": long_staged,
    "wide table, one row per respondent, with FK": wide_table,
    "columns of responses (today)": columns_of_responses,
}


def measure(url: str, wide: pl.DataFrame, server_cpu: Callable[[], float]) -> None:
    engine = make_engine(url)
    init_db(engine)
    start_upload(
        engine, kind="survey", file_name="b.csv", sha256="0" * 64, uploaded_by="b", status="loaded"
    )
    scores = store._long_scores(wide).height
    print(
        f"\n{engine.dialect.name}: {wide.height:,} respondents, {scores:,} scores "
        "(responses and scores written together)"
    )
    for name, write in WAYS.items():
        if write is long_staged and engine.dialect.name != "postgresql":
            continue
        with engine.connect() as conn:
            transaction = conn.begin()
            started, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
            respondents(conn, wide, scores=write is columns_of_responses)
            write(conn, wide)
            wall, cpu, server = (
                time.perf_counter() - started,
                time.process_time() - cpu,
                server_cpu() - server,
            )
            transaction.rollback()
        db = f", server CPU {server:5.2f} s" if server else ""
        print(f"  {name:<42} {wall:6.2f} s wall, CPU {cpu:5.2f} s{db}")
    engine.dispose()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    wide = ratings(n)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{Path(folder) / 'layout.db'}", wide, lambda: 0.0)
    from tests.pgserver import PostgresUnavailable, TempPostgres

    try:
        server = TempPostgres()
    except PostgresUnavailable as exc:
        print(f"\npostgresql: {exc}")
        return
    try:
        url = server.start()
        os.environ["BENCH_PG_DATA"] = str(server.dir / "data")
        measure(url, wide, _server_cpu())
    finally:
        server.stop()


if __name__ == "__main__":
    main()
