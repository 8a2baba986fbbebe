"""The analyst's filters and how they cut the responses frame (see docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from queries.errors import SenimError

WEIGHTS = ("calibrated", "delivered")  # the weights switch (issue 12)


@dataclass(frozen=True)
class Filters:
    """What the analyst selected; an empty tuple or None means "all"."""

    sources: tuple[str, ...] = ()
    wave_from: str | None = None  # wave labels; inclusive range by period_start
    wave_to: str | None = None
    regions: tuple[str, ...] = ()
    institutions: tuple[str, ...] = ()  # for the composite trust index
    sexes: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    settlements: tuple[str, ...] = ()
    # issue 12: "calibrated" rakes each wave to its year's population margins when there are
    # some (queries.metrics.calibrated), "delivered" uses the weights as in the file
    weights: str = "calibrated"

    def __post_init__(self) -> None:
        if self.weights not in WEIGHTS:
            raise SenimError(f"Unknown weights {self.weights!r}; use one of {', '.join(WEIGHTS)}.")


def _wave_start(responses: pl.DataFrame, label: str) -> object:
    starts = responses.filter(pl.col("wave") == label).get_column("period_start")
    if starts.len() == 0:
        known = responses.get_column("wave").unique().sort().to_list()
        raise SenimError(f"Unknown wave {label!r}; the data has waves: {', '.join(known)}.")
    return starts.min()


def apply_filters(responses: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """Keep the chosen sources, waves and regions; add ``in_domain`` for sex, age group, settlement.

    Sources, waves and regions select whole strata (``source|wave|region``), so dropping rows is
    exact. Sex, age group and settlement cut across strata, so they become a domain: those rows
    stay (they count in their stratum's n_h) and the estimators ignore them. A null sex, age group
    or settlement is outside the domain whenever that filter is set.
    """
    keep = pl.lit(True)
    if filters.sources:
        keep &= pl.col("source").is_in(list(filters.sources))
    if filters.regions:
        keep &= pl.col("region").is_in(list(filters.regions))
    if filters.wave_from is not None:
        keep &= pl.col("period_start") >= _wave_start(responses, filters.wave_from)
    if filters.wave_to is not None:
        keep &= pl.col("period_start") <= _wave_start(responses, filters.wave_to)
    return responses.filter(keep).with_columns(in_domain(filters).alias("in_domain"))


def in_domain(filters: Filters) -> pl.Expr:
    """True where the sex, age group and settlement filters keep a row (the domain of
    ``apply_filters``); a null value is outside a filter set on its column."""
    inside = pl.lit(True)
    for column, chosen in (
        ("sex", filters.sexes),
        ("age_group", filters.age_groups),
        ("settlement", filters.settlements),
    ):
        if chosen:
            inside &= pl.col(column).is_in(list(chosen)).fill_null(False)
    return inside


def register_cut(filters: Filters) -> Filters:
    """The part of ``filters`` the proposals register and the NGO counts read: the chosen
    sources and regions (``register_rows``, ``ngo_rows``). Sex, age group, settlement, waves,
    institutions and weights do not exist there, so a cache of register numbers keyed on this
    is hit when only those change (issue 11: three of four filter changes under load)."""
    return Filters(sources=filters.sources, regions=filters.regions)


def strata_cut(filters: Filters) -> Filters:
    """The part of ``filters`` that picks whole strata: the sources, the wave range and the
    regions (``apply_filters`` without its domain). The strata a selection keeps, and so the
    latest wave it shows, depend on nothing else: a cache keyed on this is hit when only sex,
    age group, settlement, institutions or weights change (issue 11)."""
    return Filters(sources=filters.sources, wave_from=filters.wave_from,
                   wave_to=filters.wave_to, regions=filters.regions)  # fmt: skip
