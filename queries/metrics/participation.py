"""Civic participation: shares who took part in a consultation, proposed, are in an NGO."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from queries.metrics import estimate

PARTICIPATION = ("participated_consultation", "submitted_proposal", "ngo_involvement")


def participation_shares(
    responses: pl.DataFrame, *, by: str | Sequence[str] | None = None, level: float = 0.95
) -> pl.DataFrame:
    """Weighted share answering yes to each participation item (``variable``), per ``by`` group."""
    items = [c for c in PARTICIPATION if c in responses.columns]
    variables = {c: pl.col(c) for c in items}
    return estimate(responses, variables, by=by, shares=items, level=level)
