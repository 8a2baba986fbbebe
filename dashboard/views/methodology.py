"""Methodology: every indicator's definition, the statistics behind the numbers, sources."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.data import database_unavailable, engine
from dashboard.i18n import fmt_date, t
from queries.errors import DatabaseUnavailable
from queries.ingest.uploads import list_uploads

SECTIONS = (
    "indicators",
    "trust",
    "participation",
    "feedback_survey",
    "register",
    "ngo",
    "ngo_robust",
    "weights",
    "calibration",  # the weights switch: raking to population margins (issue 12)
    "intervals",  # replaces "ci" (± 1.96 SE): t and logit intervals as R (issue 12)
    "small_sample",
    "change",
    "multiplicity",
    "ranks",
    "drivers",
    "sources",
)


def render() -> None:
    st.title(t("methodology.title"))
    try:
        loaded = list_uploads(engine()).filter(pl.col("status") == "loaded")
    except DatabaseUnavailable:
        database_unavailable()
        return
    if loaded.height:
        when = loaded.get_column("uploaded_at").max()
        st.caption(t("methodology.last_update", date=f"{fmt_date(when)} {when:%H:%M} UTC"))
    for section in SECTIONS:
        st.subheader(t(f"methodology.{section}_title"))
        st.markdown(t(f"methodology.{section}_body"))
