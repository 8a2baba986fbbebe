"""Post-stratification and raking (iterative proportional fitting) of survey weights.

Raking adjusts the weights so that the weighted counts match known population margins (e.g.
region, sex and age group) one variable at a time, repeating until every margin holds within
``tol`` (relative). Post-stratification matches a full cross-classification in one step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from queries.errors import SenimError


@dataclass(frozen=True)
class RakeResult:
    """The frame with adjusted weights, and how the fitting went."""

    frame: pl.DataFrame
    iterations: int
    max_error: float  # largest relative gap between a weighted margin and its target


def _check_categories(frame: pl.DataFrame, column: str, targets: Mapping[object, float]) -> None:
    if column not in frame.columns:
        raise SenimError(f"Raking variable {column!r} is not in the data.")
    present = set(frame.get_column(column).unique().to_list())
    missing = [k for k in targets if k not in present]
    if missing:
        raise SenimError(
            f"Raking margin {column}={missing[0]!r} has no respondents; merge it with a "
            f"neighbouring category or drop it from the margins."
        )
    extra = sorted((str(v) for v in present if v not in targets), key=str)
    if extra:
        raise SenimError(
            f"Respondents with {column}={extra[0]!r} have no population margin; give a target "
            f"for it or leave those rows out before raking."
        )
    bad = [k for k, v in targets.items() if not v > 0]
    if bad:
        raise SenimError(f"Raking margin {column}={bad[0]!r}: the population total must be > 0.")


def rake(
    frame: pl.DataFrame,
    margins: Mapping[str, Mapping[object, float]],
    *,
    weight: str = "weight",
    out: str | None = None,
    tol: float = 1e-8,
    max_iter: int = 100,
) -> RakeResult:
    """Rake ``weight`` to population ``margins`` ({column: {category: population}}) by IPF.

    The result is written to ``out`` (default: replaces ``weight``). Raises SenimError when a
    margin category has no respondents, a respondent's category has no margin, or the fitting
    does not converge within ``max_iter`` iterations (margins that contradict each other).
    """
    if not margins:
        raise SenimError("Raking needs at least one margin.")
    for column, targets in margins.items():
        _check_categories(frame, column, targets)
    totals = {sum(t.values()) for t in margins.values()}
    if max(totals) - min(totals) > 1e-9 * max(totals):
        raise SenimError("The raking margins do not add up to the same population total.")
    result = out or weight
    work = frame.with_columns(pl.col(weight).cast(pl.Float64).alias("_rw"))
    targets = {
        col: pl.DataFrame({col: list(t.keys()), "_target": [float(v) for v in t.values()]})
        for col, t in margins.items()
    }
    error = float("inf")
    for iteration in range(1, max_iter + 1):
        for col, table in targets.items():
            have = pl.col("_rw").sum().over(col)
            work = (
                work.join(table, on=col, how="left")
                .with_columns((pl.col("_rw") * pl.col("_target") / have).alias("_rw"))
                .drop("_target")
            )
        error = max(
            work.group_by(col)
            .agg(pl.col("_rw").sum())
            .join(table, on=col)
            .select(((pl.col("_rw") - pl.col("_target")).abs() / pl.col("_target")).max())
            .item()
            for col, table in targets.items()
        )
        if error < tol:
            done = work.with_columns(pl.col("_rw").alias(result)).drop("_rw")
            return RakeResult(done, iteration, error)
    raise SenimError(
        f"Raking did not converge in {max_iter} iterations (largest margin gap {error:.2e}); "
        "check that the margins are consistent."
    )


def poststratify(
    frame: pl.DataFrame,
    cells: pl.DataFrame,
    *,
    weight: str = "weight",
    population: str = "population",
    out: str | None = None,
) -> pl.DataFrame:
    """Scale ``weight`` so each cell (the other columns of ``cells``) sums to its ``population``.

    Raises SenimError naming the first population cell with no respondents, or a respondent
    cell that has no population.
    """
    keys = [c for c in cells.columns if c != population]
    joined = frame.join(cells, on=keys, how="left", nulls_equal=True)
    orphan = joined.filter(pl.col(population).is_null())
    if orphan.height:
        cell = ", ".join(f"{k}={orphan.get_column(k)[0]!r}" for k in keys)
        raise SenimError(f"Respondents in cell {cell} have no population count.")
    empty = cells.join(frame.select(keys).unique(), on=keys, how="anti", nulls_equal=True)
    if empty.height:
        cell = ", ".join(f"{k}={empty.get_column(k)[0]!r}" for k in keys)
        raise SenimError(f"Post-stratification cell {cell} has no respondents; merge cells.")
    factor = pl.col(population) / pl.col(weight).sum().over(keys)
    return joined.with_columns((pl.col(weight) * factor).alias(out or weight)).drop(population)
