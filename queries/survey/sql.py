"""Step 1 of the survey estimators (per-stratum sums) as one SQL GROUP BY, for a database too big
to load: its result, read into polars, goes straight into ``queries.survey.design.combine_sums``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Float, Select, String, Table, and_, case, func, literal, select
from sqlalchemy import cast as sa_cast

from queries.survey.sums import SUM_COLUMNS
from queries.survey.sums import as_list as _as_list


def sums_select(
    table: Table,
    value: str,
    *,
    weight: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    by: str | Sequence[str] | None = None,
    domain: str | None = None,
) -> Select:
    """The SQL GROUP BY form of ``stratum_sums`` for one numeric value column of a table.

    Its result, read into polars, is a valid ``combine_sums`` input (``variable`` = ``value``).
    """
    by_cols = [table.c[c] for c in _as_list(by)]
    y = table.c[value]
    keep = y.is_not(None)
    if domain:
        keep = and_(keep, table.c[domain])
    w = sa_cast(table.c[weight], Float) if weight else literal(1.0, Float)
    wk = case((keep, w), else_=0.0)
    yk = case((keep, sa_cast(y, Float)), else_=0.0)
    stratum = sa_cast(table.c[strata], String) if strata else literal("all", String)
    inner = select(
        *by_cols,
        stratum.label("stratum"),
        func.sum(wk).label("sw"),
        func.sum(wk * yk).label("swy"),
        func.sum(wk * wk).label("sw2"),
        func.sum(wk * wk * yk).label("sw2y"),
        func.sum(wk * wk * yk * yk).label("sw2y2"),
        func.sum(case((keep, 1), else_=0)).label("n"),
        func.count().label("_len"),
        func.max(sa_cast(table.c[fpc], Float) if fpc else literal(None, Float)).label("N_h"),
    ).group_by(*by_cols, stratum)
    sub = inner.subquery()
    return select(
        *(sub.c[c.name] for c in by_cols),
        sub.c.stratum,
        literal(value, String).label("variable"),
        *(sub.c[c] for c in (*SUM_COLUMNS, "n")),
        func.sum(sub.c._len).over(partition_by=sub.c.stratum).label("n_h"),
        func.max(sub.c.N_h).over(partition_by=sub.c.stratum).label("N_h"),
    )
