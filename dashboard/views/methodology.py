"""Methodology: every indicator's definition, the statistics behind the numbers, sources."""

from __future__ import annotations

import streamlit as st

from dashboard.data import engine
from dashboard.i18n import fmt_date, t
from queries.uploads import list_uploads

SECTIONS = (
    "indicators",
    "trust",
    "participation",
    "feedback_survey",
    "register",
    "ngo",
    "weights",
    "ci",
    "small_sample",
    "change",
    "sources",
)


def render() -> None:
    st.title(t("methodology.title"))
    loaded = list_uploads(engine()).filter(status=("loaded"))
    if loaded.height:
        st.caption(t("methodology.last_update", date=fmt_date(loaded.item(0, "uploaded_at"))))
    for section in SECTIONS:
        st.subheader(t(f"methodology.{section}_title"))
        st.markdown(t(f"methodology.{section}_body"))
