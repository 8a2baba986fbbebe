"""Writing the summary store inside the caller's transaction: the sums of given waves are
deleted and written again, from a frame already in memory (an upload) or from the stored rows
(a rollback, an upload adding respondents to a stored wave, a rebuild)."""

from __future__ import annotations

import io
from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, Table, delete, func, select

from queries.schema import (
    responses,
    summary_cells,
    summary_composite_waves,
    summary_composites,
    summary_strata,
    summary_variables,
    survey_waves,
    trust_scores,
)
from queries.summaries.cells import ROW_COLUMNS, TRUST, cell_sums

Wave = tuple[str, str]  # (source, wave label)


def waves_of(frame: pl.DataFrame) -> list[Wave]:
    """The (source, wave) pairs present in a frame of rows, sorted."""
    return sorted(frame.select("source", "wave").unique().iter_rows())


def _wave_id(conn: Connection, wave: Wave) -> int | None:
    w = survey_waves.c
    return conn.execute(select(w.id).where(w.source == wave[0], w.wave == wave[1])).scalar()


def stored_rows(conn: Connection, wave: Wave) -> pl.DataFrame:
    """The stored rows of one wave (in response id order, as they were inserted), in the
    shape ``cell_sums`` reads: ``ROW_COLUMNS`` plus one ``trust_<institution>`` column per
    institution with a score in the wave."""
    wave_id = _wave_id(conn, wave)
    if wave_id is None:
        return pl.DataFrame(schema=ROW_COLUMNS)
    r, w = responses.c, survey_waves.c
    # the column is being renamed region_code -> region (the regions work): take either
    region = r.region_code if "region_code" in r else r.region
    columns = [
        w.source,
        w.wave,
        w.period_start,
        region.label("region"),
        *(r[c] for c in list(ROW_COLUMNS)[4:]),
    ]
    query = (
        select(r.id, *columns)
        .join_from(responses, survey_waves, r.wave_id == w.id)
        .where(r.wave_id == wave_id)
        .order_by(r.id)
    )
    schema = {"id": pl.Int64, **ROW_COLUMNS}
    frame = pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row", strict=False)
    t = trust_scores.c
    scores = pl.DataFrame(
        conn.execute(
            select(t.response_id, t.institution, t.score)
            .join_from(trust_scores, responses, t.response_id == r.id)
            .where(r.wave_id == wave_id)
        ).all(),
        schema={"id": pl.Int64, "institution": pl.String, "score": pl.Float64},
        orient="row",
        strict=False,
    )
    if scores.height:
        wide = scores.pivot(on="institution", index="id", values="score", sort_columns=True)
        wide = wide.rename({c: f"{TRUST}{c}" for c in wide.columns if c != "id"})
        frame = frame.join(wide, on="id", how="left", maintain_order="left")
    return frame.drop("id")


def _delete(conn: Connection, waves: Iterable[Wave]) -> None:
    # composite cache (H4, queries/summaries/composite.py): the cached composites of a wave go
    # with its summaries, after summary_strata (a process filling the cache holds those rows)
    cached = (summary_composites, summary_composite_waves)
    for source, wave in waves:
        for table in (summary_cells, summary_strata, summary_variables, *cached):
            conn.execute(delete(table).where(table.c.source == source, table.c.wave == wave))


def _insert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Bulk insert at the driver (a wave has up to ~50k cell rows; SQLAlchemy's per-row
    parameter handling would cost more than the sums). Mirrors ``ingest.store.bulk_insert``,
    which sits in a higher layer: COPY on PostgreSQL, executemany on SQLite."""
    columns = frame.columns
    frame = frame.with_columns(pl.col(pl.Date).cast(pl.String))
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=False)  # floats written to round-trip exactly
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as c:
            c.write(buffer.getvalue())
        return
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    conn.exec_driver_sql(statement, frame.rows())


def write_sums(conn: Connection, waves: Iterable[Wave], rows: pl.DataFrame) -> None:
    """Replace the summaries of ``waves`` by those of ``rows`` (which hold all their rows)."""
    strata, cells = cell_sums(rows)
    _delete(conn, waves)
    if strata.height:
        _insert(conn, summary_strata, strata)
    if cells.height:
        _insert(conn, summary_cells, cells)
        totals = cells.group_by("source", "wave", "variable").agg(pl.col("n").sum())
        _insert(conn, summary_variables, totals)


def refresh_waves(conn: Connection, waves: Iterable[Wave]) -> None:
    """Recompute the summaries of ``waves`` from their stored rows (none left: none kept)."""
    for wave in sorted(set(waves)):
        write_sums(conn, [wave], stored_rows(conn, wave))


def _stored_count(conn: Connection, wave: Wave) -> int:
    wave_id = _wave_id(conn, wave)
    if wave_id is None:
        return 0
    count = select(func.count()).select_from(responses).where(responses.c.wave_id == wave_id)
    return int(conn.execute(count).scalar_one())


def after_survey_insert(conn: Connection, clean: pl.DataFrame) -> None:
    """Inside an upload's transaction, after its rows are inserted: the summaries of every wave
    the upload touched. A wave made only of this upload's rows is summed from the validated
    frame in memory; a wave that already had rows is summed again from the stored rows."""
    for wave in waves_of(clean):
        part = clean.filter(_in_wave(wave))
        if _stored_count(conn, wave) == part.height:
            write_sums(conn, [wave], part)
        else:
            refresh_waves(conn, [wave])


def _in_wave(wave: Wave) -> pl.Expr:
    """Rows of one (source, wave) in a frame."""
    return (pl.col("source") == wave[0]) & (pl.col("wave") == wave[1])


def upload_waves(conn: Connection, upload_id: int) -> list[Wave]:
    """The waves that hold rows of an upload (read before a rollback deletes them)."""
    r, w = responses.c, survey_waves.c
    query = (
        select(w.source, w.wave)
        .distinct()
        .join_from(responses, survey_waves, r.wave_id == w.id)
        .where(r.upload_id == upload_id)
    )
    return sorted(tuple(row) for row in conn.execute(query).all())
