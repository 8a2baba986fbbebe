"""What every analysis page starts with: the data, the sidebar filters, the title, the filtered
responses; so no page repeats it."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import streamlit as st

from dashboard.components.filters import describe, primary_source, sidebar_filters
from dashboard.data import dataset
from dashboard.i18n import t
from queries.dataset import Dataset
from queries.errors import SenimError
from queries.filters import Filters, apply_filters


@dataclass(frozen=True)
class PageData:
    data: Dataset
    filters: Filters
    responses: pl.DataFrame  # filtered, with ``in_domain``
    source: str  # the survey source whose waves are compared

    @property
    def own(self) -> pl.DataFrame:
        """The filtered responses of the compared source only."""
        return self.responses.filter(pl.col("source") == self.source)

    @property
    def latest_wave(self) -> str | None:
        own = self.own
        return own.sort("period_start").get_column("wave").last() if own.height else None

    def region_filter(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Register or NGO rows of the chosen regions (all when none chosen)."""
        if not self.filters.regions:
            return frame
        return frame.filter(pl.col("region").is_in(list(self.filters.regions)))


def start_page(title_key: str, caption_key: str | None = None) -> PageData:
    """Load data, draw filters and title, and apply the filters (stops on an empty result)."""
    data = dataset()
    filters = sidebar_filters(data)
    st.title(t(title_key))
    if caption_key:
        st.caption(t(caption_key))
    st.caption(f":material/filter_alt: {describe(filters)}")
    try:
        responses = apply_filters(data.responses, filters)
    except SenimError as exc:
        st.warning(str(exc))
        st.stop()
    page = PageData(data, filters, responses, primary_source(data, filters))
    if page.own.is_empty() and page.responses.is_empty():
        st.info(t("filters.no_data"), icon=":material/filter_alt_off:")
        st.stop()
    return page
