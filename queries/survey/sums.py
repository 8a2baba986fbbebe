"""Step 1 of the survey estimators: per-stratum sums, one pass over a polars frame.

Every estimate in ``queries.survey.design`` is built from these sums (Σw, Σwy, Σw², Σw²y, Σw²y², n
per by-group, stratum and variable), so many variables and groups cost one ``group_by``. The same
sums can come from SQL (``queries.survey.sql``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from queries.contract.vocabulary import NO, YES
from queries.errors import SenimError

__all__ = ["SUM_COLUMNS", "as_list", "check_weights", "stratum_sums", "value_expr"]

SUM_COLUMNS = ("sw", "swy", "sw2", "sw2y", "sw2y2")
_YES = set(YES)
_NO = set(NO)


def as_list(cols: str | Sequence[str] | None) -> list[str]:
    """A column name, a list of them, or None, as a list."""
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def value_expr(frame: pl.DataFrame, value: str, *, binary: bool) -> pl.Expr:
    """``value`` as Float64: Boolean and yes/no text become 1/0; other text is an error."""
    if value not in frame.columns:
        raise SenimError(
            f"Column {value!r} is not in the data (columns: {', '.join(frame.columns)})."
        )
    dtype = frame.schema[value]
    col = pl.col(value)
    if dtype == pl.String:
        low = frame.get_column(value).drop_nulls().str.strip_chars().str.to_lowercase()
        bad = low.filter(~low.is_in(list(_YES | _NO)) & (low != ""))
        if len(bad):
            raise SenimError(f"Column {value!r}: {bad[0]!r} is not a yes/no answer.")
        text = col.str.strip_chars().str.to_lowercase()
        return (
            pl.when(text.is_in(list(_YES)))
            .then(1.0)
            .when(text.is_in(list(_NO)))
            .then(0.0)
            .otherwise(None)
        )
    if not (dtype == pl.Boolean or dtype.is_numeric()):
        raise SenimError(f"Column {value!r} has type {dtype}; a number or yes/no was expected.")
    if binary and dtype != pl.Boolean:
        bad = frame.get_column(value).drop_nulls().cast(pl.Float64)
        bad = bad.filter(~bad.is_in([0.0, 1.0]))
        if len(bad):
            raise SenimError(f"Column {value!r}: {bad[0]!r} is not 0/1; a proportion needs 0/1.")
    return col.cast(pl.Float64)


def check_weights(frame: pl.DataFrame, weight: str) -> None:
    """Raise SenimError naming the first row whose weight is missing, NaN, zero or negative."""
    if weight not in frame.columns:
        raise SenimError(f"Weight column {weight!r} is not in the data.")
    ok = pl.col(weight).cast(pl.Float64)
    if frame.select((ok.is_not_nan() & (ok > 0)).fill_null(False).all()).item():
        return  # the common case, one cheap pass; the message below needs the bad rows
    w = frame.get_column(weight).cast(pl.Float64)
    bad = (w.is_null() | w.is_nan() | (w <= 0)).arg_true()
    if len(bad):
        row = int(bad[0])
        raise SenimError(
            f"Weight column {weight!r}, row {row + 1}: {w[row]!r} is not a positive number "
            f"({len(bad)} row(s) with a missing, zero or negative weight); weights must be > 0."
        )


def stratum_sums(
    frame: pl.DataFrame,
    values: str | Sequence[str],
    *,
    weight: str | None = None,
    strata: str | None = None,
    fpc: str | None = None,
    by: str | Sequence[str] | None = None,
    domain: str | None = None,
    binary: bool = False,
    carry: Sequence[str] = (),
    cells: Sequence[str] = (),
) -> pl.DataFrame:
    """Per (by groups, stratum, variable) sums that every estimate is built from.

    One pass over the frame for many value columns. Columns: the ``by`` columns, ``stratum``,
    ``variable``, ``sw``, ``swy``, ``sw2``, ``sw2y``, ``sw2y2`` (over respondents in the domain
    with a value), ``n`` (their count), ``n_h`` (all rows of the stratum), ``N_h`` (population).

    ``carry``: columns constant within a stratum (e.g. region and wave when the stratum is
    source|wave|region), returned like ``by`` columns; when the frame is sorted by stratum they
    are not grouped on (not checked), as summing contiguous slices is then much faster.

    ``cells`` (calibration, issue 12): also group on these columns (e.g. sex, age group) and
    add ``sy`` (unweighted Σy) and ``n_cell``, ``sw_cell``, ``sw2_cell`` (every row of the
    group, in the domain or not) that ``queries.survey.calibrated_sums`` needs.
    """
    names = as_list(values)
    by_cols = as_list(by)
    carried = [c for c in carry if c not in by_cols]
    if weight is not None:
        check_weights(frame, weight)
    for col in [*by_cols, *carried, *(c for c in (strata, fpc, domain) if c)]:
        if col not in frame.columns:
            raise SenimError(f"Column {col!r} is not in the data.")
    if carried and not (strata and frame.get_column(strata).flags["SORTED_ASC"]):
        # unsorted: hashing the extra keys is cheaper than taking first() in scattered groups
        by_cols, carried = [*by_cols, *carried], []
    w = pl.col(weight).cast(pl.Float64) if weight else pl.lit(1.0)
    inside = pl.col(domain).fill_null(False) if domain else pl.lit(True)
    prep = [
        (pl.col(strata).cast(pl.String) if strata else pl.lit("all")).alias("stratum"),
        (pl.col(fpc).cast(pl.Float64) if fpc else pl.lit(None, pl.Float64)).alias("N_h"),
    ]
    aggs: list[pl.Expr] = [
        pl.len().alias("_len"),
        pl.col("N_h").max(),
        *(pl.col(c).first() for c in carried),
    ]
    for i, name in enumerate(names):
        y = value_expr(frame, name, binary=binary)
        keep = y.is_not_null() & inside
        kept_w = pl.when(keep).then(w).otherwise(0.0)
        # u = w·y once per row, so every sum below is a single product (the sums dominate cost)
        prep += [kept_w.alias(f"_w{i}"), (kept_w * y.fill_null(0.0)).alias(f"_u{i}")]
        wi, ui = pl.col(f"_w{i}"), pl.col(f"_u{i}")
        aggs += [
            wi.sum().alias(f"{i}:sw"),
            ui.sum().alias(f"{i}:swy"),
            (wi * wi).sum().alias(f"{i}:sw2"),
            (wi * ui).sum().alias(f"{i}:sw2y"),
            (ui * ui).sum().alias(f"{i}:sw2y2"),
            (wi > 0).sum().cast(pl.Int64).alias(f"{i}:n"),
        ]
    # --- per-cell sums for calibration (issue 12) ---
    if cells:
        by_cols = [*by_cols, *(c for c in cells if c not in by_cols)]
        carried = [c for c in carried if c not in cells]
        prep.append(w.alias("_wall"))
        aggs += [
            pl.col("_wall").sum().alias("sw_cell"),
            pl.col("_wall").pow(2).sum().alias("sw2_cell"),
        ]
        for i, name in enumerate(names):
            keep = value_expr(frame, name, binary=binary).is_not_null() & inside
            kept_y = pl.when(keep).then(value_expr(frame, name, binary=binary)).otherwise(0.0)
            prep.append(kept_y.alias(f"_y{i}"))
            aggs.append(pl.col(f"_y{i}").sum().alias(f"{i}:sy"))
    # --- end per-cell sums ---
    keys = [*by_cols, "stratum"]
    wide = (
        frame.lazy()
        .select(*by_cols, *carried, *prep)
        .group_by(keys)
        .agg(aggs)
        .with_columns(
            pl.col("_len").sum().over("stratum").cast(pl.Int64).alias("n_h"),
            pl.col("N_h").max().over("stratum"),
        )
        .collect()
    )
    if cells:  # per-cell sums for calibration (issue 12)
        wide = wide.with_columns(pl.col("_len").cast(pl.Int64).alias("n_cell"))
    return _to_long(wide, [*by_cols, *carried, "stratum"], names)


def _to_long(wide: pl.DataFrame, keys: list[str], names: list[str]) -> pl.DataFrame:
    parts = [
        wide.select(
            *keys,
            pl.lit(name).alias("variable"),
            *(pl.col(f"{i}:{s}").alias(s) for s in (*SUM_COLUMNS, "n")),
            "n_h",
            "N_h",
            # per-cell sums for calibration (issue 12), when asked for
            *(pl.col(f"{i}:sy").alias("sy") for _ in [0] if f"{i}:sy" in wide.columns),
            *(c for c in ("n_cell", "sw_cell", "sw2_cell") if c in wide.columns),
        )
        for i, name in enumerate(names)
    ]
    return pl.concat(parts) if parts else pl.DataFrame()
