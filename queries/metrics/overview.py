"""The leaders' Overview: six headline cards (latest value, its uncertainty, the change since
the previous wave and whether it is significant), the regions that moved most, and the map.

Every survey number on the page comes from ONE ``stratum_sums`` pass over the responses, per
stratum (source|wave|region, so region and wave come along): the national series, the map and
the regions that moved are all combinations of those sums. The pass is about twice as fast when
the responses are in stratum order (polars then sums contiguous slices).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from queries.metrics import variable_sums
from queries.metrics.filters import Filters, apply_filters
from queries.metrics.moved import (
    SURVEY_BY,
    TOP_MOVED,
    check_one_source,
    composite_by_region,
    last_two_waves,
    moved_from_trend,
    no_moves,
    regions_moved,
    waves_of,
)
from queries.metrics.ngo import ngo_rows
from queries.metrics.overview_register import (  # noqa: F401 (_ngo_card: for tests)
    RegisterPart,
    _ngo_card,
    register_cards,
    register_part,
)
from queries.metrics.register import register_rows
from queries.metrics.trend import on_units, spans_waves, trend_from_sums
from queries.metrics.trust import composite_expr, trust_columns
from queries.reference.reform import comparable_selection, is_reformed

CARDS = (
    "composite_trust",
    "trust_government",
    "state_listens",
    "participation",
    "answered_30",
    "ngos_per_10k",
)
CARD_COLUMNS = {
    "card": pl.String,
    "kind": pl.String,  # score (0-10) | share | register (complete count) | density
    "wave": pl.String,
    "previous_wave": pl.String,
    "estimate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "n": pl.Int64,
    "suppressed": pl.Boolean,
    "previous": pl.Float64,
    "change": pl.Float64,
    "change_se": pl.Float64,
    "p_value": pl.Float64,
    "significant": pl.Boolean,
}
INSTITUTION_PREFIX = "institution:"
SHARES = ("participation",)


def survey_variables(
    responses: pl.DataFrame, institutions: Sequence[str] = ()
) -> dict[str, pl.Expr]:
    """The survey side of the cards as derived variables (trust in government is read from the
    ``institution:government`` series when there is one, so it is not summed twice)."""
    return {
        "composite_trust": composite_expr(trust_columns(responses, institutions)),
        "state_listens": pl.col("state_listens"),
        "participation": pl.col("participated_consultation"),
    }


def overview_variables(
    responses: pl.DataFrame, institutions: Sequence[str] = ()
) -> dict[str, pl.Expr]:
    """Every survey variable the Overview draws (only the frame's column names are read)."""
    variables = survey_variables(responses, institutions)
    chosen = trust_columns(responses, institutions)
    for column in chosen:
        variables[INSTITUTION_PREFIX + column.removeprefix("trust_")] = pl.col(column)
    # the government card stays when the institution filter leaves government out of the index
    if "trust_government" in responses.columns and "trust_government" not in chosen:
        variables["trust_government"] = pl.col("trust_government")
    return variables


def overview_sums(responses: pl.DataFrame, institutions: Sequence[str] = ()) -> pl.DataFrame:
    """The one pass: per (region, wave, stratum, variable) sums of every Overview variable."""
    return variable_sums(responses, overview_variables(responses, institutions), carry=SURVEY_BY)


def survey_trend(
    responses: pl.DataFrame, institutions: Sequence[str] = (), *, sums: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every national survey series the Overview draws: the card variables and each
    institution's trust (``institution:<name>``), per wave with the change since the previous
    wave, its SE and significance (see ``trend_from_sums``). ``sums``: ``overview_sums`` output
    when the caller already has it."""
    if sums is None:
        check_one_source(responses)
        sums = overview_sums(responses, institutions)
    if sums.is_empty():
        return pl.DataFrame()
    return _with_government(trend_from_sums(sums, waves_of(sums), shares=SHARES))


def _with_government(trend: pl.DataFrame) -> pl.DataFrame:
    """The national trend with the government card's series (``institution:government``'s
    when it is not a variable of its own)."""
    if (trend.get_column("variable") == "trust_government").any():
        return trend
    government = trend.filter(pl.col("variable") == INSTITUTION_PREFIX + "government")
    return pl.concat([trend, government.with_columns(variable=pl.lit("trust_government"))])


_CARD_FIELDS = ("wave", "previous_wave", "estimate", "ci_low", "ci_high", "n", "suppressed",
                "change", "change_se", "p_value", "significant")  # fmt: skip


def _survey_cards(trend: pl.DataFrame) -> list[dict]:
    """Per card variable its latest wave's row (issue 11: as rows, a few dozen of them)."""
    if trend.is_empty():  # no responses at all (an empty database, or filters leaving none)
        return []
    latest: dict[str, dict] = {}
    for row in trend.filter(pl.col("variable").is_in(CARDS)).iter_rows(named=True):
        found, start = latest.get(row["variable"]), row["period_start"]
        before = None if found is None else found["period_start"]
        if found is None or (start is not None and (before is None or start >= before)):
            latest[row["variable"]] = row  # the latest wave (a null start sorts first)
    cards = []
    for card, row in latest.items():
        estimate, change = row["estimate"], row["change"]
        previous = None if estimate is None or change is None else estimate - change
        kind = "share" if card in SHARES else "score"
        cards.append({"card": card, "kind": kind, **{f: row[f] for f in _CARD_FIELDS},
                      "previous": previous})  # fmt: skip
    return cards


def _apply(
    responses: pl.DataFrame,
    proposals: pl.DataFrame,
    ngo: pl.DataFrame,
    filters: Filters | None,
    source: str | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The analyst's filters on the three frames; regions (and sources) cut the register, regions
    the NGO data."""
    if filters is not None:
        responses = apply_filters(responses, filters)
        proposals = register_rows(proposals, filters)  # the same cut as the Feedback page
        ngo = ngo_rows(ngo, filters)
    if source is not None and not responses.is_empty():
        responses = responses.filter(pl.col("source") == source)
    return responses, proposals, ngo


def headline_cards(
    responses: pl.DataFrame,
    proposals: pl.DataFrame,
    ngo: pl.DataFrame,
    filters: Filters | None = None,
    *,
    source: str | None = None,
    institutions: Sequence[str] = (),
    as_of: dt.date | None = None,
    trend: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The six Overview cards, in ``CARDS`` order (a card is missing when it has no data).

    ``filters`` (optional) are applied here, and ``source`` picks one survey source: waves of
    different sources are separate samples, so "the previous wave" only means something within
    one (several sources left is an error). Survey cards carry a design-based CI and the z-test
    of the change; register and NGO cards are complete counts (no sampling error: CI, change SE
    and p-value are null). ``trend``: ``survey_trend(...)`` when the caller already has it.
    """
    responses, proposals, ngo = _apply(responses, proposals, ngo, filters, source)
    if filters is not None and not institutions:
        institutions = filters.institutions
    if trend is None:
        trend = survey_trend(responses, institutions) if responses.height else pl.DataFrame()
    return _cards(trend, register_cards(proposals, ngo, as_of=as_of))


_ORDER = {card: i for i, card in enumerate(CARDS)}


def _cards(trend: pl.DataFrame, register: Sequence[dict]) -> pl.DataFrame:
    """The cards frame: the survey cards of ``trend``, then ``register``'s, in ``CARDS`` order
    (each card once: sorted as rows, not as a frame)."""
    rows = sorted([*_survey_cards(trend), *register], key=lambda row: _ORDER.get(row["card"], 99))
    return pl.DataFrame(rows, schema=CARD_COLUMNS)


@dataclass(frozen=True)
class OverviewNumbers:
    """Everything the Overview page draws."""

    trend: pl.DataFrame  # per variable and wave: estimate, CI, change since the previous wave
    cards: pl.DataFrame  # the six headline cards (``headline_cards``)
    latest_wave: str | None  # None: no survey response under the filters
    by_region: pl.DataFrame  # composite trust per region in the latest wave (the map)
    funnel: pl.DataFrame  # the proposals funnel
    moved: pl.DataFrame  # the regions that moved (``regions_moved``)
    # region-reform: comparable units (KZ-19+33 ...) the region filter was widened to, because
    # the waves compared lie on both sides of the 2022 reform; () when it was not
    comparable_units: tuple[str, ...] = ()
    # issue 12: the weights used ("calibrated" when any wave was raked to population margins)
    # and the waves shown with delivered weights although calibration was asked for
    weights: str = "delivered"
    uncalibrated_waves: tuple[str, ...] = ()


def overview_numbers(data, filters: Filters, source: str) -> OverviewNumbers:
    """Everything the Overview page draws, for one filter selection and compared source.

    A pure function of (dataset, filters, source): the dashboard caches it per data version.
    One pass over the responses feeds the cards, the trend, the map and the regions moved.
    """
    filters, comparable = _comparable(data.responses, filters, source)  # region-reform
    own, proposals, ngo = _apply(data.responses, data.proposals, data.ngo, filters, source)
    institutions = filters.institutions
    # --- issue 12: weights calibrated to the population (queries/metrics/calibrated.py) ---
    uncalibrated: tuple[str, ...] = ()
    if filters.weights == "calibrated" and own.height:
        from queries.metrics import calibrated as cal  # it builds on this module's helpers

        rows = cal.whole_waves(data.responses, filters, source)
        margins = cal.wave_margins(rows, *cal.population_of(data))
        uncalibrated = tuple(w for (_, w), m in sorted(margins.items()) if m is None)
        if any(m is not None for m in margins.values()):
            cells = cal.overview_cells(rows, overview_variables(rows, institutions))
            made = cal.calibrated_overview_sums(cells, margins, regions=filters.regions)
            numbers = overview_from_sums(made.national, proposals, ngo, institutions,
                                         by_region=made.by_region, moved=made.moved)  # fmt: skip
            return replace(numbers, comparable_units=comparable, weights="calibrated",
                           uncalibrated_waves=made.uncalibrated_waves)  # fmt: skip
    # --- end issue 12 ---
    sums = overview_sums(own, institutions) if own.height else pl.DataFrame()
    numbers = overview_from_sums(sums, proposals, ngo, institutions)
    return replace(numbers, comparable_units=comparable, uncalibrated_waves=uncalibrated)


def _comparable(responses: pl.DataFrame, filters: Filters, source: str | None):
    """region-reform: regions chosen over waves on both sides of 2022 widened to comparable
    units (queries/reference/reform.py), and those units; unchanged within one vintage."""
    if not any(is_reformed(code) for code in filters.regions) or responses.is_empty():
        return filters, ()  # nothing to widen (an unknown wave label is refused later alike)
    waves = responses.select("source", "wave", "period_start").unique()
    span = Filters(sources=filters.sources, wave_from=filters.wave_from, wave_to=filters.wave_to)
    waves = apply_filters(waves, span)
    if source is not None:
        waves = waves.filter(pl.col("source") == source)
    regions, units = comparable_selection(filters.regions, waves.get_column("wave").to_list())
    return replace(filters, regions=regions), units


def overview_from_sums(
    sums: pl.DataFrame,
    proposals: pl.DataFrame,
    ngo: pl.DataFrame,
    institutions: Sequence[str] = (),
    *,
    by_region: pl.DataFrame | None = None,
    moved: pl.DataFrame | None = None,
    register: RegisterPart | None = None,
    areas: bool = True,
) -> OverviewNumbers:
    """``overview_numbers`` from ``overview_sums``-shaped sums (raw rows or the summary store)
    and the register and NGO frames already cut to the filters. ``by_region``, ``moved``:
    calibrated sums made for the map's and the regions-moved domains (issue 12), which the
    national ``sums`` cannot give (raked sums hold for their own domains only). ``register``:
    ``register_part(proposals, ngo)`` when the caller keeps it (then they are not read).
    ``areas=False``: the cards and the trend only, the map and the regions moved left empty
    (a region's profile draws neither)."""
    register = register_part(proposals, ngo) if register is None else register
    own = pl.DataFrame()  # with the sums given, the helpers below never read responses
    if sums.is_empty():
        trend, latest, by_region = pl.DataFrame(), None, pl.DataFrame()
        moved = regions_moved(own, sums=sums if moved is None else moved)
    else:
        latest = waves_of(sums).get_column("wave")[-1]
        if areas:
            regional = sums if by_region is None else by_region  # issue 12
            domains = _Domains(sums, regional.filter(pl.col("wave") == latest),
                               sums if moved is None else moved)  # fmt: skip
            trend, by_region, moved = _survey_numbers(domains)
        else:
            trend, by_region, moved = survey_trend(own, sums=sums), pl.DataFrame(), no_moves()
    return OverviewNumbers(
        trend=trend,
        cards=_cards(trend, register.cards),
        latest_wave=latest,
        by_region=by_region,
        funnel=register.funnel,
        moved=moved,
    )


@dataclass(frozen=True)
class _Domains:
    """The Overview's three sets of survey sums: national (every variable, per wave), the
    map's (the latest wave, per region), the regions moved's (per region)."""

    national: pl.DataFrame
    latest: pl.DataFrame
    moved: pl.DataFrame


_PART, _AREA = "_part", "_area"  # the stacked domains' keys in ``_survey_numbers``


def _survey_numbers(domains: _Domains) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The national trend, the map and the regions moved from ONE ``trend_from_sums`` over the
    three sets of sums stacked: each (part, area, wave, variable) group is combined from its
    own rows, so this equals three separate passes at about a third of polars' fixed cost."""
    moved, pair = last_two_waves(domains.moved)
    region = pl.col("region")
    parts = {
        "national": (domains.national, pl.lit("")),
        "map": (domains.latest.filter(pl.col("variable") == "composite_trust"), region),
    }
    if pair.height == 2:  # region-reform: compared on comparable units, as regions_moved does
        parts["moved"] = (on_units(moved), region)
    columns = [c for c in domains.national.columns if c not in ("region", "source")]
    # calibrated sums bring their own Σz (``sz``): every part has them, or none
    same = {tuple(sorted(set(f.columns) & {*columns, "sz"})) for f, _ in parts.values()}
    stacked = None
    if len(same) == 1:
        stacked = pl.concat(
            [f.lazy().select(pl.lit(k).alias(_PART), area.alias(_AREA), *columns)
             for k, (f, area) in parts.items()],
            how="vertical_relaxed",
        ).collect()  # fmt: skip
    if stacked is None or spans_waves(stacked):  # not independent domains: one by one
        own = pl.DataFrame()
        return (
            survey_trend(own, sums=domains.national),
            composite_by_region(own, sums=domains.latest),
            regions_moved(own, sums=domains.moved),
        )
    waves = stacked.select("wave", "period_start")  # trend_from_sums takes each wave once
    trend = trend_from_sums(stacked, waves, by=[_PART, _AREA], shares=SHARES, contrast=False)
    found = trend.partition_by(_PART, as_dict=True, include_key=False)
    part = {k: found.get((k,)) for k in parts}
    part = {k: trend.clear().drop(_PART) if f is None else f for k, f in part.items()}
    by_region = part["map"].select(
        pl.col(_AREA).alias("region"), "estimate", "se", "ci_low", "ci_high", "n", "df",
        "suppressed",
    )  # fmt: skip
    if "moved" in parts:
        regions = part["moved"].rename({_AREA: "region"})
        moves = moved_from_trend(regions, *pair.get_column("wave"), TOP_MOVED)
    else:
        moves = no_moves()
    return _with_government(part["national"].drop(_AREA)), by_region, moves
