"""Trust in institutions: weighted mean (0-10) and the OECD split, per item and composite."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from queries.errors import SenimError
from queries.metrics import as_list, estimate

COMPOSITE = "composite"
MEASURES = ("mean", "share_high", "share_neutral", "share_low")


def trust_columns(responses: pl.DataFrame, institutions: Sequence[str] = ()) -> list[str]:
    """The ``trust_<institution>`` columns selected (all present ones when none chosen)."""
    present = [c for c in responses.columns if c.startswith("trust_")]
    if not institutions:
        return present
    chosen = [f"trust_{i}" for i in institutions]
    missing = [c for c in chosen if c not in present]
    if missing:
        raise SenimError(
            f"No trust item {missing[0]!r} in the data; present: {', '.join(present)}."
        )
    return chosen


def composite_expr(columns: Sequence[str]) -> pl.Expr:
    """Per respondent: mean of the available trust items (null when none answered)."""
    if not columns:
        raise SenimError("The composite trust index needs at least one trust item.")
    return pl.mean_horizontal(*columns)


def split_exprs(name: str, score: pl.Expr) -> dict[str, pl.Expr]:
    """OECD split of a 0-10 score: high 6-10, neutral 5, low 0-4 (null stays null).

    A composite score is first rounded half up to a whole point (4.5 -> 5), which leaves single
    items unchanged.
    """
    whole = (score + 0.5).floor()
    return {
        f"{name}:mean": score,
        f"{name}:share_high": whole >= 6,
        f"{name}:share_neutral": whole == 5,
        f"{name}:share_low": whole <= 4,
    }


def trust_summary(
    responses: pl.DataFrame,
    *,
    institutions: Sequence[str] = (),
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
) -> pl.DataFrame:
    """Trust per institution and composite: mean and OECD shares per ``by`` group.

    Columns: the ``by`` columns, ``institution`` (``composite`` for the index), ``measure``
    (mean, share_high, share_neutral, share_low), then estimate, se, ci_low, ci_high, n, suppressed.
    """
    columns = trust_columns(responses, institutions)
    variables: dict[str, pl.Expr] = {}
    for col in columns:
        variables |= split_exprs(col.removeprefix("trust_"), pl.col(col))
    variables |= split_exprs(COMPOSITE, composite_expr(columns))
    shares = [v for v in variables if ":share_" in v]
    out = estimate(responses, variables, by=by, shares=shares, level=level)
    parts = pl.col("variable").str.split_exact(":", 1)
    return out.with_columns(
        parts.struct.field("field_0").alias("institution"),
        parts.struct.field("field_1").alias("measure"),
    ).select(*as_list(by), "institution", "measure", pl.exclude(*as_list(by), "institution",
             "measure", "variable"))  # fmt: skip
