"""Writing validated rows inside the caller's transaction: survey responses (bulk: executemany on
SQLite, COPY on PostgreSQL), and NGO / proposal rows that replace or update earlier ones while
keeping what they replaced in ``row_history`` so a rollback restores it exactly.

Survey loads convert the frame chunk by chunk (never a second whole copy of it). The scores of
the contract's institutions are columns of the responses (migration 0010), written with them;
trust items beyond those go to the long trust_scores, set-based: on SQLite from a wide temporary
table (one bound row per respondent instead of one per score), on PostgreSQL by COPY; the
scores' reference to their responses is checked once per load instead of row by row (0006)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import polars as pl
from sqlalchemy import Connection, Table, func, insert, select

from queries.contract import TRUST_PREFIX, contract
from queries.contract.columns import TRUST_ITEM
from queries.db import sqlite_pragma
from queries.errors import SenimError
from queries.schema.base import metadata
from queries.schema.data import regions, responses, row_history, survey_waves, trust_scores, uploads
from queries.summaries.ahead import summing_ahead
from queries.summaries.bulk import chunks, copy_csv, driver_rows, insert_frame
from queries.summaries.store import after_survey_insert, new_waves
from queries.vocab import Stage, UploadKind

Progress = Callable[[float, str], None]
CHUNK = 100_000
# SQLite page cache during a survey load (KiB): the default 2 MiB spills dirty pages to the WAL
# over and over inside one big transaction. Only the cache: durability pragmas are untouched.
SQLITE_LOAD_CACHE_KIB = 131_072
# The responses table in schema order: derived, so a new column cannot be forgotten here.
RESPONSE_COLUMNS = tuple(column.name for column in responses.columns)
WIDE_TRUST = tuple(c for c in RESPONSE_COLUMNS if c.startswith(TRUST_PREFIX))


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def bulk_insert(conn: Connection, table: Table, frame: pl.DataFrame, progress=None) -> None:
    """Insert a frame whose columns are ``table`` columns, fast, in the caller's transaction."""
    if frame.is_empty():
        return
    insert_frame(conn, table.name, frame, chunk=CHUNK, progress=progress)
    if progress:  # after a COPY has ended: its per-row triggers run at its end
        progress(1.0)


def wave_ids(conn: Connection, clean: pl.DataFrame) -> pl.DataFrame:
    """The ``survey_waves`` id of every (source, wave) in ``clean``, creating missing waves."""
    wanted = clean.select("source", "wave", "period_start").unique()
    for source, wave, start in wanted.iter_rows():
        found = conn.execute(
            select(survey_waves.c.id).where(
                survey_waves.c.source == source, survey_waves.c.wave == wave
            )
        ).scalar()
        if found is None:
            conn.execute(insert(survey_waves).values(source=source, wave=wave, period_start=start))
    rows = conn.execute(select(survey_waves.c.id, survey_waves.c.source, survey_waves.c.wave))
    return pl.DataFrame(rows.all(), schema=["wave_id", "source", "wave"], orient="row")


def insert_survey(
    conn: Connection, upload_id: int, clean: pl.DataFrame, progress: Progress | None = None
) -> int:
    """Insert survey responses and their trust scores; returns the number of responses.
    Response ids follow the stored ones (the caller holds the writer lock)."""
    first_id = int(conn.execute(select(func.coalesce(func.max(responses.c.id), 0))).scalar()) + 1
    # the wave id through a join of the two key columns only: ``rows`` shares clean's columns
    waves = clean.select("source", "wave").join(
        wave_ids(conn, clean), on=["source", "wave"], how="left", maintain_order="left"
    )
    rows = clean.with_columns(
        wave_id=waves.get_column("wave_id"),
        id=pl.int_range(first_id, first_id + clean.height, dtype=pl.Int64),
        upload_id=pl.lit(upload_id, dtype=pl.Int64),
        # the contract's items are columns of responses (migration 0010); a file may lack some
        **{c: pl.lit(None, pl.Int16) for c in WIDE_TRUST if c not in clean.columns},
    )
    extra = sorted(c for c in rows.columns if c.startswith(TRUST_PREFIX) and c not in WIDE_TRUST)
    hold_references(conn, rows, upload_id)
    # summary store (issue 11): the touched waves' sums, in this same transaction; on SQLite a
    # large upload's new waves are summed by a helper process meanwhile. (Imported with this
    # module, as the dashboard's summaries import it anyway: a first upload no longer pays its
    # import, the metrics' 0.4 s, inside its transaction.)
    fresh = new_waves(conn, clean)
    with _sqlite_load_cache(conn), summing_ahead(conn, clean, fresh) as ahead:
        bulk_insert(
            conn,
            responses,
            rows.select(RESPONSE_COLUMNS),
            (lambda f: progress(0.1 + 0.8 * f, Stage.RESPONSES)) if progress else None,
        )
        insert_scores(  # items beyond the contract's, if any
            conn,
            rows.select("id", *extra),
            (lambda f: progress(0.9 + 0.05 * f, Stage.TRUST_SCORES)) if progress else None,
        )
        check_response_block(conn, first_id=first_id, count=clean.height)
        after_survey_insert(conn, clean, first_id=first_id, ahead=ahead)
    return clean.height


def hold_references(conn: Connection, rows: pl.DataFrame, upload_id: int) -> None:
    """Once per load, what per-row foreign keys of responses would check (PostgreSQL has none
    since migration 0011): the upload, the waves and the regions the rows refer to exist, held
    FOR KEY SHARE as a foreign key's check holds them, until the load ends."""
    wanted = (
        (uploads.c.id, [upload_id]),
        (survey_waves.c.id, rows.get_column("wave_id").unique().to_list()),
        (regions.c.code, rows.get_column("region").unique().to_list()),
    )
    for key, values in wanted:
        held = select(key).where(key.in_(values)).with_for_update(key_share=True)
        missing = set(values) - set(conn.execute(held).scalars())
        if missing:
            raise SenimError(
                f"The load refers to {key.table.name} that do not exist "
                f"({', '.join(sorted(map(str, missing))[:5])}); nothing was stored."
            )


@contextmanager
def references_checked_once(conn: Connection, kind: str) -> Iterator[None]:
    """Around a survey load's transaction (``conn`` not yet begun): SQLite's per-row foreign
    keys off for it, as PostgreSQL has none on responses since migration 0011; the load checks
    them once instead (``hold_references``, under the writer lock that any deletion of an
    upload, a wave or a region would need). SQLite reads the pragma only outside a transaction;
    it is put back afterwards, or the connection is dropped (pooled connections keep it)."""
    if kind != UploadKind.SURVEY or conn.dialect.name != "sqlite":
        yield
        return
    with sqlite_pragma(conn, "foreign_keys", 0):
        yield


@contextmanager
def _sqlite_load_cache(conn: Connection) -> Iterator[None]:
    """A larger SQLite page cache for one load, for the database and for the temporary one
    (the score stage then stays in memory), put back afterwards (pooled connections keep
    their pragmas)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    schemas = ("main", "temp")
    before = [conn.exec_driver_sql(f"PRAGMA {s}.cache_size").scalar() for s in schemas]
    for schema in schemas:
        conn.exec_driver_sql(f"PRAGMA {schema}.cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        for schema, size in zip(schemas, before, strict=True):
            conn.exec_driver_sql(f"PRAGMA {schema}.cache_size = {int(size)}")


def _long_scores(wide: pl.DataFrame) -> pl.DataFrame:
    """(id, trust_<item>...) -> one (response_id, institution, score) row per non-null score."""
    return (
        wide.unpivot(index="id", variable_name="institution", value_name="score")
        .drop_nulls("score")
        .select(
            pl.col("id").alias("response_id"),
            pl.col("institution").str.strip_prefix(TRUST_PREFIX),
            pl.col("score").cast(pl.Int16),
        )
        .sort("response_id", "institution")
    )


SCORE_STAGE = "ingest_stage_scores"  # a TEMP table: private to the connection, gone at close
TRUST_COLUMNS = ("response_id", "institution", "score")


def insert_scores(
    conn: Connection, wide: pl.DataFrame, progress: Callable[[float], None] | None = None
) -> None:
    """Write the long ``trust_scores`` rows of a wide frame (``id`` and ``trust_<item>``
    columns, items sorted): PostgreSQL COPYs the long rows chunk by chunk; SQLite binds one wide
    row per respondent into a temporary table and unpivots each chunk in one INSERT ... SELECT,
    in (response_id, institution) order."""
    items = wide.columns[1:]
    if wide.is_empty() or not items:
        if progress:  # the stage is reported all the same (nothing beyond the contract's items)
            progress(1.0)
        return
    if _is_postgres(conn):
        long = (_long_scores(chunk) for chunk in chunks(wide, CHUNK, progress))
        copy_csv(conn, trust_scores.name, TRUST_COLUMNS, long)
        if progress:
            progress(1.0)
        return
    for item in items:  # they become SQL names and literals below: only [a-z0-9_] may pass
        if not TRUST_ITEM.fullmatch(item):
            raise ValueError(f"not a trust item column: {item!r}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{SCORE_STAGE}")
    columns = ", ".join(f"{item} INTEGER" for item in items)
    conn.exec_driver_sql(f"CREATE TEMP TABLE {SCORE_STAGE} (id INTEGER PRIMARY KEY, {columns})")
    fill = f"INSERT INTO temp.{SCORE_STAGE} VALUES (?, {', '.join('?' for _ in items)})"
    names = " UNION ALL ".join(
        f"SELECT {k} AS k, '{item.removeprefix(TRUST_PREFIX)}' AS institution"
        for k, item in enumerate(items)
    )
    score = " ".join(f"WHEN {k} THEN s.{item}" for k, item in enumerate(items))
    # CROSS JOIN keeps the stage as the outer loop: rows come out by (id, institution)
    unpivot = (
        f"INSERT INTO {trust_scores.name} ({', '.join(TRUST_COLUMNS)}) "
        "SELECT id, institution, score FROM ("
        f"SELECT s.id AS id, i.institution AS institution, CASE i.k {score} END AS score "
        f"FROM temp.{SCORE_STAGE} AS s CROSS JOIN ({names}) AS i) WHERE score IS NOT NULL"
    )
    for chunk in chunks(wide, CHUNK, progress):
        conn.exec_driver_sql(fill, driver_rows(chunk))
        conn.exec_driver_sql(unpivot)
        conn.exec_driver_sql(f"DELETE FROM temp.{SCORE_STAGE}")
    conn.exec_driver_sql(f"DROP TABLE temp.{SCORE_STAGE}")
    if progress:
        progress(1.0)


def check_response_block(conn: Connection, *, first_id: int, count: int) -> None:
    """Once per load, what the per-row foreign key from trust_scores checked (migration 0006):
    the load's scores refer to ids first_id .. first_id + count - 1, all of which must now be
    responses."""
    if count == 0:
        return
    last_id = first_id + count - 1
    found = conn.execute(
        select(func.count()).select_from(responses).where(responses.c.id.between(first_id, last_id))
    ).scalar_one()
    if found != count:
        raise SenimError(
            f"Responses {first_id}..{last_id} should all be stored, {found:,} of {count:,} are: "
            "the load was stopped so no trust score refers to a missing response."
        )


def _stored(conn: Connection, table: Table, keys: tuple[str, ...], values: tuple[str, ...]):
    columns = [table.c.id, table.c.upload_id, *(table.c[k] for k in keys + values)]
    result = conn.execute(select(*columns))
    names = ["id", "upload_id", *keys, *values]
    return pl.DataFrame(
        [tuple(r) for r in result.all()], schema=names, orient="row", infer_schema_length=None
    )


def upsert_rows(
    conn: Connection,
    table: Table,
    upload_id: int,
    clean: pl.DataFrame,
    keys: tuple[str, ...],
    values: tuple[str, ...],
) -> tuple[int, int, int]:
    """Insert new rows, update changed ones (remembering the previous values), skip identical
    ones. Returns (new, updated, unchanged)."""
    incoming = clean.select(*keys, *values)
    stored = _stored(conn, table, keys, values)
    if stored.is_empty():
        stored = incoming.clear().with_columns(
            id=pl.lit(None, pl.Int64), upload_id=pl.lit(None, pl.Int64)
        )
    stored = stored.with_columns([pl.col(c).cast(incoming.schema[c]) for c in keys + values])
    joined = incoming.join(stored, on=list(keys), how="left", suffix="_old", nulls_equal=True)
    is_new = joined.get_column("id").is_null()
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in values])
    changed = joined.filter(~is_new).filter(differs)
    new = joined.filter(is_new)
    key_json = lambda frame: frame.select(  # noqa: E731
        pl.struct([pl.col(k).cast(pl.String) for k in keys]).struct.json_encode()
    ).to_series()
    history = []
    if new.height:
        bulk_insert(
            conn, table, new.select(*keys, *values).with_columns(upload_id=pl.lit(upload_id))
        )
        history.append(
            pl.DataFrame(
                {"row_key": key_json(new), "previous": None},
                schema={"row_key": pl.String, "previous": pl.String},
            )
        )
    if changed.height:
        old = changed.select("upload_id", *[pl.col(f"{c}_old").alias(c) for c in values])
        previous = old.with_columns(pl.col(pl.Date).cast(pl.String)).select(
            pl.struct(pl.all()).struct.json_encode()
        )
        history.append(
            pl.DataFrame({"row_key": key_json(changed), "previous": previous.to_series()})
        )
        update = changed.select(*values, "id").with_columns(
            pl.col(pl.Date).cast(pl.String), upload_id=pl.lit(upload_id)
        )
        assignments = ", ".join(f"{c} = ?" for c in [*values, "upload_id"])
        params = update.select(*values, "upload_id", "id").rows()
        sql = f"UPDATE {table.name} SET {assignments} WHERE id = ?"
        if _is_postgres(conn):
            sql = sql.replace("?", "%s")
        conn.exec_driver_sql(sql, params)
    if history:
        entries = [
            {
                "upload_id": upload_id,
                "table_name": table.name,
                "row_key": r["row_key"],
                "previous": json.loads(r["previous"]) if r["previous"] else None,
            }
            for r in pl.concat(history).iter_rows(named=True)
        ]
        conn.execute(insert(row_history), entries)
    return new.height, changed.height, joined.height - new.height - changed.height


def upsert_kind(
    conn: Connection, upload_id: int, clean: pl.DataFrame, kind: str
) -> tuple[int, int, int]:
    """NGO activity, proposals, population: a re-uploaded natural key (the contract's) replaces
    the stored row, remembering the previous values for a rollback."""
    spec = contract(kind)
    table = metadata.tables[spec.table]
    counts = upsert_rows(conn, table, upload_id, clean, spec.key, spec.values)
    if kind == UploadKind.PROPOSALS:  # register summaries (issue 11), in this same transaction
        from queries.summaries.register import refresh_register

        refresh_register(conn, upload_id=upload_id)  # the days this upload touched
    return counts
