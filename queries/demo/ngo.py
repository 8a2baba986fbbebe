"""Demo NGO activity: one row per region and year, in the contract's file format."""

from __future__ import annotations

import numpy as np
import polars as pl

from queries.contract import NGO
from queries.demo.common import STREAM_NGO, old_units, region_names, regions, rng_for
from queries.reference.reform import REFORM_DATE

NGO_YEARS = tuple(range(2019, 2026))
# NGOs per 10,000 residents: 15-40, tied to regional trust so density-vs-trust shows a
# (noisy) relation: DENSITY_PER_TRUST more per point of regional trust offset.
DENSITY_BASE = 26.0
DENSITY_PER_TRUST = 8.0

NGO_COLUMNS = tuple(c.name for c in NGO.columns)


def generate_ngo(seed: int) -> pl.DataFrame:
    """Demo NGO activity per region and year 2019-2025 (text columns, contract format)."""
    rng = rng_for(seed, STREAM_NGO)
    table = regions()
    n_regions, n_years = table.height, len(NGO_YEARS)
    population = table.get_column("population").to_numpy().astype(float)
    offset = table.get_column("trust_offset").to_numpy()
    density = np.clip(
        DENSITY_BASE + DENSITY_PER_TRUST * offset + rng.normal(0, 4.0, n_regions), 15, 40
    )
    growth = 1 + rng.uniform(0.02, 0.05, n_regions)  # a few % a year
    years = np.arange(n_years)
    region = np.repeat(np.arange(n_regions), n_years)
    year_index = np.tile(years, n_regions)
    size = len(region)

    # Registered NGOs in 2019 from density, then growing with yearly noise.
    first = population * density / 10_000 / growth ** (n_years - 1)
    registered = np.rint(
        first[region] * growth[region] ** year_index * rng.normal(1, 0.015, size)
    ).astype(np.int64)

    # Ratios are a region's own habit plus a little yearly noise, so series look plausible.
    def ratio(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, n_regions)[region] * rng.normal(1, 0.04, size)

    active = np.minimum(registered, np.rint(registered * ratio(0.57, 0.73))).astype(np.int64)
    grants = np.rint(active * ratio(0.08, 0.18) * (1 + 0.04 * year_index)).astype(np.int64)
    grant_size = ratio(6e6, 18e6) * 1.06**year_index  # tenge, rising with prices
    grants_kzt = np.rint(grants * grant_size / 1000) * 1000
    volunteers = np.rint(active * ratio(12, 40)).astype(np.int64)
    beneficiaries = np.rint(volunteers * ratio(3, 12)).astype(np.int64)

    # Years before the 2022 reform are reported on the 17 old units: a new region's numbers
    # are part of the region it was split off.
    unit = old_units(region, np.array(NGO_YEARS)[year_index] < REFORM_DATE.year)
    counts = (
        pl.DataFrame(
            {
                "unit": unit,
                "year_index": year_index,
                "registered_ngos": registered,
                "active_ngos": active,
                "grants_count": grants,
                "grants_kzt": grants_kzt.astype(np.int64),
                "volunteers": volunteers,
                "beneficiaries": beneficiaries,
            }
        )
        .group_by("unit", "year_index", maintain_order=True)
        .sum()
    )
    frame = counts.with_columns(
        region=region_names(counts.get_column("unit").to_numpy(), rng),
        period=pl.col("year_index").replace_strict(
            {i: str(year) for i, year in enumerate(NGO_YEARS)}, return_dtype=pl.String
        ),
    )
    return frame.with_columns(pl.exclude("region", "period").cast(pl.String)).select(NGO_COLUMNS)
