"""Overview: what a minister reads in ten seconds."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.components.cards import metric_cards, signed
from dashboard.components.charts import fmt_p, funnel_chart, show, trend_chart
from dashboard.components.page import start_page
from dashboard.components.regionmap import region_map
from dashboard.components.table import as_arrow
from dashboard.components.theme import institution_colour
from dashboard.data import overview
from dashboard.i18n import fmt_number, institution_name, region_name, t
from queries.errors import SenimError
from queries.metrics.overview import INSTITUTION_PREFIX


def render() -> None:
    page = start_page("overview.title", "overview.subtitle", lazy=True, summaries=True)
    try:
        numbers = overview(page.data.version, page.filters, page.source)  # summaries only
    except SenimError as exc:
        st.warning(str(exc))
        return
    if numbers.latest_wave is None:
        st.info(t("filters.no_data"), icon=":material/filter_alt_off:")
        return
    st.caption(t("overview.cards_source", source=t(f"source.{page.source}")))
    # --- issue 12: which weights the numbers use ---
    if page.filters.weights == "calibrated" and numbers.weights != "calibrated":
        st.caption(t("weights.note_none"))
    elif numbers.weights == "calibrated":
        st.caption(t("weights.note_calibrated"))
        if numbers.uncalibrated_waves:
            waves = ", ".join(numbers.uncalibrated_waves)
            st.caption(t("weights.note_uncalibrated", waves=waves))
    # --- end issue 12 ---
    if numbers.comparable_units:  # region-reform: the chosen region spans the 2022 reform
        units = ", ".join(region_name(u) for u in numbers.comparable_units)
        st.caption(t("reform.comparable_note", units=units))
    metric_cards(numbers.cards)

    left, right = st.columns([3, 2], gap="large")
    with left:
        trend = numbers.trend
        by_institution = trend.filter(pl.col("variable").str.starts_with(INSTITUTION_PREFIX))
        by_institution = by_institution.with_columns(
            pl.col("variable").str.strip_prefix(INSTITUTION_PREFIX)
        )
        show(
            trend_chart(
                by_institution,
                series="variable",
                label=institution_name,
                colour=institution_colour,
                y_title=t("charts.trust_axis"),
                title=t("overview.trend_title"),
                reform_break=bool(numbers.comparable_units),  # region-reform
            ),
            "overview_trend",
        )
    with right:
        show(
            region_map(
                numbers.by_region,
                value_title=t("charts.trust_short"),
                title=t("overview.map_title", wave=numbers.latest_wave),
                wave=numbers.latest_wave,  # region-reform: a pre-2022 wave draws the old units
            ),
            "overview_map",
        )

    left, right = st.columns([2, 3], gap="large")
    with left:
        show(funnel_chart(numbers.funnel, title=t("overview.funnel_title")), "overview_funnel")
    with right:
        st.markdown(f"**{t('overview.moved_title')}**")
        moved = numbers.moved
        if moved.is_empty():
            st.info(t("overview.moved_none"))
            return
        # issue 12: only what survives Holm's correction over every region tested is listed
        first = moved.row(0, named=True)
        family = {"tested": first["tested"], "before": first["previous_wave"],
                  "after": first["wave"]}  # fmt: skip
        significant = moved.filter(pl.col("significant"))
        if significant.is_empty():
            st.info(t("overview.moved_no_significant", **family))
        else:
            st.dataframe(as_arrow(_moved_table(significant)), hide_index=True, width="stretch")
        st.caption(t("overview.moved_family", **family))


def _moved_table(moved: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            t("common.region"): [region_name(r) for r in moved.get_column("region")],
            t("overview.moved_now"): [fmt_number(v, 2) for v in moved.get_column("estimate")],
            t("overview.moved_change"): [signed(v, 2) for v in moved.get_column("change")],
            t("overview.moved_p_raw"): [fmt_p(v) for v in moved.get_column("p_value")],
            t("overview.moved_p_adjusted"): [fmt_p(v) for v in moved.get_column("p_adjusted")],
        }
    )
