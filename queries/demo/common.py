"""Shared pieces of the demo generators: regions, their built-in trust levels, random streams."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from queries.reference.reform import REFORM_DATE, SPLIT_FROM
from queries.reference.regions import reference_regions

# The fixed "as of" date: nothing in the demo lies after it, so output never depends on today.
AS_OF = dt.date(2025, 12, 31)

# How much each region's trust sits above (+) or below (-) the national level, on the 0-10
# scale. Fixed rather than drawn from the seed so the demo tells the same story every time;
# NGO density is mildly tied to it so the density-vs-trust chart shows a (noisy) relation.
REGION_TRUST: dict[str, float] = {
    "KZ-10": -0.2,
    "KZ-11": 0.1,
    "KZ-15": 0.0,
    "KZ-19": 0.2,
    "KZ-23": -0.5,
    "KZ-27": -0.3,
    "KZ-31": 0.4,
    "KZ-33": 0.3,
    "KZ-35": -0.1,
    "KZ-39": 0.0,
    "KZ-43": 0.6,
    "KZ-47": -0.6,
    "KZ-55": 0.1,
    "KZ-59": 0.2,
    "KZ-61": 0.8,
    "KZ-62": -0.2,
    "KZ-63": -0.1,
    "KZ-71": 0.5,
    "KZ-75": -0.7,
    "KZ-79": 0.4,
}

# How region names are written in the files: a realistic mix that exercises the resolver.
NAME_COLUMNS = ("name_ru", "name_en", "name_kk", "code")
NAME_SHARES = (0.5, 0.27, 0.15, 0.08)

# Independent random streams per generator, so changing one never shifts another.
STREAM_SURVEY, STREAM_NGO, STREAM_PROPOSALS = 1, 2, 3


def rng_for(seed: int, stream: int, *parts: int) -> np.random.Generator:
    """A generator for one demo stream of ``seed`` (``parts`` name a sub-stream, e.g. a wave)."""
    return np.random.default_rng([int(seed), stream, *parts])


def regions() -> pl.DataFrame:
    """The reference regions in code order, with their population share and trust offset."""
    frame = reference_regions().sort("code")
    return frame.with_columns(
        share=pl.col("population") / pl.col("population").sum(),
        trust_offset=pl.col("code").replace_strict(REGION_TRUST, return_dtype=pl.Float64),
    )


def region_names(region_index: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """Region names for region positions (into ``regions()``), in a mix of spellings."""
    table = regions()
    variants = pl.concat([table.get_column(c) for c in NAME_COLUMNS])  # variant-major
    which = rng.choice(len(NAME_COLUMNS), size=len(region_index), p=NAME_SHARES)
    return variants.gather(which * table.height + region_index)


def old_units(region_index: np.ndarray, before_reform: np.ndarray) -> np.ndarray:
    """Region positions as coded at the time: before the 2022 reform a respondent living in
    today's Jetisu (Abai, Ulytau) was coded in Almaty Region (East Kazakhstan, Karaganda)."""
    codes = regions().get_column("code").to_list()
    parent = np.array([codes.index(SPLIT_FROM.get(code, code)) for code in codes])
    return np.where(before_reform, parent[region_index], region_index)


def before_reform(days: np.ndarray) -> np.ndarray:
    """Whether each date (numpy datetime64[D]) lies before the 2022 reform."""
    return days < np.datetime64(REFORM_DATE.isoformat())


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    exact = total * np.asarray(weights, dtype=float) / float(np.sum(weights))
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.log(p / (1.0 - p))
