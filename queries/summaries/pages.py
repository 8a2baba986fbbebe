"""The pages' weights switch (issue 12) from the in-memory summary store (issue 11): the same
``weighted_sums`` / ``weighted_estimates`` / ``pooled_estimates`` as
``queries.metrics.page_weights``, with a ``Snapshot`` in place of the dataset, so a page's cost
is a polars pass over cells whatever the number of respondents.

Every one of them is an exact function of per-cell sums (cell = source|wave|region × sex × age
group × settlement): delivered sums are the chosen cells summed per (by, stratum); calibrated
ones rake each whole wave from its cells (``calibrated_sums``, the filters a domain, as the
Overview does); the pooled estimate's second pass, v = y − r_g on g's respondents in the
domain and 0 elsewhere, has per-cell sums Σwv = Σwy − r·Σw (and so on) over g's cells plus
every respondent's Σw, Σw² and count. ``by``: any of region, sex, age_group, settlement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from queries.metrics.calibrated import UNIT, wave_margins
from queries.metrics.feedback import FEEDBACK_SHARES, feedback_variables
from queries.metrics.filters import Filters
from queries.metrics.page_weights import (
    WeightedEstimates,
    WeightedSums,
    calibrated_result,
    estimates_of,
    pooled_from,
)
from queries.metrics.trust import composite_expr, trust_columns
from queries.reference.regions import reference_regions
from queries.summaries.calibrated import _domain, whole_wave_cells
from queries.summaries.cells import STRATUM_KEYS, TRUST
from queries.summaries.memory import CALIBRATED, DELIVERED, Snapshot, _named_cells
from queries.summaries.read import chosen_strata
from queries.survey.calibrated_sums import CalibratedSums, calibrated_sums
from queries.survey.sums import SUM_COLUMNS

__all__ = [
    "Frames",
    "composite_of",
    "feedback_numbers",
    "pooled_estimates",
    "trust_by_region",
    "weighted_estimates",
    "weighted_sums",
]

_KEYS = list(STRATUM_KEYS)
_PERIOD = ["period_start"]


@dataclass(frozen=True)
class Frames:
    """The register and the NGO rows (small) for metrics that take a dataset only for them
    (``register_numbers``, ``ngo_year``): ``read.register_frames``' pair, no survey row."""

    proposals: object  # the register: its rows or its summary (queries.metrics.register)
    ngo: pl.DataFrame


def _kept(
    snapshot: Snapshot, filters: Filters, source: str, waves: Sequence[str] | None
) -> pl.DataFrame:
    """The strata the raw path's ``selection_rows`` keeps (source, wave, region, period_start,
    n_h); the raw path's messages (an unknown wave)."""
    kept = chosen_strata(None, filters, source, strata=snapshot.strata)
    return kept if waves is None else kept.filter(pl.col("wave").is_in(list(waves)))


def _delivered(
    snapshot: Snapshot,
    kept: pl.DataFrame,
    filters: Filters,
    variables: Mapping[str, pl.Expr],
    by: list[str],
) -> pl.DataFrame:
    """``variable_sums(selection_rows(...), variables, by=by)`` from cells: a row per (by group
    with a respondent in the stratum, stratum, variable), zero where nobody in the domain
    answered (as the raw path's groups of rows)."""
    if kept.is_empty():
        return pl.DataFrame()
    cells, names = _named_cells(snapshot, variables)
    cells = cells.join(kept.select(_KEYS), on=_KEYS, how="semi").filter(_domain(filters))
    keys = list(dict.fromkeys([*by, *_KEYS]))  # a region domain is a stratum key too
    found = (
        cells.group_by(*keys, "variable")
        .agg(pl.col("n", *SUM_COLUMNS).sum())
        .rename({"variable": "stored"})
    )
    groups = (
        snapshot.totals.join(kept.select(*_KEYS, "n_h"), on=_KEYS)
        .select(*keys, "stratum", "n_h")
        .unique()
    )
    if by:  # combine leaves a null group out (its respondents still count in n_h)
        groups = groups.drop_nulls(by)
    wanted = pl.DataFrame(
        {"variable": list(names), "stored": list(names.values())},
        schema={"variable": pl.String, "stored": pl.String},
    )
    return (
        groups.join(wanted, how="cross")
        .join(found, on=[*keys, "stored"], how="left")
        .select(
            *by,
            "stratum",
            "variable",
            *(pl.col(c).fill_null(0.0).cast(pl.Float64) for c in SUM_COLUMNS),
            pl.col("n").fill_null(0).cast(pl.Int64),
            pl.col("n_h").cast(pl.Int64),
            pl.lit(None, pl.Float64).alias("N_h"),
        )
    )


@dataclass(frozen=True)
class _Whole:
    """The chosen whole waves of a calibrated request (every region: the region filter is a
    domain), their margins, and every respondent's per-cell totals in them."""

    strata: pl.DataFrame
    margins: dict
    totals: pl.DataFrame

    @property
    def raked(self) -> bool:
        return any(m is not None for m in self.margins.values())

    def cells(
        self, snapshot: Snapshot, filters: Filters, variables: Mapping[str, pl.Expr]
    ) -> pl.DataFrame:
        """Per-cell sums of ``variables`` in ``calibrated_sums``' shape (zero outside the
        filters' domain), the cell keys kept so any of them can be a domain."""
        cells, names = _named_cells(snapshot, variables)
        return whole_wave_cells(self.strata, self.totals, cells, names, filters)


def _whole(
    snapshot: Snapshot, filters: Filters, source: str, waves: Sequence[str] | None
) -> _Whole:
    strata = _kept(snapshot, dataclasses.replace(filters, regions=()), source, waves)
    margins = (
        wave_margins(strata, snapshot.population, reference_regions()) if strata.height else {}
    )
    totals = snapshot.totals.join(strata.select(_KEYS), on=_KEYS, how="semi")
    return _Whole(strata, margins, totals)


def weighted_sums(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    *,
    by: Sequence[str] = (),
    waves: Sequence[str] | None = None,
) -> WeightedSums:
    """``queries.metrics.page_weights.weighted_sums`` from the summary store: per (by,
    stratum, variable) sums of ``variables`` over ``source``'s chosen waves (``waves``: a
    subset), raked per whole wave when ``filters.weights`` asks for it and a wave has margins.
    ``variables``: stored expressions, or any other (summed from the rows once per snapshot,
    ``Snapshot.built``); ``by``: cell dimensions (region, sex, age_group, settlement)."""
    return _weighted(snapshot, filters, source, variables, list(by), waves)[0]


def _weighted(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    by: list[str],
    waves: Sequence[str] | None,
) -> tuple[WeightedSums, _Whole | None, pl.DataFrame | None]:
    """``weighted_sums`` and, when raked, the whole waves and their cells (which the pooled
    estimate's second pass starts from)."""
    uncalibrated: tuple[str, ...] = ()
    if filters.weights == CALIBRATED:
        whole = _whole(snapshot, filters, source, waves)
        if whole.raked:
            rows = whole.cells(snapshot, filters, variables)
            made = calibrated_sums(rows, whole.margins, unit=UNIT, by=by, carry=_PERIOD,
                                   totals=whole.totals)  # fmt: skip
            return calibrated_result(made, filters, by=by), whole, rows
        uncalibrated = tuple(sorted({w for (_, w) in whole.margins}))
    kept = _kept(snapshot, filters, source, waves)
    sums = _delivered(snapshot, kept, filters, variables, by)
    return WeightedSums(sums, DELIVERED, uncalibrated), None, None


def weighted_estimates(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    variables: Mapping[str, pl.Expr],
    *,
    by: Sequence[str] = (),
    waves: Sequence[str] | None = None,
    shares: Sequence[str] = (),
) -> WeightedEstimates:
    """``page_weights.weighted_estimates`` from the summary store (``weighted_sums`` here)."""
    made = weighted_sums(snapshot, filters, source, variables, by=by, waves=waves)
    return estimates_of(made, by=by, shares=shares)


def _centred(
    rows: pl.DataFrame,
    whole: _Whole,
    by: str,
    ratio: Mapping[object, tuple[float, float]],
) -> pl.DataFrame:
    """The second pass's cells: per group g, v_g = y − r_g on g's respondents with a value in
    the domain, 0 on every other respondent of the wave. Every respondent brings his count,
    Σw, Σw² (v is never null); g's cells of y (``rows``, zero outside the domain) bring
    Σwv = Σwy − r·Σw, Σw²v = Σw²y − r·Σw², Σw²v² = Σw²y² − 2r·Σw²y + r²·Σw², Σv = Σy − r·n.
    Rows of one cell add up in ``calibrated_sums``."""
    keys = [c for c in rows.columns if c not in {"variable", *_SUMS, "n_h", "N_h"}]
    groups = pl.DataFrame(
        {
            by: [g for g in ratio],
            "variable": [str(g) for g in ratio],
            "_r": [r for r, _ in ratio.values()],
        },
        schema={by: rows.schema[by], "variable": pl.String, "_r": pl.Float64},
    )
    everyone = (
        whole.totals.join(whole.strata.select(*_KEYS, *_PERIOD, "n_h"), on=_KEYS)
        .join(groups.select("variable"), how="cross")
        .select(
            *keys,
            "variable",
            pl.col("n_cell").cast(pl.Int64).alias("n"),
            *(pl.lit(0.0).alias(c) for c in ("sy", "swy")),
            pl.col("sw_cell").alias("sw"),
            pl.col("sw2_cell").alias("sw2"),
            *(pl.lit(0.0).alias(c) for c in ("sw2y", "sw2y2")),
            "n_h",
        )
    )
    r = pl.col("_r")
    own = (
        rows.drop("variable")
        .join(groups, on=by)
        .select(
            *keys,
            "variable",
            pl.lit(0, pl.Int64).alias("n"),
            (pl.col("sy") - r * pl.col("n")).alias("sy"),
            (pl.col("swy") - r * pl.col("sw")).alias("swy"),
            pl.lit(0.0).alias("sw"),
            pl.lit(0.0).alias("sw2"),
            (pl.col("sw2y") - r * pl.col("sw2")).alias("sw2y"),
            (pl.col("sw2y2") - 2 * r * pl.col("sw2y") + r * r * pl.col("sw2")).alias("sw2y2"),
            "n_h",
        )
    )
    order = [*keys, "variable", "n", *_SUMS[1:], "n_h"]
    frame = pl.concat([p.select(order) for p in (everyone, own)], how="vertical_relaxed")
    return frame.with_columns(pl.lit(None, pl.Float64).alias("N_h"))


_SUMS = ("n", "sy", *SUM_COLUMNS)


def pooled_estimates(
    snapshot: Snapshot,
    filters: Filters,
    source: str,
    y: pl.Expr,
    *,
    by: str,
    waves: Sequence[str],
) -> WeightedEstimates:
    """``page_weights.pooled_estimates`` from the summary store: the pooled mean of ``y`` per
    ``by`` group over ``waves``, each raked on its own, with the pooled ratio's SE."""
    made, whole, rows = _weighted(snapshot, filters, source, {"y": y}, [by], waves)

    def second(ratio: Mapping[object, tuple[float, float]]) -> CalibratedSums:
        assert whole is not None and rows is not None  # only asked for raked sums
        cells = _centred(rows, whole, by, ratio)
        return calibrated_sums(cells, whole.margins, unit=UNIT, carry=_PERIOD, totals=whole.totals)

    return pooled_from(made, by=by, second=second)


def composite_of(snapshot: Snapshot, institutions: Sequence[str]) -> pl.Expr:
    """The composite trust expression over ``institutions`` (all when none), as the raw path
    builds it from the dataset's columns (same order, same message for an unknown one)."""
    columns = pl.DataFrame(schema={f"{TRUST}{i}": pl.Float64 for i in snapshot.institutions})
    return composite_expr(trust_columns(columns, institutions))


def feedback_numbers(
    snapshot: Snapshot, filters: Filters, source: str, wave: str
) -> WeightedEstimates:
    """``queries.metrics.feedback.feedback_numbers`` from the summary store."""
    variables = feedback_variables()
    return weighted_estimates(
        snapshot, filters, source, variables, waves=[wave], shares=FEEDBACK_SHARES
    )


def trust_by_region(
    snapshot: Snapshot, filters: Filters, source: str, year: int
) -> WeightedEstimates:
    """``queries.metrics.ngo.trust_by_region`` from the summary store: composite trust per
    region pooled over ``source``'s waves starting in ``year``."""
    kept = _kept(snapshot, filters, source, None)
    waves = kept.filter(pl.col("period_start").dt.year() == year).get_column("wave").unique()
    y = composite_of(snapshot, filters.institutions)
    return pooled_estimates(
        snapshot, filters, source, y, by="region", waves=sorted(waves.to_list())
    )
