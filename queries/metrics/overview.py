"""The leaders' Overview: six headline cards (latest value, its uncertainty, the change since
the previous wave and whether it is significant), the regions that moved most, and the map."""

from __future__ import annotations

import datetime as dt

import polars as pl

from queries.metrics import estimate
from queries.metrics.ngo import national_density
from queries.metrics.register import answer_rate_30
from queries.metrics.trend import metric_trend
from queries.metrics.trust import composite_expr, trust_columns

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
    "kind": pl.String,
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


def survey_variables(responses: pl.DataFrame, institutions=()) -> dict[str, pl.Expr]:
    """The survey side of the cards as derived variables."""
    variables = {"composite_trust": composite_expr(trust_columns(responses, institutions))}
    if "trust_government" in responses.columns:
        variables["trust_government"] = pl.col("trust_government")
    variables["state_listens"] = pl.col("state_listens")
    variables["participation"] = pl.col("participated_consultation")
    return variables


INSTITUTION_PREFIX = "institution:"


def survey_trend(responses: pl.DataFrame, institutions=()) -> pl.DataFrame:
    """Every survey series the Overview draws, from ONE pass over the responses: the card
    variables and each institution's trust (``institution:<name>``), per wave with the change
    since the previous wave and its significance."""
    variables = survey_variables(responses, institutions)
    for column in trust_columns(responses, institutions):
        variables[INSTITUTION_PREFIX + column.removeprefix("trust_")] = pl.col(column)
    return metric_trend(responses, variables, shares=["participation"])


def _survey_cards(trend: pl.DataFrame) -> list[dict]:
    if trend.is_empty():  # no responses at all (an empty database, or filters leaving none)
        return []
    trend = trend.filter(~pl.col("variable").str.starts_with(INSTITUTION_PREFIX))
    latest = trend.sort("period_start").group_by("variable", maintain_order=True).last()
    cards = []
    for row in latest.iter_rows(named=True):
        previous = row["estimate"] - row["change"] if row["change"] is not None else None
        cards.append(
            {
                "card": row["variable"],
                "kind": "share" if row["variable"] == "participation" else "score",
                "wave": row["wave"],
                "previous_wave": row["previous_wave"],
                **{
                    k: row[k]
                    for k in (
                        "estimate",
                        "ci_low",
                        "ci_high",
                        "n",
                        "suppressed",
                        "change",
                        "change_se",
                        "p_value",
                        "significant",
                    )
                },
                "previous": previous,
            }
        )
    return cards


def _register_card(proposals: pl.DataFrame, as_of: dt.date | None) -> dict | None:
    if proposals.is_empty():
        return None
    as_of = as_of or proposals.get_column("submitted_on").max()
    year = dt.timedelta(days=365)
    now = answer_rate_30(proposals, as_of, since=as_of - year - dt.timedelta(days=30))
    before = answer_rate_30(
        proposals.filter(pl.col("submitted_on") < as_of - year - dt.timedelta(days=30)),
        as_of - year,
    )
    rate, n = now.item(0, "rate"), now.item(0, "n")
    previous = before.item(0, "rate")
    return {
        "card": "answered_30",
        "kind": "register",
        "wave": str(as_of.year),
        "previous_wave": str(as_of.year - 1),
        "estimate": rate,
        "ci_low": None,
        "ci_high": None,
        "n": n,
        "suppressed": n == 0,
        "previous": previous,
        "change": None if rate is None or previous is None else rate - previous,
        "change_se": None,
        "p_value": None,
        "significant": None,
    }


def _ngo_card(ngo: pl.DataFrame) -> dict | None:
    if ngo.is_empty():
        return None
    years = national_density(ngo).filter(pl.col("regions") == pl.col("regions").max())
    last = years.row(-1, named=True)
    prev = years.row(-2, named=True) if years.height > 1 else None
    return {
        "card": "ngos_per_10k",
        "kind": "density",
        "wave": str(last["year"]),
        "previous_wave": str(prev["year"]) if prev else None,
        "estimate": last["active_per_10k"],
        "ci_low": None,
        "ci_high": None,
        "n": last["regions"],
        "suppressed": False,
        "previous": prev["active_per_10k"] if prev else None,
        "change": last["active_per_10k"] - prev["active_per_10k"] if prev else None,
        "change_se": None,
        "p_value": None,
        "significant": None,
    }


def headline_cards(
    responses: pl.DataFrame,
    proposals: pl.DataFrame,
    ngo: pl.DataFrame,
    *,
    institutions=(),
    as_of: dt.date | None = None,
    trend: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The six Overview cards, in ``CARDS`` order.

    ``responses`` is one source's filtered responses (waves of different sources are separate
    samples, so "the previous wave" is only meaningful within a source). Survey cards carry a
    design-based CI and the z-test of the change; register and NGO cards are complete counts
    (no sampling error: ci/p-value null). ``trend``: ``survey_trend(responses)`` when the caller
    already has it (the Overview draws it too).
    """
    if trend is None:
        trend = survey_trend(responses, institutions) if responses.height else pl.DataFrame()
    rows = _survey_cards(trend)
    for extra in (_register_card(proposals, as_of), _ngo_card(ngo)):
        if extra:
            rows.append(extra)
    frame = pl.DataFrame(rows, schema=CARD_COLUMNS)
    order = {card: i for i, card in enumerate(CARDS)}
    return frame.sort(pl.col("card").replace_strict(order, default=99))


def regions_moved(responses: pl.DataFrame, institutions=(), top: int = 5) -> pl.DataFrame:
    """Regions whose composite trust changed most between one source's last two waves."""
    if responses.is_empty():
        return pl.DataFrame()
    variables = {"composite_trust": composite_expr(trust_columns(responses, institutions))}
    trend = metric_trend(responses, variables, by="region")
    last_wave = trend.sort("period_start").get_column("wave").last()
    return (
        trend.filter((pl.col("wave") == last_wave) & pl.col("change").is_not_null())
        .sort(pl.col("change").abs(), descending=True)
        .head(top)
        .select(
            "region",
            "wave",
            "previous_wave",
            "estimate",
            "change",
            "change_se",
            "p_value",
            "significant",
            "n",
        )
    )


def composite_by_region(responses: pl.DataFrame, institutions=()) -> pl.DataFrame:
    """Composite trust per region over the given responses (estimate, CI, n, suppressed)."""
    variables = {"composite_trust": composite_expr(trust_columns(responses, institutions))}
    return estimate(responses, variables, by="region").drop("variable")


def overview_numbers(data, filters, source: str) -> dict[str, object]:
    """Everything the Overview page draws, for one filter selection and compared source.

    A pure function of (dataset, filters, source): the dashboard caches it per data version,
    so many people looking at the same view share one computation.
    """
    from queries.filters import apply_filters
    from queries.metrics.register import funnel

    own = apply_filters(data.responses, filters).filter(pl.col("source") == source)
    proposals, ngo = data.proposals, data.ngo
    if filters.regions:
        proposals = proposals.filter(pl.col("region").is_in(list(filters.regions)))
        ngo = ngo.filter(pl.col("region").is_in(list(filters.regions)))
    institutions = filters.institutions
    trend = survey_trend(own, institutions) if own.height else pl.DataFrame()
    latest = own.sort("period_start").get_column("wave").last() if own.height else None
    return {
        "trend": trend,
        "cards": headline_cards(own, proposals, ngo, institutions=institutions, trend=trend),
        "latest_wave": latest,
        "by_region": composite_by_region(own.filter(pl.col("wave") == latest), institutions)
        if own.height
        else pl.DataFrame(),
        "funnel": funnel(proposals),
        "moved": regions_moved(own, institutions),
    }
