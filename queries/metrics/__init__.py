"""The metrics leaders read, computed from a Dataset's frames (see docs/metrics.md).

Survey metrics share one helper: derived 0-10 or 0/1 columns (as polars expressions, nulled
outside their own sub-population) go through ONE ``stratum_sums`` pass over the responses and
are then combined per group. The responses design: weights ``weight``, strata ``stratum``
(source|wave|region), and the filters' ``in_domain`` column when present.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from queries.survey.design import CiMethod, combine_sums, stratum_sums
from queries.survey.sums import as_list, check_weights

__all__ = ["as_list", "combine", "estimate", "variable_sums"]

WEIGHT, STRATA, DOMAIN = "weight", "stratum", "in_domain"


def variable_sums(
    responses: pl.DataFrame,
    variables: Mapping[str, pl.Expr],
    *,
    by: Sequence[str] = (),
    carry: Sequence[str] = (),
    cells: Sequence[str] = (),
) -> pl.DataFrame:
    """Per-stratum sums of many derived variables in one pass (``variable`` = the mapping key).

    ``carry``: columns fixed within a stratum (region, wave, ...), kept without grouping on them.
    ``cells``: per-cell sums instead (calibration, see ``stratum_sums``).
    """
    cols = {name: expr.cast(pl.Float64).alias(name) for name, expr in variables.items()}
    frame = responses.select(
        *dict.fromkeys([*by, *carry, *cells]),
        WEIGHT,
        STRATA,
        *([DOMAIN] if DOMAIN in responses.columns else []),
        *cols.values(),
    )
    if carry and not frame.get_column(STRATA).flags["SORTED_ASC"]:
        check_weights(frame, WEIGHT)  # before sorting, so that an error names the right row
        # sorting just these columns costs less than it saves: the sums then run over
        # contiguous slices, which is what makes the Overview's one pass fast
        frame = frame.sort(STRATA)
    return stratum_sums(
        frame,
        list(cols),
        weight=WEIGHT,
        strata=STRATA,
        by=list(by) or None,
        domain=DOMAIN if DOMAIN in frame.columns else None,
        carry=carry,
        cells=cells,  # calibration (issue 12)
    )


# The dashboard's intervals (issue 12): t with the design df for means (R's
# confint(svymean(...), df = degf(design))) and the logit interval for the ``shares`` (R's
# svyciprop(method = "logit")); every card, band, error bar, table and export comes from here.
DASHBOARD_CI: CiMethod = "logit"


def combine(
    sums: pl.DataFrame,
    *,
    by: Sequence[str] = (),
    shares: Sequence[str] = (),
    level: float = 0.95,
    ci: CiMethod = DASHBOARD_CI,
) -> pl.DataFrame:
    """Estimates per (by, variable); the ``shares`` variables' CIs stay within [0, 1] (the
    logit interval with the default ``ci``, cut to [0, 1] with ``ci="normal"``)."""
    return combine_sums(sums, by=list(by) or None, level=level, ci=ci, shares=list(shares))


def estimate(
    responses: pl.DataFrame,
    variables: Mapping[str, pl.Expr],
    *,
    by: str | Sequence[str] | None = None,
    shares: Sequence[str] = (),
    level: float = 0.95,
) -> pl.DataFrame:
    """Survey estimates of several derived variables per ``by`` group, one pass over the data."""
    by_cols = as_list(by)
    return combine(variable_sums(responses, variables, by=by_cols), by=by_cols, shares=shares,
                   level=level)  # fmt: skip
