"""What drives trust (the OECD Trust Survey's core analysis): a design-based regression of trust
in government, or of the composite index, on how people experience the state.

Predictors, each a column built here so that its coefficient reads plainly:
- ``state_listens``: "the state listens to people like me", per point on 0-10;
- ``got_response``: received a response to a proposal (yes = 1; no, blank or no proposal = 0:
  a blank is not a yes, as in the satisfaction indicator);
- ``satisfaction``: satisfaction with that response minus the scale's midpoint 5, and 0 for
  those without one, so ``got_response`` is the gap for a middling (5/10) response and
  ``satisfaction`` the change per point above or below it;
- ``participated`` (took part in a consultation) and ``ngo`` (NGO member or volunteer), yes = 1;
- sex (against women), age group (against 18-29), settlement (against rural).
Rows outside the filters' subgroup or with any answer missing leave the model but stay in their
stratum (R's ``svyglm`` on a subset of the design). The coefficients are associations holding
the other predictors equal, not causes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from queries.errors import SenimError
from queries.metrics.driver_columns import (  # noqa: F401 (ANSWERS, driver_frame: read from here)
    ANSWERS,
    CATEGORIES,
    NUMERIC,
    OUTCOMES,
    DriverColumns,
    design,
    driver_columns,
    driver_frame,
    varying,
)
from queries.metrics.inference import holm
from queries.survey.calibration import RakeProjection, rake_projection
from queries.survey.patterns import Patterns, pattern_terms
from queries.survey.regression import MIN_MODEL_N, Collinear, Fit, fitted_terms

PER_POINT = ("state_listens", "satisfaction")  # the others compare with a reference group
TERM_SCHEMA = {
    "key": pl.String,
    "kind": pl.String,
    "reference": pl.String,
    **{c: pl.Float64 for c in ("estimate", "se", "ci_low", "ci_high", "p", "p_adjusted")},
    "significant": pl.Boolean,
}


@dataclass(frozen=True)
class Drivers:
    """One model's coefficients, ready to draw; ``reason`` says why there is none."""

    outcome: str
    terms: pl.DataFrame  # key, kind (per_point | versus), reference, estimate, se, ci_low,
    # ci_high, p, p_adjusted (Holm over the terms), significant (adjusted); no intercept
    n: int  # respondents in the model (complete answers, in the subgroup)
    df: int | None  # residual degrees of freedom of the t intervals
    dropped: tuple[str, ...]  # predictors left out: one value only under the filters
    reason: str | None  # None | "too_few" | "collinear"
    min_n: int = MIN_MODEL_N
    weights: str = "delivered"  # issue 12: "calibrated" when the wave was raked
    uncalibrated_waves: tuple[str, ...] = ()  # asked to calibrate, left delivered

    @property
    def fitted(self) -> bool:
        return self.reason is None


def _key(text: str) -> str:
    return text.replace("-", "_").replace("+", "_plus")


def _term_key(term: str) -> tuple[str, str | None]:
    """R's term name (``sexmale``, ``age_group30-44``) as a translation-friendly key, and the
    category it belongs to (None for the numeric predictors)."""
    if term in NUMERIC:
        return term, None
    for name in CATEGORIES:
        if term.startswith(name):
            return f"{name}_{_key(term.removeprefix(name))}", name
    return term, None


def trust_drivers(
    responses: pl.DataFrame,
    *,
    outcome: str = "trust_government",
    institutions: Sequence[str] = (),
    min_n: int = MIN_MODEL_N,
    level: float = 0.95,
    raked_on: Sequence[np.ndarray] | RakeProjection | None = None,
) -> Drivers:
    """The drivers model (linear, design-based: ``survey_regression``) on one sample, e.g. the
    latest wave of one source under the analyst's filters (its ``in_domain``, when present,
    the subgroup). No model below ``min_n`` respondents with complete answers:
    ``reason="too_few"`` and their number instead. ``raked_on``: the weights are raked, these
    the margins' codes or their projection (``survey_regression``)."""
    columns = driver_columns(responses, outcome=outcome, institutions=institutions)
    if "in_domain" in responses.columns:
        keep = responses.get_column("in_domain").fill_null(False).to_numpy()
    else:
        keep = np.ones(responses.height, dtype=bool)
    if raked_on is not None and not isinstance(raked_on, RakeProjection):
        raked_on = rake_projection(weights=columns.weight, margins=raked_on)
    return trust_drivers_in(
        columns, keep=keep, outcome=outcome, min_n=min_n, level=level, raked_on=raked_on
    )


def trust_drivers_in(
    columns: DriverColumns,
    *,
    keep: np.ndarray,
    outcome: str,
    sample: np.ndarray | None = None,
    min_n: int = MIN_MODEL_N,
    level: float = 0.95,
    raked_on: RakeProjection | None = None,
) -> Drivers:
    """``trust_drivers`` on ``columns`` (made once per wave): ``keep`` (bool per row) the
    subgroup, ``sample`` (bool per row, or None: all) the rows that are the design's sample,
    e.g. the chosen regions' strata, whose stratum sizes the SEs read."""
    complete = columns.valid & keep if sample is None else columns.valid & keep & sample
    whole = _whole_patterns(columns, complete, sample, raked_on)
    if whole is None:  # the model's rows, gathered once per column
        at = np.flatnonzero(complete)
        n = len(at)
    else:  # a row of each pattern stands for its rows
        patterns, chosen = whole
        at = patterns.first[chosen]
        n = int(patterns.count[chosen].sum())
    held = {name: columns.codes[name][at] for name in (*NUMERIC, *CATEGORIES)}
    used, dropped, present = varying(columns, held)
    empty = pl.DataFrame(schema=TERM_SCHEMA)
    if n < min_n:
        return Drivers(outcome, empty, n, None, dropped, "too_few", min_n)
    names, x = design(columns, held, used, present)
    try:
        if whole is None:
            fit = _row_fit(columns, names, x, at, complete, sample, level, raked_on)
        else:
            fit = pattern_terms(
                names=names, x=x, sums=columns.pattern_sums().at(chosen), rows=at,
                strata=columns.strata, sampled=sample, level=level, raked_on=raked_on,
            )  # fmt: skip
    except Collinear:  # a predictor is a combination of others under these filters
        return Drivers(outcome, empty, n, None, dropped, "collinear", min_n)
    keys = [_term_key(term) for term in fit.terms[1:]]  # the intercept first, left out
    # the reading picks the "significant" drivers out of every term: Holm over the family
    adjusted = holm(fit.p[1:])
    terms = pl.DataFrame(
        {
            "key": [key for key, _ in keys],
            "kind": ["per_point" if k in PER_POINT else "versus" for k, _ in keys],
            # yes/no predictors compare with "no" (named by the predictor), categories with
            # their first level; per-point predictors have no reference group
            "reference": [
                None if key in PER_POINT else _reference(present, cat, key) for key, cat in keys
            ],
            **{c: getattr(fit, c)[1:] for c in ("estimate", "se", "ci_low", "ci_high", "p")},
            "p_adjusted": adjusted,
            "significant": (adjusted < 1 - level).fill_null(False),
        },
        schema=TERM_SCHEMA,
    )
    return Drivers(outcome, terms, fit.n, fit.df, dropped, None, min_n)


def _whole_patterns(
    columns: DriverColumns,
    complete: np.ndarray,
    sample: np.ndarray | None,
    raked_on: RakeProjection | None,
) -> tuple[Patterns, np.ndarray] | None:
    """The patterns (``DriverColumns.patterns``) the model's rows make up, when they are whole
    patterns (the filters cut by stratum, sex, age group and settlement: always) and, raked,
    each within one raking cell; None otherwise (the fit then reads the rows). Raked with a
    ``sample`` of strata: None (the rows' fit refuses a projection of another sample)."""
    if raked_on is not None and sample is not None:
        return None
    patterns = columns.patterns()
    if patterns is None or (raked_on is not None and not columns.within_cells(raked_on)):
        return None
    kept = np.bincount(patterns.of_row[complete], minlength=len(patterns.count))
    if np.any((kept > 0) & (kept != patterns.count)):
        return None
    return patterns, np.flatnonzero(kept)


def _row_fit(
    columns: DriverColumns,
    names: list[str],
    x: np.ndarray,
    at: np.ndarray,
    complete: np.ndarray,
    sample: np.ndarray | None,
    level: float,
    raked_on: RakeProjection | None,
) -> Fit:
    """``fitted_terms`` on the model's rows ``at``: the design's sample ``sample`` (None: all),
    its strata coded 0..H-1 again in the same order."""
    strata, weights = columns.strata, columns.weight
    if sample is not None:
        there = np.bincount(strata[sample], minlength=int(strata.max()) + 1) > 0
        strata, weights = (np.cumsum(there) - 1)[strata[sample]], weights[sample]
    return fitted_terms(
        names=names, x=x, y=columns.y[at], w=columns.weight[at],
        rows=np.flatnonzero(complete if sample is None else complete[sample]),
        strata=strata, level=level, raked_on=raked_on, weights=weights,
    )  # fmt: skip


def _reference(present: dict[str, list], category: str | None, key: str) -> str:
    """A term's reference group: its category's first level, or the predictor's "no"."""
    return key if category is None else _key(present[category][0])


def no_model(outcome: str) -> Drivers:
    """The model when the filters keep no respondent of the source."""
    return Drivers(outcome, pl.DataFrame(schema=TERM_SCHEMA), 0, None, (), "too_few")


def drivers_numbers(data, filters, source: str, outcome: str) -> Drivers:
    """The Drivers page's model: the latest wave of ``source`` under ``filters`` (a pure
    function of the dataset and plain values, so the dashboard caches it per data version).
    The raw-row path: the page reads just that wave's rows instead (``queries.summaries.rows``)
    and both end in ``wave_drivers``."""
    from queries.metrics.calibrated import whole_waves
    from queries.metrics.filters import apply_filters

    own = apply_filters(data.responses, filters).filter(pl.col("source") == source)
    if own.is_empty():
        return no_model(outcome)
    wave = own.sort("period_start").get_column("wave").last()
    rows = whole_waves(data.responses, filters, source).filter(pl.col("wave") == wave)
    return wave_drivers(data, rows, filters, outcome)


@dataclass(frozen=True)
class Raked:
    """A whole wave's raked weights (in its rows' order), each margin's category codes and
    their ``rake_projection`` (what the rake-aware SEs of every model on the wave share)."""

    weights: pl.Series
    codes: tuple[np.ndarray, ...]
    projection: RakeProjection


def wave_drivers(
    data,
    rows: pl.DataFrame,
    filters,
    outcome: str,
    *,
    raking: Callable[[], Raked | None] | None = None,
) -> Drivers:
    """The model on one wave of one source. ``rows``: the whole wave (every region) with the
    filters, region included, as ``in_domain`` (``whole_waves``' form; the model's answers are
    only read where ``in_domain``); ``data``: its population counts and regions (a Dataset, or
    anything ``population_of`` reads). ``raking``: gives that wave's ``raked_wave`` (a caller
    keeping it per wave: the filters do not change it)."""
    if rows.is_empty():
        return no_model(outcome)
    columns = driver_columns(rows, outcome=outcome, institutions=filters.institutions)
    regions = (
        rows.get_column("region").is_in(list(filters.regions)).fill_null(False).to_numpy()
        if filters.regions
        else None
    )
    return sample_drivers(
        columns, keep=rows.get_column("in_domain").fill_null(False).to_numpy(),
        regions=regions, filters=filters, outcome=outcome, wave=rows.item(0, "wave"),
        raking=raking or (lambda: raked_wave(data, rows)),
    )  # fmt: skip


def sample_drivers(
    columns: DriverColumns,
    *,
    keep: np.ndarray,
    regions: np.ndarray | None,
    filters,
    outcome: str,
    wave: str,
    raking: Callable[[], Raked | None],
) -> Drivers:
    """``wave_drivers`` on the wave's ``columns`` (``driver_columns``), ``keep`` the filters'
    rows and ``regions`` the chosen regions' (None: all).

    Delivered weights: the model on the chosen regions' strata. With
    ``filters.weights == "calibrated"`` and margins for the wave's year, the whole wave is
    raked (issue 12) and the model is fitted on it, the filters as its subset, with the
    calibration-aware SEs of R's ``svyglm`` on a ``rake()`` design."""
    if regions is not None and not regions.any():
        return no_model(outcome)
    if filters.weights == "calibrated":
        raked = raking()
        if raked is not None:
            model = trust_drivers_in(
                columns.with_weights(raked.weights.to_numpy()), keep=keep, outcome=outcome,
                raked_on=raked.projection,
            )  # fmt: skip
            return replace(model, weights="calibrated")
        model = trust_drivers_in(columns, keep=keep, outcome=outcome, sample=regions)
        return replace(model, uncalibrated_waves=(wave,))
    return trust_drivers_in(columns, keep=keep, outcome=outcome, sample=regions)


def raked_wave(data, rows: pl.DataFrame) -> Raked | None:
    """The whole wave ``rows``' weights raked to its year's margins, and each margin's
    category codes; None when it has no margins or they cannot be met. Missing or
    out-of-margin values join an "unknown" category that keeps its delivered share, as
    ``calibrated_sums`` does (the frame-based raking of the same cells). Only the region, sex,
    age group and weight columns count: the filters do not change it."""
    from queries.metrics.page_weights import raking_margins, unknown_mapped
    from queries.survey.calibration import calibrated_weights, category_codes, rake_projection

    first = rows.row(0, named=True)
    margins = raking_margins(data, rows).get((first["source"], first["wave"]))
    if not margins:
        return None
    mapped = unknown_mapped(rows, margins)
    try:
        raked = calibrated_weights(mapped, margins, weight="weight", out="_raked")
    except (ValueError, SenimError):  # a margin category without respondents: delivered
        return None
    codes = tuple(category_codes(mapped, column) for column in margins)
    weights = raked.get_column("_raked")
    return Raked(weights, codes, rake_projection(weights=weights.to_numpy(), margins=codes))
