"""Writing the summary store inside the caller's transaction: the sums of given waves are
deleted and written again, from a frame already in memory (an upload; a wave that already had
rows adds its earlier stored rows) or from the stored rows (a rollback, a rebuild), read at the
driver without SQLAlchemy's per-row objects."""

from __future__ import annotations

import io
from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, Select, Table, delete, func, select

from queries.metrics.dataset import _from_csv  # PostgreSQL's CSV hand-over of raw rows
from queries.schema.data import responses, survey_waves, trust_scores
from queries.schema.summaries import (
    summary_cells,
    summary_composite_waves,
    summary_composites,
    summary_strata,
    summary_variables,
)
from queries.summaries.ahead import SummingAhead
from queries.summaries.bulk import insert_frame
from queries.summaries.cells import ROW_COLUMNS, TRUST, cell_sums

Wave = tuple[str, str]  # (source, wave label)
INSERT_ROWS = 50_000  # SQLite: rows bound per executemany (their Python objects are large)


def waves_of(frame: pl.DataFrame) -> list[Wave]:
    """The (source, wave) pairs present in a frame of rows, sorted."""
    return sorted(frame.select("source", "wave").unique().iter_rows())


def _wave_id(conn: Connection, wave: Wave) -> int | None:
    w = survey_waves.c
    return conn.execute(select(w.id).where(w.source == wave[0], w.wave == wave[1])).scalar()


def stored_rows(conn: Connection, wave: Wave, *, below: int | None = None) -> pl.DataFrame:
    """The stored rows of one wave (in response id order, as they were inserted), in the
    shape ``cell_sums`` reads: ``ROW_COLUMNS`` plus, sorted, one ``trust_<institution>``
    column per institution with a score in the wave. ``below``: only responses with a smaller
    id."""
    wave_id = _wave_id(conn, wave)
    if wave_id is None:
        return pl.DataFrame(schema=ROW_COLUMNS)
    wanted = r_id_below(below)
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
    wide = [c.name for c in responses.columns if c.name.startswith(TRUST)]  # 0010's items
    query = (
        select(r.id, *columns, *(r[c] for c in wide))
        .join_from(responses, survey_waves, r.wave_id == w.id)
        .where(r.wave_id == wave_id, *wanted)
        .order_by(r.id)
    )
    frame = read_frame(
        conn, query, {"id": pl.Int64, **ROW_COLUMNS, **dict.fromkeys(wide, pl.Float64)}
    )
    # only the items with a score in these rows, as the long table gave them
    frame = frame.drop([c for c in wide if frame.get_column(c).null_count() == frame.height])
    t = trust_scores.c  # items beyond the contract's
    scores = read_frame(
        conn,
        select(t.response_id, t.institution, t.score)
        .join_from(trust_scores, responses, t.response_id == r.id)
        .where(r.wave_id == wave_id, *wanted),
        {"id": pl.Int64, "institution": pl.String, "score": pl.Float64},
    )
    if scores.height:
        extra = scores.pivot(on="institution", index="id", values="score")
        extra = extra.rename({c: f"{TRUST}{c}" for c in extra.columns if c != "id"})
        frame = frame.join(extra, on="id", how="left", maintain_order="left")
    trust = sorted(c for c in frame.columns if c.startswith(TRUST))
    return frame.select(*ROW_COLUMNS, *trust)


def r_id_below(below: int | None) -> list:
    """The WHERE clauses keeping responses with an id below ``below`` (none: all)."""
    return [] if below is None else [responses.c.id < below]


def read_frame(conn: Connection, query: Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of ``query`` as a frame of ``schema`` (names in select order), in the caller's
    transaction, without SQLAlchemy's per-row objects (a wave has hundreds of thousands of
    scores): PostgreSQL hands over CSV through COPY, SQLite plain tuples at the driver (exact
    floats; SQLite's printf('%.17g') is not always exact, so no CSV text there)."""
    selected = list(query.selected_columns)
    query = query.with_only_columns(*(c.label(n) for c, n in zip(selected, schema, strict=True)))
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        # dates as YYYY-MM-DD and floats exact whatever the server's defaults, for this
        # transaction only (SET LOCAL)
        conn.exec_driver_sql("SET LOCAL datestyle TO 'ISO, YMD'")
        conn.exec_driver_sql("SET LOCAL extra_float_digits TO 3")
        buffer = io.BytesIO()
        with driver.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as c:
            for block in c:
                buffer.write(block)
        return _from_csv(buffer.getvalue(), schema, quote='"')
    # SQLite gives dates as text and booleans as 0/1
    raw = {n: _SQLITE_AS.get(d, d) for n, d in schema.items()}
    cursor = driver.cursor()
    try:
        frame = pl.DataFrame(cursor.execute(sql).fetchall(), schema=raw, orient="row")
    finally:
        cursor.close()
    return frame.with_columns(
        pl.col(n).str.to_date("%Y-%m-%d") if d == pl.Date else pl.col(n).cast(d)
        for n, d in schema.items()
        if d in _SQLITE_AS
    )


_SQLITE_AS = {pl.Date: pl.String, pl.Boolean: pl.Int64}


def delete_waves(conn: Connection, waves: Iterable[Wave]) -> None:
    """Delete the summaries of ``waves`` (in the caller's transaction)."""
    # composite cache (H4, queries/summaries/composite.py): the cached composites of a wave go
    # with its summaries, after summary_strata (a process filling the cache holds those rows)
    cached = (summary_composites, summary_composite_waves)
    for source, wave in waves:
        for table in (summary_cells, summary_strata, summary_variables, *cached):
            conn.execute(delete(table).where(table.c.source == source, table.c.wave == wave))


def _insert(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Bulk insert at the driver (a wave has up to ~50k cell rows; SQLAlchemy's per-row
    parameter handling would cost more than the sums): COPY on PostgreSQL, executemany on
    SQLite, as the ingest writes its rows."""
    insert_frame(conn, table.name, frame, chunk=INSERT_ROWS)


def write_sums(
    conn: Connection, waves: Iterable[Wave], rows: pl.DataFrame, *, fresh: bool = False
) -> None:
    """Replace the summaries of ``waves`` by those of ``rows`` (which hold all their rows);
    ``fresh``: none are stored yet (nothing to delete)."""
    strata, cells = cell_sums(rows)
    write_cell_sums(conn, waves, strata, [cells], fresh=fresh)


def write_cell_sums(
    conn: Connection,
    waves: Iterable[Wave],
    strata: pl.DataFrame,
    cells: Iterable[pl.DataFrame],
    *,
    fresh: bool = False,
) -> None:
    """Replace the summaries of ``waves`` by ``cell_sums``' strata and cells of all their rows
    (the cells in parts, e.g. one per wave: each is let go once written); ``fresh``: none are
    stored yet (nothing to delete)."""
    if not fresh:
        delete_waves(conn, waves)
    if strata.height:
        _insert(conn, summary_strata, strata)
    totals = []
    # cells stored in the order of their index (source, wave, variable): the index grows at its
    # end instead of in 40 places at once, and a variable's cells are read back together
    order = ("source", "wave", "variable")
    for part in cells:
        if part.height:
            _insert(conn, summary_cells, part.sort(order, maintain_order=True))
            totals.append(part.group_by(order).agg(pl.col("n").sum()))
    if totals:
        _insert(conn, summary_variables, pl.concat(totals))


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


def after_survey_insert(
    conn: Connection,
    clean: pl.DataFrame,
    *,
    first_id: int | None = None,
    ahead: SummingAhead | None = None,
) -> None:
    """Inside an upload's transaction, after its rows are inserted (response ids from
    ``first_id`` on, in frame order): the summaries of every wave the upload touched, one wave
    at a time (one wave's working columns and sums in memory at once). The upload's rows are
    taken from the validated frame in memory; a wave that already had rows reads back only
    those (ids below ``first_id``; without it, every stored row), so the sums cover the same
    rows in the same order as a rebuild. ``ahead``: a helper process summing the new waves from
    the same rows meanwhile (``queries.summaries.ahead``): the last ones it has not begun are
    summed here, the others copied from its scratch files, the first while it sums the rest.

    The sums are not made in a thread while SQLite writes the rows: measured, the thread made
    the load slower (the insert waited for the interpreter lock whenever the summing thread
    held it; 1M rows: 4.6 -> 9.1 s)."""
    positions = wave_positions(clean)
    done: set[Wave] = set()
    if ahead is not None:
        # each scratch file copied once the helper says it is whole; until then the last
        # waves the helper has not begun are summed here (none left: wait for it)
        back, taken = ahead.taking_back(), []
        for part in range(len(ahead.parts)):
            while not ahead.ready(part) and (wave := next(back, None)) is not None:
                write_sums(conn, [wave], clean[positions[wave]])
                taken.append(wave)
            done.update(ahead.copy_part(conn, part, taken=taken))
        done.update(taken)
    for wave, at in positions.items():
        if wave in done:
            continue
        rows = clean[at]
        if _stored_count(conn, wave) == rows.height:  # the usual case: a new wave
            write_sums(conn, [wave], rows)
        elif first_id is None:
            refresh_waves(conn, [wave])
        else:
            write_sums(conn, [wave], _grown(stored_rows(conn, wave, below=first_id), rows))


def new_waves(conn: Connection, clean: pl.DataFrame) -> list[Wave]:
    """The waves of ``clean`` without any stored row yet (before an upload inserts them)."""
    return [wave for wave in waves_of(clean) if _stored_count(conn, wave) == 0]


def _grown(earlier: pl.DataFrame, added: pl.DataFrame) -> pl.DataFrame:
    """A wave's earlier stored rows followed by an upload's rows, in ``stored_rows``' shape:
    ``ROW_COLUMNS`` and, sorted, the trust columns holding at least one score."""
    scored = [c for c in added.columns if c.startswith(TRUST) and added.get_column(c).count()]
    added = added.select(*ROW_COLUMNS, *(pl.col(c).cast(pl.Float64) for c in scored))
    rows = pl.concat([earlier, added.cast(ROW_COLUMNS)], how="diagonal_relaxed")  # type: ignore[arg-type]
    trust = sorted(c for c in rows.columns if c.startswith(TRUST))
    return rows.select(*ROW_COLUMNS, *trust)


def wave_positions(frame: pl.DataFrame) -> dict[Wave, pl.Series]:
    """Each (source, wave) of a frame, in sorted order, with its rows' positions in frame
    order, found in one pass: ``frame[at]`` is then one gather per wave (filtering per wave
    would scan the frame every time)."""
    positions = (
        frame.select("source", "wave")
        .with_row_index("_at")
        .group_by("source", "wave")
        .agg(pl.col("_at").sort())
        .sort("source", "wave")
    )
    return {(s, w): at for s, w, at in zip(*positions.iter_columns(), strict=True)}


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
