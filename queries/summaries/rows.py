"""Survey rows for the methods that truly need them (issue 11), read with the selection and the
columns pushed down to SQL instead of loading every respondent.

The drivers regression is one: it fits a model on one wave of one source. That wave's every
respondent (strata, weights, the raking margins' columns, the model's answers: the same whatever the
filters) is read once (``wave_answers``, compactly typed: a few MB for a wave of 400 thousand), kept
by the caller, and each filter combination is cut from it in memory (``in_filters``, the SQL
``_where`` of ``survey_rows``' rules), the wave's raked weights computed once beside it. The frame
it gives is the raw-row path's from the full dataset (``whole_waves``). A filter change on a kept
wave reads neither: the model's columns are kept with the wave as arrays
(``WaveAnswers.driver_columns``) and the filters become a mask from codes kept with it
(``WaveAnswers.in_filters``); both paths end in the same ``sample_drivers``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from itertools import pairwise

import numpy as np
import polars as pl
import polars.selectors as cs
from sqlalchemy import Engine, and_, false, or_, select

from queries.metrics.dataset import _age_group, _read  # age groups; the fast CSV hand-over
from queries.metrics.drivers import (
    ANSWERS,
    DriverColumns,
    Drivers,
    Raked,
    driver_columns,
    no_model,
    raked_wave,
    sample_drivers,
)
from queries.metrics.filters import Filters, in_domain
from queries.reference.regions import reference_regions
from queries.schema.data import responses, survey_waves, trust_score
from queries.summaries.cells import ROW_COLUMNS, STRATUM_KEYS, TRUST
from queries.summaries.filter_codes import FilterCodes, filter_codes
from queries.summaries.standing import latest_wave

__all__ = [
    "WaveAnswers",
    "WaveRows",
    "drivers_from_store",
    "in_filters",
    "survey_rows",
    "wave_answers",
    "wave_rows",
]

KEYS = ("region", "sex", "age", "settlement", "weight")
KEPT_MODELS = 4  # every row: the cells and the design
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
    ids: tuple[int, int] | None = None,
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
    if ids is not None:
        query = query.where(r.id.between(*ids))
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
    ids: tuple[int, int] | None = None,
) -> pl.DataFrame:
    """The respondents of ``source``'s ``waves`` that ``filters`` keep, regions and domain
    (sexes, age groups, settlements) alike, in the dataset's form: ``response_id``, source,
    wave, period_start, the cell keys, the weight, just ``columns`` (``trust_*`` ones looked up
    per respondent), ``age_group`` and ``stratum``, in id order. The filters' sources and wave
    range are the caller's to resolve (``source``, ``waves``); ``ids``: only the ids from the
    first to the second."""
    query, schema = _rows_query(
        source=source, waves=waves, columns=columns, filters=filters, keys=KEYS, ids=ids
    )
    # one wave (at most a few hundred thousand rows) in one piece; several in id slices
    frame = _read(engine, query, schema, key=len(waves) > 1)
    return frame.sort("response_id").with_columns(
        age_group=_age_group(pl.col("age")),
        stratum=pl.concat_str(*STRATUM_KEYS, separator="|"),
    )


@dataclass(frozen=True)
class WaveAnswers:
    """One wave of one source as the drivers model reads it, read once for every filter
    combination: each respondent's design columns and model answers, in id order, compactly
    typed (``_compact``), the columns with one value in the wave kept as that value."""

    frame: pl.DataFrame  # the columns that vary, compact
    schema: dict[str, pl.DataType]  # every column as ``survey_rows`` types it, in its order
    constants: dict[str, object]  # the columns with one value (source, wave, period_start...)
    population: pl.DataFrame  # the population counts to rake it
    # each model's columns (``driver_columns``) per outcome and trust items, made on first use
    # (a few bytes a respondent each: at most ``KEPT_MODELS`` kept)
    models: dict[tuple, DriverColumns] = field(default_factory=dict, compare=False, repr=False)

    def rows(self, columns: Sequence[str], *, exact: Collection[str] | None = None) -> pl.DataFrame:
        """``columns``, constants as columns again; those in ``exact`` (all when None) in
        ``survey_rows``' types, the others as kept (``.cast(self.schema)`` gives them)."""
        return self.frame.select(
            pl.lit(self.constants[c], self.schema[c]).alias(c)
            if c in self.constants
            else pl.col(c).cast(self.schema[c])
            if exact is None or c in exact
            else pl.col(c)
            for c in columns
        )

    @cached_property
    def raked(self) -> Raked | None:
        """The whole wave raked to its margins (the same whatever the filters), once."""
        rows = self.rows([c for c in self.schema if c not in ANSWERS and not c.startswith(TRUST)])
        return raked_wave(WaveRows(rows, self.population, reference_regions()), rows)

    @property
    def wave(self) -> str:
        """The wave's label."""
        return self.constants["wave"] if "wave" in self.constants else self.frame.item(0, "wave")

    def driver_columns(
        self, *, outcome: str, trust: Sequence[str], institutions: Sequence[str]
    ) -> DriverColumns:
        """``driver_columns`` of the whole wave with the trust items of ``trust`` (the
        composite's ``institutions`` chosen among them), once per choice."""
        key = (outcome, tuple(trust), tuple(institutions))
        made = self.models.get(key)  # one read: another session's thread may clear the dict
        if made is None:
            columns = [c for c in self.schema if not c.startswith(TRUST)]
            items = [f"{TRUST}{i}" for i in trust]
            rows = self.rows([*columns, *items], exact=items)
            made = driver_columns(rows, outcome=outcome, institutions=institutions)
            for other in list(self.models.values())[:1]:  # the wave's: one copy for all
                if np.array_equal(other.weight, made.weight):
                    made = replace(made, weight=other.weight)
                if np.array_equal(other.strata, made.strata):
                    made = replace(made, strata=other.strata)
            if len(self.models) >= KEPT_MODELS:
                self.models.clear()
            self.models[key] = made
        return made

    @cached_property
    def codes(self) -> FilterCodes:
        """The filtered columns' codes (``FilterCodes``), made on first use."""
        return filter_codes(self.frame, self.constants)

    def chosen(self, column: str, values: Collection[object]) -> np.ndarray:
        """True where ``column`` holds one of ``values`` (a null nowhere), as ``is_in``."""
        return self.codes.chosen(column, values)

    def in_filters(self, filters: Filters) -> np.ndarray:
        """``in_filters(filters)`` on the wave's rows (``FilterCodes.kept``)."""
        return self.codes.kept(
            (filters.regions, filters.sexes, filters.age_groups, filters.settlements)
        )


def _narrowest(column: pl.Series) -> pl.Series:
    """``column`` in the narrowest type holding every value exactly (strings categorical)."""
    if column.dtype == pl.String:
        return column.cast(pl.Categorical)
    if column.dtype.is_float():
        candidates = (pl.Int8, pl.Int16, pl.Int32, pl.Float32)
    elif column.dtype.is_integer():
        candidates = (pl.Int8, pl.Int16, pl.Int32)
    else:
        return column
    for dtype in candidates:  # a fraction, NaN or out-of-range value does not come back
        narrow = column.cast(dtype, strict=False)
        if narrow.null_count() == column.null_count() and narrow.cast(column.dtype).equals(column):
            return narrow
    return column


def _compact(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, object]]:
    """``frame`` with its columns narrowed (``_narrowest``), and those with one value in every
    row (null included) apart as that value; at least one column stays, for the row count."""
    constants = {
        c: frame.item(0, c)
        for c in frame.columns
        if frame.height > 1 and frame.get_column(c).n_unique() == 1
    }
    if len(constants) == frame.width:
        constants.pop(frame.columns[0])
    varying = frame.drop(*constants)
    return pl.DataFrame([_narrowest(c) for c in varying.iter_columns()]), constants


WAVE_SLICE = 50_000  # respondents per read of a wave: the read's text is transient


def wave_answers(
    engine: Engine,
    *,
    source: str,
    wave: str,
    institutions: Sequence[str],
    population: pl.DataFrame,
    slice_size: int = WAVE_SLICE,
) -> WaveAnswers:
    """Every respondent of ``source``'s ``wave``, read once: the design's columns, the
    model's answers and the trust items of ``institutions`` (``wave_rows`` cuts the filters
    in memory), ``slice_size`` respondents at a time."""
    columns = [*ANSWERS, *(f"{TRUST}{i}" for i in institutions)]
    parts, schema = [], {}
    for ids in _slices(engine, source=source, wave=wave, size=slice_size):
        part = survey_rows(engine, source=source, waves=[wave], columns=columns, ids=ids)
        schema = dict(part.drop("response_id").schema)
        # text categorical at once: what the slices add up to is what is kept
        parts.append(part.drop("response_id").with_columns(cs.string().cast(pl.Categorical)))
    compact, constants = _compact(pl.concat(parts))
    return WaveAnswers(compact, schema, constants, population)


def _slices(engine: Engine, *, source: str, wave: str, size: int) -> list[tuple[int, int] | None]:
    """Id ranges of ``size`` respondents of the wave each, in order (one read of its ids):
    a wave read slice by slice holds one slice's CSV text and text columns at a time."""
    r, w = responses.c, survey_waves.c
    query = (
        select(r.id)
        .join_from(responses, survey_waves, r.wave_id == w.id)
        .where(w.source == source, w.wave == wave)
    )
    ids = _read(engine, query, {"id": pl.Int64}).get_column("id").sort()
    if ids.is_empty():
        return [None]
    starts = ids.gather_every(size).to_list()
    return [(a, b - 1) for a, b in pairwise(starts)] + [(starts[-1], ids[-1])]


def in_filters(filters: Filters | None) -> pl.Expr:
    """``_where`` on rows in memory: true where the filters keep the respondent, regions and
    domain (``in_domain``: a NULL sex, age group or settlement is outside a filter on it)."""
    if filters is None:
        return pl.lit(True)
    keep = in_domain(filters)
    if filters.regions:
        keep &= pl.col("region").is_in(list(filters.regions)).fill_null(False)
    return keep


@dataclass(frozen=True)
class WaveRows:
    """One wave of one source as the drivers model reads it: every respondent (strata, weights,
    raking margins) with the model's answers, ``in_domain`` saying which the filters keep (the
    model reads answers there only); with the population counts and regions to rake it, as a
    Dataset has them."""

    responses: pl.DataFrame
    population: pl.DataFrame
    regions: pl.DataFrame


def wave_rows(answers: WaveAnswers, filters: Filters, *, institutions: Sequence[str]) -> WaveRows:
    """``answers`` (the wave, read once) with the trust items of ``institutions`` and
    ``in_domain`` from ``filters``, cut in memory as ``_where`` cuts in SQL. Text stays
    categorical and answers narrow (the model casts them to text and floats itself: a filter
    change copies no wave-long text); the trust items as floats, as the composite's mean reads
    them."""
    columns = [c for c in answers.schema if not c.startswith(TRUST)]
    trust = [f"{TRUST}{i}" for i in institutions]
    rows = answers.rows([*columns, *trust], exact=trust)
    rows = rows.with_columns(in_domain=in_filters(filters))
    return WaveRows(rows, answers.population, reference_regions())


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
    answers: WaveAnswers | None = None,
) -> Drivers:
    """``drivers_numbers`` without the dataset: the latest wave of ``source`` the filters keep
    (from the store's ``strata``), cut in memory. ``answers``: that wave's ``wave_answers``
    (every stored institution) when the caller keeps it, having looked the wave up (not
    looked up again: ~4 ms of polars at 10M); read here otherwise."""
    wave = latest_wave(strata, filters, source) if answers is None else answers.wave
    if wave is None:
        return no_model(outcome)
    if answers is None:
        answers = wave_answers(
            engine, source=source, wave=wave, institutions=institutions, population=population
        )
    columns = answers.driver_columns(
        outcome=outcome, trust=_trust_items(outcome, filters, institutions),
        institutions=filters.institutions,
    )  # fmt: skip
    return sample_drivers(
        columns, keep=answers.in_filters(filters),
        regions=answers.chosen("region", filters.regions) if filters.regions else None,
        filters=filters, outcome=outcome, wave=wave, raking=lambda: answers.raked,
    )  # fmt: skip
