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
from queries.metrics.inference import with_holm
from queries.metrics.trust import composite_expr, trust_columns
from queries.survey.calibration import RakeProjection
from queries.survey.regression import INTERCEPT, MIN_MODEL_N, survey_regression

OUTCOMES = ("trust_government", "composite_trust")
NUMERIC = ("state_listens", "got_response", "satisfaction", "participated", "ngo")
CATEGORIES = ("sex", "age_group", "settlement")  # against their first level, as R's factors
PER_POINT = ("state_listens", "satisfaction")
# the stored answers ``driver_frame`` reads besides trust_* and the cell keys (a reader of just
# the rows the model needs, ``queries.summaries.rows``, reads these)
ANSWERS = (
    "state_listens",
    "received_response",
    "response_satisfaction",
    "participated_consultation",
    "ngo_involvement",
)  # the others compare with a reference group
MIDPOINT = 5.0
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


def driver_frame(
    responses: pl.DataFrame, *, outcome: str, institutions: Sequence[str] = ()
) -> pl.DataFrame:
    """The model's columns: ``y``, the predictors, ``weight``, ``stratum``; every model column
    null on rows outside the subgroup or with something missing (so levels come from the
    respondents in the model only)."""
    if outcome not in OUTCOMES:
        raise SenimError(f"Unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}.")
    y = (
        pl.col("trust_government")
        if outcome == "trust_government"
        else composite_expr(trust_columns(responses, institutions))
    )
    got = pl.col("received_response").fill_null(False)
    columns = {
        "y": y.cast(pl.Float64),
        "state_listens": pl.col("state_listens").cast(pl.Float64),
        "got_response": got.cast(pl.Float64),
        "satisfaction": pl.when(got)
        .then(pl.col("response_satisfaction").cast(pl.Float64) - MIDPOINT)
        .otherwise(0.0),
        "participated": pl.col("participated_consultation").cast(pl.Float64),
        "ngo": pl.col("ngo_involvement").cast(pl.Float64),
        **{name: pl.col(name).cast(pl.String) for name in CATEGORIES},
    }
    inside = pl.col("in_domain") if "in_domain" in responses.columns else pl.lit(True)
    # two steps: in one, each column's mask would evaluate every column again (10x the work)
    built = responses.select(**columns, _inside=inside, weight="weight", stratum="stratum")
    keep = pl.col("_inside") & pl.all_horizontal(pl.col(name).is_not_null() for name in columns)
    return built.select(
        *(pl.when(keep).then(pl.col(name)).otherwise(None).alias(name) for name in columns),
        "weight",
        "stratum",
    )


def _varying(frame: pl.DataFrame) -> tuple[list[str], tuple[str, ...], dict[str, str]]:
    """Predictors with at least two values among the respondents in the model, those left
    out, and each category's reference (its first level, sorted: R's factor default)."""
    used, dropped, references = [], [], {}
    for name in (*NUMERIC, *CATEGORIES):
        values = frame.get_column(name).drop_nulls().unique().sort()
        (used if len(values) > 1 else dropped).append(name)
        if name in CATEGORIES and len(values) > 1:
            references[name] = _key(values[0])
    return used, tuple(dropped), references


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
    latest wave of one source under the analyst's filters. No model below ``min_n``
    respondents with complete answers: ``reason="too_few"`` and their number instead.
    ``raked_on``: the weights are raked, these the margins' codes (``survey_regression``)."""
    frame = driver_frame(responses, outcome=outcome, institutions=institutions)
    n = frame.get_column("y").is_not_null().sum()
    used, dropped, references = _varying(frame)
    empty = pl.DataFrame(schema=TERM_SCHEMA)
    if n < min_n:
        return Drivers(outcome, empty, n, None, dropped, "too_few", min_n)
    try:
        fit = survey_regression(
            frame, "y", used, weight="weight", strata="stratum", level=level, min_n=min_n,
            raked_on=raked_on,
        )  # fmt: skip
    except SenimError:  # a predictor is a combination of others under these filters
        return Drivers(outcome, empty, n, None, dropped, "collinear", min_n)
    terms = fit.filter(pl.col("term") != INTERCEPT)
    keys = [_term_key(term) for term in terms.get_column("term")]
    terms = terms.with_columns(
        pl.Series("key", [key for key, _ in keys], dtype=pl.String),
        # yes/no predictors compare with "no" (named by the predictor), categories with
        # their first level; per-point predictors have no reference group
        pl.Series(
            "reference",
            [None if key in PER_POINT else references.get(cat, key) for key, cat in keys],
            dtype=pl.String,
        ),
        pl.Series("kind", ["per_point" if k in PER_POINT else "versus" for k, _ in keys]),
    )
    # the reading picks the "significant" drivers out of every term: Holm over the family
    terms = with_holm(terms, p="p", alpha=1 - level)
    return Drivers(
        outcome=outcome,
        terms=terms.select(empty.columns),
        n=int(fit.item(0, "n")),
        df=int(fit.item(0, "df")),
        dropped=dropped,
        reason=None,
        min_n=min_n,
    )


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
    anything ``population_of`` reads).

    Delivered weights: the model on the chosen regions' strata. With
    ``filters.weights == "calibrated"`` and margins for the wave's year, the whole wave is
    raked (issue 12) and the model is fitted on it, the filters as its subset, with the
    calibration-aware SEs of R's ``svyglm`` on a ``rake()`` design. ``raking``: gives that
    wave's ``raked_wave`` (a caller keeping it per wave: the filters do not change it)."""
    wave = rows.get_column("wave").first() if rows.height else None
    latest = rows.filter(pl.col("region").is_in(list(filters.regions))) if filters.regions else rows
    if latest.is_empty():
        return no_model(outcome)
    if filters.weights == "calibrated":
        raked = raking() if raking is not None else raked_wave(data, rows)
        if raked is not None:
            model = trust_drivers(
                rows.with_columns(weight=raked.weights), outcome=outcome,
                institutions=filters.institutions, raked_on=raked.projection,
            )  # fmt: skip
            return replace(model, weights="calibrated")
        return replace(
            trust_drivers(latest, outcome=outcome, institutions=filters.institutions),
            uncalibrated_waves=(wave,),
        )
    return trust_drivers(latest, outcome=outcome, institutions=filters.institutions)


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
