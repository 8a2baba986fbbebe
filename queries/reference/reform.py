"""The 2022 reform of the regions: on 8 June 2022 Abai was split off East Kazakhstan, Jetisu off
Almaty Region and Ulytau off Karaganda. Data are coded on the boundaries of their time, so:

- every wave or period has a boundary vintage (``vintage``): before the reform when it ends
  before 8 June 2022, today's otherwise (a 2022 annual report, a 2022-Q2 wave);
- a pre-reform row cannot name Abai, Jetisu or Ulytau (``before_reform_errors``), and its
  "Алматинская"/"ВКО"/"Карагандинская" means the old, larger unit;
- comparisons across the reform use comparable units (``comparable_region``): the parent and
  its new region merged, in the post-reform waves too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache

import polars as pl

from queries.reference.regions import reference_regions, region_label

REFORM_DATE = dt.date(2022, 6, 8)
# new region -> the region it was split off
SPLIT_FROM = {"KZ-10": "KZ-63", "KZ-33": "KZ-19", "KZ-62": "KZ-35"}
# parent -> the comparable unit (the parent on its pre-2022 boundaries)
COMPARABLE = {parent: f"{parent}+{new[3:]}" for new, parent in SPLIT_FROM.items()}
COMPARABLE_UNITS = tuple(sorted(COMPARABLE.values()))  # KZ-19+33, KZ-35+62, KZ-63+10


class Vintage(StrEnum):
    """Which boundaries a wave or period was coded on."""

    BEFORE_2022 = "before_2022"  # 17 units: 14 regions (3 larger than today) and 3 cities
    SINCE_2022 = "since_2022"  # today's 20 units


def period_end(labels: pl.Series) -> pl.Series:
    """The last day of each period label: 2021 -> 2021-12-31, 2022-Q2 -> 2022-06-30,
    2022-05 -> 2022-05-31 (null when the label is not one of these forms)."""
    year = labels.str.slice(0, 4).cast(pl.Int32, strict=False)
    part = labels.str.slice(5)
    quarter = part.str.starts_with("Q")
    months = pl.select(
        pl.when(part.str.len_chars() == 0)
        .then(pl.lit(12))
        .when(quarter)
        .then(part.str.slice(1).cast(pl.Int32, strict=False) * 3)
        .otherwise(part.cast(pl.Int32, strict=False))
    ).to_series()
    frame = pl.DataFrame({"year": year, "month": months})
    valid = frame.select(
        pl.col("year").is_not_null() & pl.col("month").is_between(1, 12)
    ).to_series()
    first = frame.select(
        pl.when(valid).then(pl.date(pl.col("year"), pl.col("month").clip(1, 12), 1))
    ).to_series()
    return first.dt.month_end().rename("period_end")


def vintage(end: dt.date) -> Vintage:
    """The boundaries of a wave or period ending on ``end``."""
    return Vintage.BEFORE_2022 if end < REFORM_DATE else Vintage.SINCE_2022


def vintage_of(label: str) -> Vintage | None:
    """The boundaries of a wave or period label (None when the label is not a period)."""
    end = period_end(pl.Series([label])).item()
    return None if end is None else vintage(end)


def before_reform(ends: pl.Series) -> pl.Series:
    """Per row: whether the period ending on that date was coded on the old boundaries."""
    return (ends < REFORM_DATE).fill_null(False)


def before_reform_errors(codes: pl.Series, ends: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Rows of a pre-reform period that name a region created by the reform, and per-row
    message parameters (the unit, the region it was part of, the reform date) as JSON."""
    mask = before_reform(ends) & codes.is_in(list(SPLIT_FROM)).fill_null(False)
    params = {
        new: json.dumps(
            {
                "unit": f"{new} ({region_label(new)})",
                "parent": f"{parent} ({region_label(parent)})",
                "reform_date": REFORM_DATE.isoformat(),
            },
            ensure_ascii=False,
        )
        for new, parent in SPLIT_FROM.items()
    }
    return mask, codes.replace_strict(params, default="{}", return_dtype=pl.String)


def comparable_region(code: str) -> str:
    """The unit to compare ``code`` on across the reform: Almaty Region and Jetisu are both
    ``KZ-19+33`` (Almaty Region on its pre-2022 boundaries); other units are themselves."""
    return COMPARABLE.get(SPLIT_FROM.get(code, code), code)


def comparable_expr(column: str = "region") -> pl.Expr:
    """``comparable_region`` as a polars expression over a column of unit codes."""
    mapping = {code: comparable_region(code) for code in (*SPLIT_FROM, *SPLIT_FROM.values())}
    return pl.col(column).replace(mapping)


def comparable_members(code: str) -> tuple[str, ...]:
    """Today's units inside the comparable unit of ``code`` (itself for unaffected units)."""
    unit = comparable_region(code)
    members = [c for c in (*SPLIT_FROM, *SPLIT_FROM.values()) if comparable_region(c) == unit]
    return tuple(sorted(members)) or (code,)


def crosses_reform(labels: Iterable[str]) -> bool:
    """Whether waves or periods with these labels lie on both sides of the reform."""
    return _crosses(frozenset(labels))


@lru_cache(maxsize=1024)
def _crosses(labels: frozenset[str]) -> bool:
    # kept per set of labels (issue 11): a dozen polars steps on a few labels, asked on every
    # filter change of the Overview and the Regions page
    ends = period_end(pl.Series(sorted(labels), dtype=pl.String)).drop_nulls()
    before = before_reform(ends)
    return bool(before.any()) and not bool(before.all())


def old_unit(code: str) -> str:
    """The pre-2022 unit a today's unit lay in (Jetisu -> Almaty Region's code KZ-19)."""
    return SPLIT_FROM.get(code, code)


def old_units_expr(column: str = "region") -> pl.Expr:
    """``old_unit`` as a polars expression: today's codes to the 17 old units' codes."""
    return pl.col(column).replace(SPLIT_FROM)


def population_reference() -> pl.DataFrame:
    """``region``, ``before_2022``, ``population``: today's 20 units (False) and the 17
    pre-reform units (True), whose populations are the sums of today's units inside them."""
    today = reference_regions().select(pl.col("code").alias("region"), "population")
    old = (
        today.with_columns(old_units_expr())
        .group_by("region", maintain_order=True)
        .agg(pl.col("population").sum())
    )
    return pl.concat(
        [
            today.with_columns(before_2022=pl.lit(False)),
            old.with_columns(before_2022=pl.lit(True)),
        ]
    ).select("region", "before_2022", "population")


def with_population(frame: pl.DataFrame, *, period: str = "period") -> pl.DataFrame:
    """``frame`` (rows keyed by ``region`` and a ``period`` label) with the ``population`` of
    the unit as it was in that period: a 2021 "KZ-19" is Almaty Region with today's Jetisu."""
    before = before_reform(period_end(frame.get_column(period).cast(pl.String)))
    keyed = frame.with_columns(before.alias("_before"))
    reference = population_reference().rename({"before_2022": "_before"})
    return keyed.join(reference, on=["region", "_before"], how="left").drop("_before")


def on_comparable_units(
    frame: pl.DataFrame, *, wave: str = "wave", region: str = "region"
) -> pl.DataFrame:
    """``frame`` with ``region`` on comparable units when its waves lie on both sides of the
    reform (a comparison across 2022), else unchanged (one vintage keeps its own units)."""
    if frame.is_empty() or not crosses_reform(frame.get_column(wave).unique().to_list()):
        return frame
    return frame.with_columns(comparable_expr(region))


def is_reformed(code: str) -> bool:
    """Whether the reform changed ``code``'s boundaries (the three parents and new regions)."""
    return comparable_region(code) != code


def comparable_selection(
    regions: Iterable[str], wave_labels: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A region selection over waves on both sides of the reform, widened to whole comparable
    units (Jetisu -> Almaty Region + Jetisu: in pre-2022 waves they are one "KZ-19"), and the
    comparable units that widening stands for (for the label); unchanged within one vintage."""
    chosen = tuple(regions)
    if not any(is_reformed(code) for code in chosen) or not crosses_reform(wave_labels):
        return chosen, ()
    widened = sorted({member for code in chosen for member in comparable_members(code)})
    units = sorted({comparable_region(code) for code in chosen if is_reformed(code)})
    return tuple(widened), tuple(units)
