"""What every analysis page starts with: the data, the sidebar filters, the title, the filtered
responses; so no page repeats it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl
import streamlit as st

from dashboard.components.filters import describe, primary_source, sidebar_filters
from dashboard.data import dataset, regions_wave, summary_catalog
from dashboard.i18n import t
from queries.errors import SenimError
from queries.metrics.dataset import Dataset
from queries.metrics.filters import Filters, apply_filters
from queries.summaries.read import Catalog


@dataclass(frozen=True)
class PageData:
    data: Dataset | Catalog  # a Catalog on pages that read only summaries
    filters: Filters
    source: str  # the survey source whose waves are compared

    # Filtering a million rows is only paid by the pages that use the rows (the Overview reads
    # cached numbers instead), and only once per run.
    @cached_property
    def responses(self) -> pl.DataFrame:
        """The filtered responses, with ``in_domain``."""
        return apply_filters(self.data.responses, self.filters)

    @cached_property
    def own(self) -> pl.DataFrame:
        """The filtered responses of the compared source only."""
        return self.responses.filter(pl.col("source") == self.source)

    @cached_property
    def latest_wave(self) -> str | None:
        own = self.own
        return own.sort("period_start").get_column("wave").last() if own.height else None


def start_page(
    title_key: str, caption_key: str | None = None, *, lazy: bool = False, summaries: bool = False
) -> PageData:
    """Load data, draw filters and title; unless ``lazy``, apply the filters now (stopping with a
    notice when nothing is left). ``summaries``: a page that reads only the summary store gets
    the filters' options from it and never loads the survey rows (``page.data`` is then a
    ``Catalog``: no ``responses``)."""
    data = summary_catalog() if summaries else dataset()
    filters = sidebar_filters(data)
    st.title(t(title_key))
    if caption_key:
        st.caption(t(caption_key))
    st.caption(f":material/filter_alt: {describe(filters)}")
    page = PageData(data, filters, primary_source(data, filters))
    if not lazy:
        try:
            # issue 11: a summaries page asks the store whether the filters keep any response
            empty = (
                regions_wave(data.version, filters, None) is None
                if summaries
                else page.responses.is_empty()
            )
        except SenimError as exc:
            st.warning(str(exc))
            st.stop()
        if empty:
            st.info(t("filters.no_data"), icon=":material/filter_alt_off:")
            st.stop()
    return page
