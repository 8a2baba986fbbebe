"""The frames the metrics and the dashboard read, loaded from the database in one go."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl
from sqlalchemy import Boolean, Connection, Engine, Float, Integer, select

from queries.contract import (
    NGO,
    POPULATION,
    PROPOSALS,
    SURVEY,
    TRUST_INSTITUTIONS,
    Contract,
    Parser,
    Storage,
)
from queries.db import data_version
from queries.reference.reform import with_population
from queries.reference.regions import reference_regions
from queries.schema.data import (
    ngo_activity,
    population,
    proposals,
    responses,
    survey_waves,
    trust_score,
    trust_scores,
)

# The stored survey answers the metrics read (all but the respondent's id and interview date).
ANALYSED = tuple(
    c
    for c in SURVEY.columns
    if c.storage is Storage.ROW and c.parser not in (Parser.TEXT, Parser.DATE)
)
# The survey answers as the metrics read them (scores as floats), from the contract.
ANSWER_SCHEMA = {c.name: pl.Float64 if c.parser is Parser.SCORE else c.dtype for c in ANALYSED}
TABLES = {NGO.kind: ngo_activity, PROPOSALS.kind: proposals, POPULATION.kind: population}


@dataclass(frozen=True)
class Dataset:
    """Everything the pages chart, as polars frames (see docs/architecture.md for columns)."""

    responses: pl.DataFrame
    proposals: pl.DataFrame
    ngo: pl.DataFrame
    regions: pl.DataFrame
    institutions: tuple[str, ...]
    version: str
    # residents per region, sex, age group and year (uploaded margins; may be empty)
    population: pl.DataFrame = field(default_factory=pl.DataFrame)

    # Computed once per loaded dataset (cached_property writes to the instance dict directly,
    # which a frozen dataclass allows): every page run asks for them.
    @cached_property
    def waves(self) -> pl.DataFrame:
        """source, wave, period_start of every wave, in time order."""
        return (
            self.responses.select("source", "wave", "period_start")
            .unique()
            .sort("period_start", "wave", "source")
        )

    @cached_property
    def sources(self) -> tuple[str, ...]:
        """The survey sources present, sorted."""
        return tuple(sorted(self.waves.get_column("source").unique().to_list()))


def _read(
    engine: Engine, query, schema: dict[str, pl.DataType], *, key: bool = False
) -> pl.DataFrame:
    """Run ``query`` and return its rows as a frame of ``schema`` (names in select order).

    The survey holds millions of rows, and building Python objects per value is the slow
    part, so both databases hand over CSV text that polars parses natively: PostgreSQL through
    COPY, SQLite through group_concat (in slices of the first column, an integer id, when
    ``key``)."""
    columns = list(query.selected_columns)
    query = query.with_only_columns(*(c.label(n) for c, n in zip(columns, schema, strict=True)))
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            buffer = io.BytesIO()
            # dates as YYYY-MM-DD and floats exact, whatever the server's defaults
            driver.execute("SET datestyle TO 'ISO, YMD'; SET extra_float_digits TO 3")
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy,
            ):
                for block in copy:
                    buffer.write(block)
            return _from_csv(buffer.getvalue(), schema, quote='"')
        with conn.begin():  # one snapshot for every slice
            content = _sqlite_csv(driver, sql, schema, [c.type for c in columns], key)
    return _from_csv(content, schema, quote="'")


SLICE = 250_000


def _sqlite_csv(driver, sql: str, schema: dict[str, pl.DataType], types: list, key) -> bytes:
    """The result of ``sql`` as CSV text built inside SQLite: NULL as an empty field, text
    quoted SQL-style, floats with 17 significant digits so they round-trip exactly."""
    names = list(schema)
    cells = []
    for name, sql_type in zip(names, types, strict=True):
        if isinstance(sql_type, Integer | Boolean):
            cells.append(f"ifnull({name}, '')")
        elif isinstance(sql_type, Float):
            cells.append(f"ifnull(printf('%.17g', {name}), '')")
        else:
            cells.append(f"CASE WHEN {name} IS NULL THEN '' ELSE quote({name}) END")
    line = " || ',' || ".join(cells)
    select = f"SELECT group_concat({line}, char(10)) FROM ({sql}) AS q"
    cursor = driver.cursor()
    try:
        if not key:
            text = cursor.execute(select).fetchone()[0]
            return (text or "").encode()
        low, high = cursor.execute(
            f"SELECT min({names[0]}), max({names[0]}) FROM ({sql})"
        ).fetchone()
        parts = []
        for start in range(low or 0, (high or -1) + 1, SLICE):
            where = f" WHERE {names[0]} BETWEEN {start} AND {start + SLICE - 1}"
            text = cursor.execute(select + where).fetchone()[0]
            if text:
                parts.append(text)
        return "\n".join(parts).encode()
    finally:
        cursor.close()


def _from_csv(content: bytes, schema: dict[str, pl.DataType], *, quote: str) -> pl.DataFrame:
    """Parse header-less CSV into ``schema``: numbers natively, dates from ISO text, booleans
    from t/f (PostgreSQL) or 1/0 (SQLite)."""
    if not content.strip():
        return pl.DataFrame(schema=schema)
    read_as = {n: pl.String if d in (pl.Date, pl.Boolean) else d for n, d in schema.items()}
    frame = pl.read_csv(
        content, has_header=False, new_columns=list(schema), schema=read_as, quote_char=quote
    )
    truth = {"t": True, "1": True, "f": False, "0": False}
    return frame.with_columns(
        pl.col(n).str.to_date("%Y-%m-%d")
        if d == pl.Date
        else pl.col(n).replace_strict(truth, return_dtype=pl.Boolean)
        for n, d in schema.items()
        if d in (pl.Date, pl.Boolean)
    )


def institution_order(found: list[str]) -> tuple[str, ...]:
    """Known institutions in contract order first, the others alphabetically."""
    known = [i for i in TRUST_INSTITUTIONS if i in found]
    return (*known, *sorted(set(found) - set(known)))


def _age_group(age: pl.Expr) -> pl.Expr:
    """under_18, 18-29, 30-44, 45-59, 60+ (null age stays null)."""
    return (
        pl.when(age < 18)
        .then(pl.lit("under_18"))
        .when(age <= 29)
        .then(pl.lit("18-29"))
        .when(age <= 44)
        .then(pl.lit("30-44"))
        .when(age <= 59)
        .then(pl.lit("45-59"))
        .when(age.is_not_null())
        .then(pl.lit("60+"))
    )


def _scored_institutions(conn: Connection) -> list[str]:
    """The institutions with at least one stored score."""
    r, t = responses.c, trust_scores.c
    found = [
        i
        for i in TRUST_INSTITUTIONS
        if conn.execute(select(r.id).where(trust_score(i).is_not(None)).limit(1)).first()
    ]
    return found + list(conn.execute(select(t.institution).distinct()).scalars())


def _responses(engine: Engine) -> tuple[pl.DataFrame, tuple[str, ...]]:
    r, w = responses.c, survey_waves.c
    query = select(
        r.id, w.source, w.wave, w.period_start, *(r[c.name] for c in ANALYSED)
    ).join_from(responses, survey_waves, r.wave_id == w.id)
    schema = {
        "response_id": pl.Int64,
        "source": pl.String,
        "wave": pl.String,
        "period_start": pl.Date,
        **ANSWER_SCHEMA,
    }
    with engine.connect() as conn:
        institutions = institution_order(_scored_institutions(conn))
    # one pass: the contract's items are columns (migration 0010), any other is looked up by
    # the (response_id, institution) key — faster than pivoting long rows
    schema |= {f"trust_{inst}": pl.Float64 for inst in institutions}
    ratings = [trust_score(inst) for inst in institutions]
    frame = _read(engine, query.add_columns(*ratings), schema, key=True)
    frame = frame.with_columns(
        age_group=_age_group(pl.col("age")),
        stratum=pl.concat_str("source", "wave", "region", separator="|"),
    )
    return frame.sort("response_id"), institutions


def _stored(engine: Engine, spec: Contract) -> pl.DataFrame:
    """Every stored column of an upload kind's table, typed as the contract says."""
    table = TABLES[spec.kind]
    columns = [spec.column(name) for name in spec.stored]
    query = select(*(table.c[c.name] for c in columns))
    return _read(engine, query, {c.name: c.dtype for c in columns})


def _proposals(engine: Engine) -> pl.DataFrame:
    return _stored(engine, PROPOSALS)


def _ngo(engine: Engine) -> pl.DataFrame:
    # region-reform: a pre-2022 period gets its old unit's population (sum of today's units)
    return with_population(
        _stored(engine, NGO).with_columns(year=pl.col("period").str.slice(0, 4).cast(pl.Int32))
    )


def load_dataset(engine: Engine) -> Dataset:
    """Read every survey response (wide), proposal and NGO row; tag it with the data version."""
    version = data_version(engine)
    frame, institutions = _responses(engine)
    return Dataset(
        frame,
        _proposals(engine),
        _ngo(engine),
        reference_regions(),
        institutions,
        version,
        population=_stored(engine, POPULATION),
    )
