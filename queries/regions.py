"""The 20 first-level units of Kazakhstan (17 regions, 3 cities since 2022)."""

from __future__ import annotations

from functools import cache

import polars as pl

from queries.settings import DATA_DIR

REGIONS_CSV = DATA_DIR / "regions.csv"


@cache
def reference_regions() -> pl.DataFrame:
    """The reference table: code, kato, names (en, kk, ru, kk_latn), centre, kind, population."""
    frame = pl.read_csv(REGIONS_CSV, schema_overrides={"kato": pl.Int64})
    return frame.rename({"population_2024": "population"})
