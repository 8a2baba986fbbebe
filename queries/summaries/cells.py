"""The cell definition and per-cell sums of every stored survey variable, from a polars frame.

A cell is (stratum source|wave|region × sex × age group × settlement). Filters by source, wave
and region select whole strata and filters by sex, age group and settlement select whole cells,
so every filtered estimate the metrics make is a union of cells: summing the cells' sums per
stratum gives exactly the per-stratum sums ``queries.metrics.variable_sums`` makes from the raw
rows (with the domain zeroing), and the stratum's total ``n_h`` is stored beside them. Raking
margins (region, sex, age group) are cell dimensions too, so a raking factor is constant within
a cell.

The stored variables are not listed here: they are built from the metrics code's own
expressions (Overview, trust, participation, feedback), so there is one description of each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from queries.metrics.dataset import (
    ANSWER_SCHEMA,
    _age_group,  # the one definition of the age groups
)
from queries.metrics.feedback import feedback_variables
from queries.metrics.overview import INSTITUTION_PREFIX, survey_variables
from queries.metrics.participation import PARTICIPATION
from queries.metrics.trust import COMPOSITE, split_exprs
from queries.survey.sums import SUM_COLUMNS, stratum_sums

TRUST = "trust_"
STRATUM_KEYS = ("source", "wave", "region")
DIMENSIONS = ("sex", "age_group", "settlement")
COUNTS = ("n",)
RESPONDENTS = "respondents"
# the raw columns a wave's rows must have (trust_* columns come on top, as many as there are)
ROW_COLUMNS = {
    "source": pl.String,
    "wave": pl.String,
    "period_start": pl.Date,
    **ANSWER_SCHEMA,
}
CELL_SCHEMA = {
    **dict.fromkeys(STRATUM_KEYS, pl.String),
    **dict.fromkeys(DIMENSIONS, pl.String),
    "variable": pl.String,
    "n": pl.Int64,
    **dict.fromkeys(SUM_COLUMNS, pl.Float64),
    "sy": pl.Float64,  # unweighted Σy of the same rows: calibrated estimates (issue 12)
}
STRATUM_SCHEMA = {
    **dict.fromkeys(STRATUM_KEYS, pl.String),
    "period_start": pl.Date,
    "n_h": pl.Int64,
}


@dataclass(frozen=True)
class Variables:
    """The stored variables (name -> expression over a wave's rows) and the other names the
    metrics use for the same expression (alias -> stored name)."""

    stored: dict[str, pl.Expr]
    aliases: dict[str, str]

    def resolve(self, name: str) -> str:
        """The stored name holding variable ``name``."""
        return self.aliases.get(name, name)


def variables_for(institutions: Sequence[str]) -> Variables:
    """Every derived variable the Overview and the metrics pages use, for these institutions.

    Built from the metrics code's own expressions; two names for an identical expression
    (e.g. ``composite_trust`` and ``composite:mean``) are stored once."""
    columns = pl.DataFrame(schema={f"{TRUST}{i}": pl.Float64 for i in institutions})
    named: dict[str, pl.Expr] = {}
    if institutions:
        named |= survey_variables(columns)
        for institution in institutions:
            score = pl.col(f"{TRUST}{institution}")
            named[INSTITUTION_PREFIX + institution] = score
            named |= split_exprs(institution, score)
        named |= split_exprs(COMPOSITE, survey_variables(columns)["composite_trust"])
    else:  # no trust item at all: the rest of the Overview still has its variables
        named |= _without_trust()
    named |= {column: pl.col(column) for column in PARTICIPATION}
    named |= feedback_variables()
    # every respondent counts once: the per-cell n, Σw, Σw² of all respondents, which raking
    # to population margins (region, sex, age group: cell dimensions) starts from
    named[RESPONDENTS] = pl.lit(1.0)
    stored: dict[str, pl.Expr] = {}
    aliases: dict[str, str] = {}
    for name, expr in named.items():
        same = next((s for s, e in stored.items() if e.meta.eq(expr)), None)
        if same is None:
            stored[name] = expr
        else:
            aliases[name] = same
    return Variables(stored, aliases)


def _without_trust() -> dict[str, pl.Expr]:
    """``survey_variables`` minus the composite (which needs at least one trust item)."""
    placeholder = pl.DataFrame(schema={f"{TRUST}_": pl.Float64})
    return {k: v for k, v in survey_variables(placeholder).items() if k != "composite_trust"}


def institutions_in(frame: pl.DataFrame) -> list[str]:
    """The institutions a frame of rows has a ``trust_*`` column for, in column order."""
    return [c.removeprefix(TRUST) for c in frame.columns if c.startswith(TRUST)]


def cell_sums(
    rows: pl.DataFrame, variables: Mapping[str, pl.Expr] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(strata, cells) of a frame of survey rows (``ROW_COLUMNS`` plus ``trust_*``), for the
    stored variables (or ``variables``, e.g. a composite over another set of institutions).

    strata: source, wave, region, period_start, n_h (every row of the stratum);
    cells: the cell keys, ``variable`` and n, Σw, Σwy, Σw², Σw²y, Σw²y², Σy over the cell's
    rows with a value (cells × variables without any value are not kept: they add nothing).
    A pure function of the rows: the same rows in the same order give the same sums."""
    if rows.is_empty():
        return pl.DataFrame(schema=STRATUM_SCHEMA), pl.DataFrame(schema=CELL_SCHEMA)
    if variables is None:
        variables = variables_for(institutions_in(rows)).stored
    if "region_code" in rows.columns:
        rows = rows.rename({"region_code": "region"})
    frame = rows.select(
        "source",
        "wave",
        "period_start",
        "region",
        "sex",
        _age_group(pl.col("age")).alias("age_group"),
        "settlement",
        pl.col("weight").cast(pl.Float64),
        pl.concat_str("source", "wave", "region", separator="|").alias("stratum"),
        *(expr.cast(pl.Float64).alias(name) for name, expr in variables.items()),
    )
    long = stratum_sums(
        frame,
        list(variables),
        weight="weight",
        strata="stratum",
        cells=list(DIMENSIONS),  # the cell keys, with the unweighted Σy (``sy``) as well
        carry=[*STRATUM_KEYS, "period_start"],
    )
    strata = (
        long.select(*STRATUM_KEYS, "period_start", "n_h")
        .unique(subset=list(STRATUM_KEYS))
        .sort(list(STRATUM_KEYS))
        .cast(STRATUM_SCHEMA)  # type: ignore[arg-type]
    )
    cells = (
        long.filter(pl.col("n") > 0)
        .select(list(CELL_SCHEMA))
        .cast(CELL_SCHEMA)  # type: ignore[arg-type]
        .sort([*STRATUM_KEYS, *DIMENSIONS, "variable"], nulls_last=True)
    )
    return strata, cells
