"""The Overview's numbers that read no survey row (issue 11: apart from ``overview``, so a
caller may keep them per cut of the register): the register's card (answered within 30 days
over the last 12 months, against the 12 months before), the NGO density card and the
proposals funnel, from the register and NGO frames already cut to the filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from queries.metrics.ngo import national_density
from queries.metrics.register import answer_rate_30, funnel, latest_submission
from queries.reference.reform import REFORM_DATE

__all__ = ["RegisterPart", "register_cards", "register_part"]

_YEAR = dt.timedelta(days=365)
_MONTH = dt.timedelta(days=30)


@dataclass(frozen=True)
class RegisterPart:
    """The Overview's numbers that read no survey row: the register's and the NGO counts'
    cards (when they have data) and the proposals funnel, from frames already cut to the
    filters (their regions and sources only: a caller may keep them per such cut)."""

    cards: tuple[dict, ...]
    funnel: pl.DataFrame


def register_part(
    proposals: pl.DataFrame, ngo: pl.DataFrame, *, as_of: dt.date | None = None
) -> RegisterPart:
    """``RegisterPart`` of the register and NGO frames cut to the filters."""
    return RegisterPart(register_cards(proposals, ngo, as_of=as_of), funnel(proposals))


def register_cards(
    proposals: pl.DataFrame, ngo: pl.DataFrame, *, as_of: dt.date | None = None
) -> tuple[dict, ...]:
    """The register's and the NGO counts' cards, each when it has data."""
    cards = (_register_card(proposals, as_of), _ngo_card(ngo))
    return tuple(card for card in cards if card)


def _register_card(proposals: pl.DataFrame, as_of: dt.date | None) -> dict | None:
    """Answered within 30 days over the last 12 months, against the 12 months before."""
    if proposals.is_empty():
        return None
    as_of = as_of or latest_submission(proposals)  # the rows or their summary (issue 11)
    now = answer_rate_30(proposals, as_of, since=as_of - _YEAR - _MONTH)
    before = answer_rate_30(proposals, as_of - _YEAR, since=as_of - 2 * _YEAR - _MONTH)
    rate, n, previous = now.item(0, "rate"), now.item(0, "n"), before.item(0, "rate")
    return {
        "card": "answered_30", "kind": "register", "wave": str(as_of.year),
        "previous_wave": str(as_of.year - 1), "estimate": rate, "n": n, "suppressed": n == 0,
        "previous": previous,
        "change": None if rate is None or previous is None else rate - previous,
    }  # fmt: skip


def _ngo_card(ngo: pl.DataFrame) -> dict | None:
    """Active NGOs per 10,000 residents: the latest year all regions reported vs the one before."""
    if ngo.is_empty():
        return None
    # region-reform: complete = every unit of its vintage (17 before 2022, 20 since)
    vintage = pl.col("year") >= REFORM_DATE.year
    years = national_density(ngo).filter(pl.col("regions") == pl.col("regions").max().over(vintage))
    last = years.row(-1, named=True)
    prev = years.row(-2, named=True) if years.height > 1 else None
    return {
        "card": "ngos_per_10k", "kind": "density", "wave": str(last["year"]),
        "previous_wave": str(prev["year"]) if prev else None, "estimate": last["active_per_10k"],
        "n": last["regions"], "suppressed": False,
        "previous": prev["active_per_10k"] if prev else None,
        "change": last["active_per_10k"] - prev["active_per_10k"] if prev else None,
    }  # fmt: skip
