"""Which weights a survey page's numbers use (issue 12, point 6): one caption under its title,
the same on every page, from what the queries report (never assumed from the switch alone)."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from dashboard.i18n import t
from queries.metrics.filters import Filters


def weights_note(filters: Filters, weights: str, uncalibrated: Sequence[str] = ()) -> None:
    """Calibration asked and done (naming the waves left as delivered), asked but impossible
    (no margins for the chosen waves), or the weights as delivered (nothing to say: the
    sidebar shows the switch)."""
    if filters.weights != "calibrated":
        return
    if weights != "calibrated":
        st.caption(t("weights.note_none"))
        return
    st.caption(t("weights.note_calibrated"))
    if uncalibrated:
        st.caption(t("weights.note_uncalibrated", waves=", ".join(uncalibrated)))
