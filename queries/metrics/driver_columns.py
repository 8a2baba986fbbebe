"""The drivers model's columns (``queries.metrics.drivers``): built from a sample's answers
(``driver_frame``), and kept as arrays for every subgroup of a sample (``driver_columns``: a
filter change on a kept wave is then a mask, a bincount and a design matrix, no frame pass)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from queries.errors import SenimError
from queries.metrics.trust import composite_expr, trust_columns
from queries.survey.calibration import RakeProjection, category_codes
from queries.survey.patterns import Patterns, PatternSums, pattern_sums, patterns_of
from queries.survey.regression import INTERCEPT
from queries.survey.sums import check_weights

__all__ = [
    "ANSWERS",
    "CATEGORIES",
    "NUMERIC",
    "OUTCOMES",
    "DriverColumns",
    "design",
    "driver_columns",
    "driver_frame",
    "varying",
]

OUTCOMES = ("trust_government", "composite_trust")
NUMERIC = ("state_listens", "got_response", "satisfaction", "participated", "ngo")
CATEGORIES = ("sex", "age_group", "settlement")  # against their first level, as R's factors
# the stored answers ``driver_frame`` reads besides trust_* and the cell keys (a reader of just
# the rows the model needs, ``queries.summaries.rows``, reads these)
ANSWERS = (
    "state_listens",
    "received_response",
    "response_satisfaction",
    "participated_consultation",
    "ngo_involvement",
)
MIDPOINT = 5.0


def driver_frame(
    responses: pl.DataFrame, *, outcome: str, institutions: Sequence[str] = ()
) -> pl.DataFrame:
    """The model's columns: ``y``, the predictors, ``weight``, ``stratum``; every model column
    null on rows outside the subgroup or with something missing (so levels come from the
    respondents in the model only)."""
    if outcome not in OUTCOMES:
        raise SenimError(f"Unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}.")
    y = (
        pl.col("trust_government")
        if outcome == "trust_government"
        else composite_expr(trust_columns(responses, institutions))
    )
    got = pl.col("received_response").fill_null(False)
    columns = {
        "y": y.cast(pl.Float64),
        "state_listens": pl.col("state_listens").cast(pl.Float64),
        "got_response": got.cast(pl.Float64),
        "satisfaction": pl.when(got)
        .then(pl.col("response_satisfaction").cast(pl.Float64) - MIDPOINT)
        .otherwise(0.0),
        "participated": pl.col("participated_consultation").cast(pl.Float64),
        "ngo": pl.col("ngo_involvement").cast(pl.Float64),
        **{name: pl.col(name).cast(pl.String) for name in CATEGORIES},
    }
    inside = pl.col("in_domain") if "in_domain" in responses.columns else pl.lit(True)
    # two steps: in one, each column's mask would evaluate every column again (10x the work)
    built = responses.select(**columns, _inside=inside, weight="weight", stratum="stratum")
    keep = pl.col("_inside") & pl.all_horizontal(pl.col(name).is_not_null() for name in columns)
    return built.select(
        *(pl.when(keep).then(pl.col(name)).otherwise(None).alias(name) for name in columns),
        "weight",
        "stratum",
    )


@dataclass(frozen=True, eq=False)
class DriverColumns:
    """``driver_frame``'s columns of a whole sample (no subgroup) as arrays, made once for
    every subgroup of it: a subgroup's model is then a mask (``trust_drivers_in``). Each
    predictor also as codes 0..k-1 of its distinct values, so the values a subgroup holds are
    a bincount; a category's codes follow its sorted levels (R's factor order)."""

    y: np.ndarray  # the outcome, 0 where missing
    valid: np.ndarray  # bool: the outcome and every predictor answered
    codes: dict[str, np.ndarray]  # every predictor's codes (0 where not valid), narrow ints
    levels: dict[str, np.ndarray]  # every predictor's distinct values, sorted
    weight: np.ndarray
    strata: np.ndarray  # ``category_codes`` of the stratum
    # the patterns and their sums per weights, made on first use and shared with_weights
    kept: dict = field(default_factory=dict, compare=False, repr=False)

    def with_weights(self, weight: np.ndarray) -> DriverColumns:
        """The same sample with other weights (its raked ones)."""
        return replace(self, weight=np.asarray(weight, dtype=float))

    def patterns(self) -> Patterns | None:
        """The complete rows grouped by stratum and every predictor (``patterns_of``)."""
        if "patterns" not in self.kept:
            names = (*NUMERIC, *CATEGORIES)
            self.kept["patterns"] = (
                patterns_of(
                    codes=[self.strata, *(self.codes[name] for name in names)],
                    sizes=[int(self.strata.max()) + 1, *(len(self.levels[n]) for n in names)],
                    rows=self.valid,
                )
                if self.valid.any()
                else None
            )  # no complete row: no model, nothing to group
        return self.kept["patterns"]

    def pattern_sums(self) -> PatternSums:
        """``pattern_sums`` of ``patterns()`` with these weights: kept for the last two
        (delivered, raked)."""
        made = self.kept.setdefault("sums", [])
        for weight, sums in list(made):
            if weight is self.weight or np.array_equal(weight, self.weight):
                return sums
        sums = pattern_sums(self.patterns(), y=self.y, w=self.weight)
        made[:] = [*made[-1:], (self.weight, sums)]
        return sums

    def within_cells(self, projection: RakeProjection) -> bool:
        """Every one of ``patterns()`` within one of ``projection``'s raking cells (its rows'
        cell the same), as the raked fit on patterns needs; checked once per projection."""
        last = self.kept.get("cells")
        if last is None or last[0] is not projection:
            patterns = self.patterns()
            cells, inside = projection.cells, patterns.of_row >= 0
            same = np.array_equal(cells[inside], cells[patterns.first][patterns.of_row[inside]])
            last = self.kept["cells"] = (projection, same)
        return last[1]


def driver_columns(
    responses: pl.DataFrame, *, outcome: str, institutions: Sequence[str] = ()
) -> DriverColumns:
    """``driver_frame`` of every row of ``responses`` (its ``in_domain`` not read), as arrays."""
    check_weights(responses, "weight")
    frame = driver_frame(responses.drop("in_domain", strict=False), outcome=outcome,
                         institutions=institutions)  # fmt: skip
    valid = frame.get_column("y").is_not_null().to_numpy()
    codes, levels = {}, {}
    for name in (*NUMERIC, *CATEGORIES):
        column = frame.get_column(name)
        values = column.drop_nulls().unique().sort()
        levels[name] = values.to_numpy()
        narrow = pl.UInt8 if len(values) <= 256 else pl.UInt32  # a few values each
        # each value's place among the sorted ones, looked up (a rank would sort the column)
        codes[name] = column.replace_strict(
            values, pl.int_range(len(values), eager=True), default=0, return_dtype=narrow
        ).to_numpy()
    return DriverColumns(
        y=frame.get_column("y").fill_null(0.0).to_numpy(),
        valid=valid,
        codes=codes,
        levels=levels,
        weight=frame.get_column("weight").cast(pl.Float64).to_numpy(),
        strata=category_codes(frame, "stratum"),
    )


def varying(
    columns: DriverColumns, held: dict[str, np.ndarray]
) -> tuple[list[str], tuple[str, ...], dict[str, list]]:
    """Predictors with at least two values among the respondents in the model (``held``: their
    codes there), those left out, and each one's values there (sorted: a category's first is
    its reference, as R's factor default)."""
    used, dropped, present = [], [], {}
    for name in (*NUMERIC, *CATEGORIES):
        # a comparison per level over the small codes: a bincount first widens them to 64 bits
        # (~0.6 ms a predictor on a whole wave at 10M, ~10 ms a model)
        codes = held[name]
        present[name] = [v for k, v in enumerate(columns.levels[name]) if (codes == k).any()]
        (used if len(present[name]) > 1 else dropped).append(name)
    return used, tuple(dropped), present


def design(
    columns: DriverColumns, held: dict[str, np.ndarray], used: Sequence[str], present: dict
) -> tuple[list[str], np.ndarray]:
    """``survey_regression``'s term names and design matrix on the model's rows (``held``:
    their codes): the intercept, numeric predictors as they are, a 0/1 column per category
    level but the first. Column-major, as polars' ``to_numpy`` made it (the same BLAS calls)."""
    names, parts = [INTERCEPT], []
    for name in used:
        if name in CATEGORIES:
            levels = list(columns.levels[name])
            for level in present[name][1:]:
                names.append(f"{name}{level}")
                parts.append((name, levels.index(level)))
        else:
            names.append(name)
            parts.append((name, None))
    x = np.empty((len(held[NUMERIC[0]]), len(names)), order="F")
    x[:, 0] = 1.0
    for j, (name, level) in enumerate(parts, start=1):
        if level is None:  # the values, exactly: each code's value looked up
            np.take(columns.levels[name].astype(float), held[name], out=x[:, j])
        else:
            np.equal(held[name], level, out=x[:, j], casting="unsafe")
    return names, x
