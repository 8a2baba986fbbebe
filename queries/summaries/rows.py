"""Survey rows for the methods that truly need them (issue 11), read with the selection and the
columns pushed down to SQL instead of loading every respondent.

The drivers regression is one: it fits a model on one wave of one source. Its respondents in the
filters (regions, sexes, age groups, settlements) are read with those filters as the WHERE
clause and only the model's columns; the whole wave's design (strata, weights, the raking
margins' columns: a few narrow columns, the same whatever the filters) is read apart, so the
caller can keep it per wave while filter changes read only the selection. Joined, they are the
frame the raw-row path makes from the full dataset (``whole_waves``), so both paths end in the
same ``wave_drivers``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache

import polars as pl
from sqlalchemy import Engine, and_, false, or_, select

from queries.metrics.dataset import _age_group, _read  # age groups; the fast CSV hand-over
from queries.metrics.drivers import ANSWERS, Drivers, no_model, wave_drivers
from queries.metrics.filters import Filters
from queries.reference.regions import reference_regions
from queries.schema import responses, survey_waves, trust_score
from queries.summaries.cells import ROW_COLUMNS, STRATUM_KEYS, TRUST
from queries.summaries.standing import latest_wave

__all__ = [
    "WaveRows",
    "drivers_from_store",
    "survey_rows",
    "wave_design",
    "wave_rows",
]

KEYS = ("region", "sex", "age", "settlement", "weight")  # every row: the cells and the design
AGE_PROBE = 150  # beyond any valid age (the contract stops at 110)


@cache
def _age_ranges() -> dict[str, tuple[int, int | None]]:
    """Each age group's lowest and highest age (None: no upper bound), read off the dataset's
    own ``_age_group`` so the SQL cut cannot drift from it."""
    ages = pl.DataFrame({"age": pl.int_range(0, AGE_PROBE + 1, eager=True)})
    groups = (
        ages.with_columns(group=_age_group(pl.col("age")))
        .group_by("group")
        .agg(low=pl.col("age").min(), high=pl.col("age").max())
    )
    return {
        group: (low, None if high == AGE_PROBE else high) for group, low, high in groups.iter_rows()
    }


def _where(filters: Filters | None) -> list:
    """The SQL form of ``apply_filters``' region cut and domain (``in_domain``) for rows of
    chosen waves: a NULL sex, age or settlement is outside a filter on it, as there."""
    if filters is None:
        return []
    r = responses.c
    clauses = []
    if filters.regions:
        clauses.append(r.region.in_(list(filters.regions)))
    if filters.sexes:
        clauses.append(r.sex.in_(list(filters.sexes)))
    if filters.settlements:
        clauses.append(r.settlement.in_(list(filters.settlements)))
    if filters.age_groups:
        ranges = _age_ranges()
        chosen = [ranges[g] for g in filters.age_groups if g in ranges]
        ages = [
            and_(r.age >= low, r.age <= high) if high is not None else r.age >= low
            for low, high in chosen
        ]
        clauses.append(or_(*ages) if ages else false())
    return clauses


def _rows_query(
    *,
    source: str,
    waves: Sequence[str],
    columns: Collection[str],
    filters: Filters | None,
    keys: Sequence[str],
):
    """The SELECT of ``survey_rows`` (``keys``: the cell and design columns it adds) and the
    schema of its result."""
    r, w = responses.c, survey_waves.c
    plain = [c for c in dict.fromkeys(columns) if not c.startswith(TRUST) and c not in keys]
    chosen = [c.removeprefix(TRUST) for c in dict.fromkeys(columns) if c.startswith(TRUST)]
    ratings = [trust_score(i).label(f"{TRUST}{i}") for i in chosen]
    query = (
        select(r.id, w.source, w.wave, w.period_start, *(r[c] for c in [*keys, *plain]), *ratings)
        .join_from(responses, survey_waves, r.wave_id == w.id)
        .where(w.source == source, w.wave.in_(list(waves)), *_where(filters))
    )
    schema = {
        "response_id": pl.Int64,
        **{c: ROW_COLUMNS[c] for c in ("source", "wave", "period_start", *keys, *plain)},
        **{f"{TRUST}{i}": pl.Float64 for i in chosen},
    }
    return query, schema


def survey_rows(
    engine: Engine,
    *,
    source: str,
    waves: Sequence[str],
    columns: Collection[str] = (),
    filters: Filters | None = None,
) -> pl.DataFrame:
    """The respondents of ``source``'s ``waves`` that ``filters`` keep, regions and domain
    (sexes, age groups, settlements) alike, in the dataset's form: ``response_id``, source,
    wave, period_start, the cell keys, the weight, just ``columns`` (``trust_*`` ones looked up
    per respondent), ``age_group`` and ``stratum``, in id order. The filters' sources and wave
    range are the caller's to resolve (``source``, ``waves``)."""
    query, schema = _rows_query(
        source=source, waves=waves, columns=columns, filters=filters, keys=KEYS
    )
    # one wave (at most a few hundred thousand rows) in one piece; several in id slices
    frame = _read(engine, query, schema, key=len(waves) > 1)
    return frame.sort("response_id").with_columns(
        age_group=_age_group(pl.col("age")),
        stratum=pl.concat_str(*STRATUM_KEYS, separator="|"),
    )


def wave_design(engine: Engine, *, source: str, wave: str) -> pl.DataFrame:
    """Every respondent of one wave with the design's columns only (``survey_rows`` without
    answers or filters): what raking the whole wave and the strata's sizes need."""
    return survey_rows(engine, source=source, waves=[wave])


@dataclass(frozen=True)
class WaveRows:
    """One wave of one source as the drivers model reads it: every respondent (strata, weights,
    raking margins) with the model's answers on those the filters keep, ``in_domain`` saying
    which; with the population counts and regions to rake it, as a Dataset has them."""

    responses: pl.DataFrame
    population: pl.DataFrame
    regions: pl.DataFrame


def wave_rows(
    engine: Engine,
    filters: Filters,
    *,
    source: str,
    wave: str,
    design: pl.DataFrame,
    institutions: Sequence[str],
    population: pl.DataFrame,
) -> WaveRows:
    """``design`` (``wave_design`` of ``source``'s ``wave``) joined with the answers of the
    respondents ``filters`` keep, read with those filters pushed down: every trust item of
    ``institutions`` and the model's other answers. The answers of the others stay null: the
    model never reads them."""
    columns = [*ANSWERS, *(f"{TRUST}{i}" for i in institutions)]
    # the design has the keys already: the selection's read is its ids and answers only
    query, schema = _rows_query(
        source=source, waves=[wave], columns=columns, filters=filters, keys=()
    )
    inside = _read(engine, query, schema).select("response_id", *columns, in_domain=pl.lit(True))
    rows = design.join(inside, on="response_id", how="left", maintain_order="left")
    rows = rows.with_columns(pl.col("in_domain").fill_null(False))
    return WaveRows(rows, population, reference_regions())


def _trust_items(outcome: str, filters: Filters, stored: Sequence[str]) -> tuple[str, ...]:
    """The institutions whose trust scores the model reads: most of the read's cost is looking
    them up per respondent. Every stored one when the model takes them all, or when a chosen
    one is not stored (the model then refuses it, naming those present, as on the dataset)."""
    if outcome == "trust_government" and "government" in stored:
        return ("government",)
    chosen = tuple(filters.institutions)
    return chosen if chosen and set(chosen) <= set(stored) else tuple(stored)


def drivers_from_store(
    engine: Engine,
    filters: Filters,
    source: str,
    outcome: str,
    *,
    strata: pl.DataFrame,
    institutions: Sequence[str],
    population: pl.DataFrame,
    design: pl.DataFrame | None = None,
) -> Drivers:
    """``drivers_numbers`` without the dataset: the latest wave of ``source`` the filters keep
    (from the store's ``strata``), its rows read as ``wave_rows`` does. ``design``: that wave's
    ``wave_design`` when the caller keeps it (read here otherwise)."""
    wave = latest_wave(strata, filters, source)
    if wave is None:
        return no_model(outcome)
    if design is None:
        design = wave_design(engine, source=source, wave=wave)
    data = wave_rows(
        engine, filters, source=source, wave=wave, design=design,
        institutions=_trust_items(outcome, filters, institutions), population=population,
    )  # fmt: skip
    return wave_drivers(data, data.responses, filters, outcome)
