"""The composite trust index over a non-default set of institutions, summed in SQL and kept in
the database (issue 11), so every process and every later visitor reads it at summary speed.

The store holds the composite of every institution. Another set (the Overview's institution
filter) is computed per respondent in SQL (the mean of the chosen institutions' scores the
respondent gave, as ``queries.metrics.trust.composite_expr``; and its OECD splits, as
``split_exprs``), grouped into the store's cells (n, Σw, Σwy, Σw², Σw²y, Σw²y², Σy) and written
to ``summary_composites``, one wave at a time, with a row in ``summary_composite_waves`` saying
that (set, wave) is there (a cell without a value has no row, so an empty result is known too).

Staleness: an upload or a rollback rewrites the summaries of the waves it touches through
``queries.summaries.store.delete_waves``, which deletes these tables' rows of those waves in the
same transaction; they are summed again from the rows at the next use. A process filling the cache
holds the wave's ``summary_strata`` rows (PostgreSQL: FOR SHARE; SQLite: the writer lock,
BEGIN IMMEDIATE), so an upload of that wave waits for it or it waits for the upload: it never
writes sums of rows an upload has just replaced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import polars as pl
from sqlalchemy import Connection, Engine, Float, and_, case, cast, func, null, or_, select
from sqlalchemy.exc import IntegrityError

from queries.metrics.trust import COMPOSITE, composite_expr, split_exprs
from queries.schema.data import responses, survey_waves, trust_scores
from queries.schema.summaries import summary_composite_waves, summary_composites, summary_strata
from queries.summaries.cells import CELL_SCHEMA, TRUST
from queries.summaries.store import _insert

Wave = tuple[str, str]
MEASURES = tuple(split_exprs(COMPOSITE, composite_expr(["_"])))  # composite:mean, :share_*
_KEYS = ("source", "wave", "region", "sex", "age_group", "settlement")
_SUMS = ("swy", "sw2y", "sw2y2", "sy")  # per measure; n, Σw, Σw² are shared by the measures


def set_key(institutions: Sequence[str]) -> str:
    """The cache key of a set of institutions (the mean does not depend on their order)."""
    return ",".join(sorted(set(institutions)))


def composite_measure(expr: pl.Expr) -> tuple[tuple[str, ...], str] | None:
    """(institutions, measure) when ``expr`` is the composite (or one of its OECD splits) of
    some ``trust_*`` columns, as the metrics code writes it; None otherwise."""
    roots = list(dict.fromkeys(expr.meta.root_names()))
    if not roots or not all(r.startswith(TRUST) for r in roots):
        return None
    for measure, candidate in split_exprs(COMPOSITE, composite_expr(roots)).items():
        if expr.meta.eq(candidate):
            return tuple(r.removeprefix(TRUST) for r in roots), measure
    return None


def _age_group(age):
    """``queries.metrics.dataset._age_group`` in SQL (the property test compares the two)."""
    return case(
        (age.is_(None), null()),
        (age < 18, "under_18"),
        (age <= 29, "18-29"),
        (age <= 44, "30-44"),
        (age <= 59, "45-59"),
        else_="60+",
    )


def _sums_query(institutions: Sequence[str], wave_ids: Sequence[int]):
    """One GROUP BY: per cell of the waves, the sums of the composite and its splits.

    The composite of a respondent is the mean of the chosen institutions' scores they gave:
    the contract's items are columns of the row (migration 0010), summed across; any other
    item's scores come from trust_scores, summed per respondent and joined. A respondent who
    rated none of them has no composite (no row)."""
    t, r, w = trust_scores.c, responses.c, survey_waves.c
    region = r.region_code if "region_code" in r else r.region  # being renamed (regions work)
    chosen = sorted(set(institutions))
    wide = [r[f"{TRUST}{i}"] for i in chosen if f"{TRUST}{i}" in r]
    total = [func.coalesce(cast(c, Float), 0.0) for c in wide]
    count = [case((c.is_(None), 0), else_=1) for c in wide]
    source = responses.join(survey_waves)
    extra = [i for i in chosen if f"{TRUST}{i}" not in r]
    if extra:
        others = (
            select(
                t.response_id,
                func.sum(cast(t.score, Float)).label("total"),
                func.count().label("count"),
            )
            .where(t.institution.in_(extra))
            .group_by(t.response_id)
            .subquery()
        )
        source = source.outerjoin(others, others.c.response_id == r.id)
        total.append(func.coalesce(others.c.total, 0.0))
        count.append(func.coalesce(others.c.count, 0))
    rated = sum(count[1:], count[0])
    per_respondent = (
        select(
            w.source,
            w.wave,
            region.label("region"),
            r.sex,
            _age_group(r.age).label("age_group"),  # here: a CASE in GROUP BY breaks PostgreSQL
            r.settlement,
            cast(r.weight, Float).label("w"),
            (sum(total[1:], total[0]) / rated).label("y"),
        )
        .select_from(source)
        .where(r.wave_id.in_(list(wave_ids)), rated > 0)
        .cte("per_respondent")
        .prefix_with("MATERIALIZED")  # y once per respondent, not once per sum that reads it
    )
    s = per_respondent.c
    # the OECD split of split_exprs: round half up, then 6-10 / 5 / 0-4
    values = {
        f"{COMPOSITE}:mean": s.y,
        f"{COMPOSITE}:share_high": case((s.y >= 5.5, 1.0), else_=0.0),
        f"{COMPOSITE}:share_neutral": case((and_(s.y >= 4.5, s.y < 5.5), 1.0), else_=0.0),
        f"{COMPOSITE}:share_low": case((s.y < 4.5, 1.0), else_=0.0),
    }
    assert tuple(values) == MEASURES
    keys = [s.source, s.wave, s.region, s.sex, s.age_group, s.settlement]
    columns = [func.count().label("n"), func.sum(s.w).label("sw"),
               func.sum(s.w * s.w).label("sw2")]  # fmt: skip
    for i, y in enumerate(values.values()):
        columns += [
            func.sum(s.w * y).label(f"swy_{i}"),
            func.sum(s.w * s.w * y).label(f"sw2y_{i}"),
            func.sum(s.w * s.w * y * y).label(f"sw2y2_{i}"),
            func.sum(y).label(f"sy_{i}"),
        ]
    return select(*keys, *columns).group_by(*keys)


def composite_sums(conn: Connection, institutions: Sequence[str], waves: Sequence[Wave]):
    """The cells (``CELL_SCHEMA``, ``variable`` = the measure) of the composite over
    ``institutions`` in ``waves``, summed in the database from the stored rows."""
    w = survey_waves.c
    chosen = or_(*(and_(w.source == s, w.wave == v) for s, v in waves)) if waves else None
    ids = conn.execute(select(w.id).where(chosen)).scalars().all() if waves else []
    if not ids:
        return pl.DataFrame(schema=CELL_SCHEMA)
    schema = {
        **dict.fromkeys(_KEYS, pl.String),
        "n": pl.Int64,
        "sw": pl.Float64,
        "sw2": pl.Float64,
        **{f"{c}_{i}": pl.Float64 for i in range(len(MEASURES)) for c in _SUMS},
    }
    query = _sums_query(institutions, ids)
    rows = conn.execute(query).all()
    wide = pl.DataFrame(rows, schema=schema, orient="row", strict=False)
    parts = [
        wide.select(
            *_KEYS,
            pl.lit(measure).alias("variable"),
            "n",
            "sw",
            *(pl.col(f"{c}_{i}").alias(c) for c in ("swy",)),
            "sw2",
            *(pl.col(f"{c}_{i}").alias(c) for c in ("sw2y", "sw2y2", "sy")),
        )
        for i, measure in enumerate(MEASURES)
    ]
    return pl.concat(parts).select(list(CELL_SCHEMA)).cast(CELL_SCHEMA)  # type: ignore[arg-type]


def _cached_waves(conn: Connection, key: str) -> set[Wave]:
    m = summary_composite_waves.c
    query = select(m.source, m.wave).where(m.institutions == key)
    return {tuple(row) for row in conn.execute(query).all()}  # type: ignore[misc]


def _fill(engine: Engine, institutions: Sequence[str], waves: Sequence[Wave]) -> None:
    """Sum the waves the cache lacks and store them, holding those waves (module docstring)."""
    key = set_key(institutions)
    with engine.connect() as conn:
        conn = conn.execution_options(immediate=True)  # SQLite: the writer lock up front
        with conn.begin():
            if conn.dialect.name == "postgresql":
                s = summary_strata.c
                held = or_(*(and_(s.source == a, s.wave == b) for a, b in waves))
                conn.execute(select(s.source).where(held).with_for_update(read=True)).all()
            missing = sorted(set(waves) - _cached_waves(conn, key))  # another process may have
            if not missing:
                return
            cells = composite_sums(conn, institutions, missing)
            marks = [{"institutions": key, "source": s, "wave": v} for s, v in missing]
            conn.execute(summary_composite_waves.insert(), marks)
            if cells.height:  # the store's bulk insert (COPY on PostgreSQL)
                _insert(conn, summary_composites, cells.with_columns(institutions=pl.lit(key)))


def composite_cells(
    engine: Engine, institutions: Sequence[str], waves: Sequence[Wave], measure: str
) -> pl.DataFrame:
    """The cells (``CELL_SCHEMA``) of one measure of the composite over ``institutions`` in
    ``waves``: from the cache, after summing in SQL the waves it lacks (once, for everyone)."""
    key = set_key(institutions)
    with engine.connect() as conn:
        lacking = set(waves) - _cached_waves(conn, key)
    if lacking:
        # another process may store the same waves first (IntegrityError): read theirs
        with contextlib.suppress(IntegrityError):
            _fill(engine, institutions, sorted(lacking))
    c = summary_composites.c
    query = select(*(c[name] for name in CELL_SCHEMA)).where(
        c.institutions == key, c.variable == measure
    )
    with engine.connect() as conn:
        found = pl.DataFrame(conn.execute(query).all(), schema=CELL_SCHEMA, orient="row")
    wanted = pl.DataFrame(list(waves), schema={"source": pl.String, "wave": pl.String},
                          orient="row")  # fmt: skip
    return found.join(wanted, on=["source", "wave"], how="semi")


__all__ = ["MEASURES", "composite_cells", "composite_measure", "composite_sums", "set_key"]
