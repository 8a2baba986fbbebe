"""The feedback loop as citizens see it (survey side)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from queries.metrics import estimate

FEEDBACK_SHARES = ("got_response",)


def feedback_variables() -> dict[str, pl.Expr]:
    """state_listens (mean 0-10); got_response: share of proposers (submitted_proposal = yes)
    who got a response; satisfaction: mean response_satisfaction among those who got one.

    "Got one" means received_response = yes: a blank answer is not a yes (``when`` on a null
    condition takes the ``otherwise`` branch, here null), so a satisfaction score given beside
    a blank is left out rather than counted as a response's."""
    return {
        "state_listens": pl.col("state_listens"),
        "got_response": pl.when(pl.col("submitted_proposal")).then(pl.col("received_response")),
        "satisfaction": pl.when(pl.col("received_response")).then(pl.col("response_satisfaction")),
    }


def feedback_survey(
    responses: pl.DataFrame, *, by: str | Sequence[str] | None = None, level: float = 0.95
) -> pl.DataFrame:
    """The three feedback indicators (``variable``) per ``by`` group."""
    return estimate(responses, feedback_variables(), by=by, shares=FEEDBACK_SHARES, level=level)


def feedback_numbers(data, filters, source: str, wave: str):
    """The Feedback page's survey side: the three indicators in one wave of ``source`` under
    ``filters``, with the weights switch (issue 12: the wave raked to its year's margins when
    it has them; ``WeightedEstimates`` says which weights were used)."""
    from queries.metrics.page_weights import weighted_estimates

    return weighted_estimates(
        data, filters, source, feedback_variables(), waves=[wave], shares=FEEDBACK_SHARES
    )
