"""Reading the summary store: the per-stratum sums of any filter selection, in the frame
``queries.metrics.variable_sums`` makes from raw rows, and the Overview from them.

Filters by source, wave and region pick strata; sex, age group and settlement pick cells (a
domain: the stratum's ``n_h`` still counts every respondent). Summing the chosen cells per
stratum in one GROUP BY gives exactly the domain-restricted sums of the raw-row path, so
``combine`` and the Overview need no raw row. A variable the store does not hold (the composite
over a non-default set of institutions) is summed from the raw rows of the chosen strata only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, Engine, func, select

from queries.db import data_version
from queries.metrics import variable_sums
from queries.metrics.dataset import _age_group, _ngo, institution_order
from queries.metrics.filters import Filters, apply_filters
from queries.metrics.register import RegisterSummary
from queries.reference.regions import reference_regions
from queries.schema.data import responses
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from queries.summaries.cells import (
    DIMENSIONS,
    STRATUM_KEYS,
    STRATUM_SCHEMA,
    variables_for,
)
from queries.summaries.register import read_register
from queries.summaries.store import stored_rows
from queries.survey.sums import SUM_COLUMNS

SUMS_SCHEMA = {
    "region": pl.String,
    "wave": pl.String,
    "period_start": pl.Date,
    "stratum": pl.String,
    "variable": pl.String,
    **dict.fromkeys(SUM_COLUMNS, pl.Float64),
    "n": pl.Int64,
    "n_h": pl.Int64,
    "N_h": pl.Float64,
}
_DOMAIN = {"sexes": "sex", "age_groups": "age_group", "settlements": "settlement"}
_CARRY = ["region", "wave", "period_start"]


def stored_institutions(conn: Connection) -> tuple[str, ...]:
    """The institutions with a trust score anywhere, in the dashboard's order."""
    prefix = "institution:"
    names = conn.execute(
        select(summary_variables.c.variable)
        .distinct()
        .where(summary_variables.c.variable.startswith(prefix))
    ).scalars()
    return institution_order([name.removeprefix(prefix) for name in names])


def all_strata(conn: Connection) -> pl.DataFrame:
    """Every stratum summarised: source, wave, region, period_start, n_h (a few thousand)."""
    rows = conn.execute(select(*(summary_strata.c[c] for c in STRATUM_SCHEMA))).all()
    return pl.DataFrame(rows, schema=STRATUM_SCHEMA, orient="row")


def chosen_strata(
    conn: Connection | None,
    filters: Filters,
    source: str | None,
    *,
    strata: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The strata a selection keeps (source, wave, region, period_start, n_h): the raw-row
    path's own ``apply_filters`` run on the strata table (same rules, same messages).
    ``strata``: ``all_strata(conn)`` when the caller has it."""
    strata = all_strata(conn) if strata is None else strata
    whole = dataclasses.replace(filters, sexes=(), age_groups=(), settlements=())
    kept = apply_filters(strata, whole).drop("in_domain")
    if source is not None:
        kept = kept.filter(pl.col("source") == source)
    return kept


def _cell_query(kept: pl.DataFrame, filters: Filters, variables: Sequence[str]):
    c = summary_cells.c
    where = [c.variable.in_(list(variables))]
    for key in STRATUM_KEYS:
        where.append(c[key].in_(kept.get_column(key).unique().sort().to_list()))
    for field, column in _DOMAIN.items():
        chosen = getattr(filters, field)
        if chosen:  # NULL is never IN (...): an unanswered sex is outside a sex filter
            where.append(c[column].in_(list(chosen)))
    keys = [c[k] for k in (*STRATUM_KEYS, "variable")]
    return (
        select(*keys, *(func.sum(c[s]).label(s) for s in ("n", *SUM_COLUMNS)))
        .where(*where)
        .group_by(*keys)
    )


def _stored_sums(
    conn: Connection, kept: pl.DataFrame, filters: Filters, names: Mapping[str, str]
) -> pl.DataFrame:
    """Per (stratum, variable) sums of the stored variables: ``names`` maps the name asked for
    to the stored name. Every kept stratum gets a row per variable (zero sums when it has no
    value), as the raw-row path gives."""
    schema = {
        **dict.fromkeys((*STRATUM_KEYS, "stored"), pl.String),
        "n": pl.Int64,
        **dict.fromkeys(SUM_COLUMNS, pl.Float64),
    }
    rows = conn.execute(_cell_query(kept, filters, sorted(set(names.values())))).all()
    found = pl.DataFrame(rows, schema=schema, orient="row", strict=False)
    return with_zero_sums(kept, found, names)


def with_zero_sums(
    kept: pl.DataFrame, found: pl.DataFrame, names: Mapping[str, str]
) -> pl.DataFrame:
    """The ``variable_sums`` frame from per (stratum, stored name) sums ``found``: a row per
    kept stratum and name asked for, zero sums where the stratum has no value for it."""
    wanted = pl.DataFrame(
        {"variable": list(names), "stored": list(names.values())},
        schema={"variable": pl.String, "stored": pl.String},
    )
    frame = (
        kept.join(wanted, how="cross")
        .join(found, on=[*STRATUM_KEYS, "stored"], how="left")
        .with_columns(pl.col("n", *SUM_COLUMNS).fill_null(0))
    )
    return _shaped(frame)


def _shaped(frame: pl.DataFrame) -> pl.DataFrame:
    return (
        frame.with_columns(
            pl.concat_str(*STRATUM_KEYS, separator="|").alias("stratum"),
            pl.lit(None, pl.Float64).alias("N_h"),
        )
        .select(list(SUMS_SCHEMA))
        .cast(SUMS_SCHEMA)
    )  # type: ignore[arg-type]


def _raw_sums(
    conn: Connection, kept: pl.DataFrame, filters: Filters, variables: Mapping[str, pl.Expr]
) -> pl.DataFrame:
    """Per-stratum sums of variables the store does not hold, from the kept strata's rows."""
    parts = []
    for source, wave in kept.select("source", "wave").unique().sort("source", "wave").iter_rows():
        rows = stored_rows(conn, (source, wave))
        regions = kept.filter(pl.col("source") == source, pl.col("wave") == wave)
        rows = rows.filter(pl.col("region").is_in(regions.get_column("region").implode()))
        parts.append(rows)
    frame = pl.concat(parts, how="diagonal_relaxed")
    needed = {c for e in variables.values() for c in e.meta.root_names()}
    frame = frame.with_columns(
        *(pl.lit(None, pl.Float64).alias(c) for c in needed if c not in frame.columns),
        _age_group(pl.col("age")).alias("age_group"),
        pl.concat_str("source", "wave", "region", separator="|").alias("stratum"),
    )
    domain = Filters(
        sexes=filters.sexes, age_groups=filters.age_groups, settlements=filters.settlements
    )
    return variable_sums(apply_filters(frame, domain), variables, carry=["source", *_CARRY])


def summary_sums(
    conn: Connection,
    filters: Filters,
    source: str | None,
    variables: Mapping[str, pl.Expr],
    *,
    kept: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The per-stratum sums of ``variables`` for a filter selection (one source when
    ``source`` is given), equal to ``variable_sums`` over the filtered raw rows.
    ``kept``: ``chosen_strata(...)`` when the caller has it."""
    if kept is None:
        kept = chosen_strata(conn, filters, source)
    if kept.is_empty() or not variables:
        return pl.DataFrame(schema=SUMS_SCHEMA)
    store = variables_for(stored_institutions(conn)).stored
    names, raw = {}, {}
    for name, expr in variables.items():
        same = next((s for s, e in store.items() if e.meta.eq(expr)), None)
        if same is None:
            raw[name] = expr
        else:
            names[name] = same
    parts = []
    if names:
        parts.append(_stored_sums(conn, kept, filters, names))
    if raw:
        parts.append(_shaped(_raw_sums(conn, kept, filters, raw)))
    return pl.concat(parts)


__all__ = [
    "DIMENSIONS",
    "Catalog",
    "catalog",
    "chosen_strata",
    "register_frames",
    "summary_sums",
]


@dataclass(frozen=True)
class Catalog:
    """What the sidebar filters offer, read from the summary store (no survey row): the same
    attributes as a ``Dataset`` has for them, so the filters take either."""

    waves: pl.DataFrame  # source, wave, period_start, in time order
    sources: tuple[str, ...]
    regions: pl.DataFrame  # the reference regions
    institutions: tuple[str, ...]
    version: str
    complete: bool  # every stored response is summarised (False: run `summaries rebuild`)


def catalog(engine: Engine) -> Catalog:
    """The filters' options and whether the store covers every stored response (a database
    upgraded from before the store has rows but no summaries until a rebuild)."""
    version = data_version(engine)
    with engine.connect() as conn, conn.begin():
        strata = all_strata(conn)
        institutions = stored_institutions(conn)
        stored = conn.execute(select(func.count()).select_from(responses)).scalar_one()
    waves = (
        strata.select("source", "wave", "period_start")
        .unique()
        .sort("period_start", "wave", "source")
    )
    return Catalog(
        waves=waves,
        sources=tuple(sorted(waves.get_column("source").unique().to_list())),
        regions=reference_regions(),
        institutions=institutions,
        version=version,
        complete=int(strata.get_column("n_h").sum()) == int(stored),
    )


def register_frames(engine: Engine) -> tuple[RegisterSummary, pl.DataFrame]:
    """The proposals register and the NGO rows as the Overview and the Feedback page read them
    (small tables): the register from its summaries (issue 11), never the proposals table."""
    return read_register(engine), _ngo(engine)
