"""Regions: the map and a sortable table of every region, one region's profile, cross-tabs."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import auth
from dashboard.components.charts import bar_ci, region_map, show, trend_chart
from dashboard.components.page import start_page
from dashboard.components.table import data_table, estimate_table
from dashboard.components.theme import institution_colour
from dashboard.i18n import institution_name, region_name, t
from queries.metrics.overview import composite_by_region
from queries.metrics.trend import metric_trend
from queries.metrics.trust import composite_expr, trust_columns, trust_summary

CROSS_TABS = (
    ("sex", "filters.sex_"),
    ("age_group", "filters.age_"),
    ("settlement", "filters.settlement_"),
)


def _cross_label(prefix: str):
    return lambda v: t(prefix + str(v).replace("-", "_").replace("+", "_plus"))


def render() -> None:
    page = start_page("regions.title", "regions.subtitle")
    user = auth.current_user()
    analyst = auth.has_role(user, "analyst")
    institutions = page.filters.institutions
    latest = page.own.filter(pl.col("wave") == page.latest_wave)
    by_region = composite_by_region(latest, institutions)
    st.caption(t("regions.wave_note", wave=page.latest_wave, source=t(f"source.{page.source}")))

    left, right = st.columns([3, 2], gap="large")
    with left:
        show(
            region_map(
                by_region, value_title=t("charts.trust_short"), title=t("regions.map_title")
            ),
            "regions_map",
        )
    with right:
        ranked = by_region.sort("estimate", descending=True, nulls_last=True)
        data_table(
            estimate_table(ranked, label_column="region", label=region_name),
            key="regions",
            file_name="senim-regions",
            height=420,
            allow_export=analyst,
        )

    st.header(t("regions.profile_title"))
    codes = page.data.regions.get_column("code").to_list()
    code = st.selectbox(t("regions.pick"), codes, format_func=region_name, key="profile_region")
    mine = page.own.filter(pl.col("region") == code)
    rank = ranked.with_row_index("rank", 1).filter(pl.col("region") == code)
    if rank.height and not rank.item(0, "suppressed"):
        st.metric(t("regions.rank"), f"{rank.item(0, 'rank')} / {ranked.height}")
    summary = trust_summary(
        mine.filter(pl.col("wave") == page.latest_wave), institutions=institutions
    ).filter(pl.col("measure") == "mean")
    left, right = st.columns(2, gap="large")
    with left:
        show(
            bar_ci(
                summary,
                category="institution",
                label=institution_name,
                title=t("regions.profile_trust", region=region_name(code)),
                x_title=t("charts.trust_axis"),
            ),
            "regions_profile",
        )
    with right:
        columns = trust_columns(mine, institutions)
        trend = metric_trend(mine, {"composite": composite_expr(columns)})
        show(
            trend_chart(
                trend,
                series="variable",
                label=institution_name,
                colour=institution_colour,
                y_title=t("charts.trust_axis"),
                title=t("regions.profile_trend"),
            ),
            "regions_profile_trend",
        )

    st.header(t("regions.cross_title"))
    st.caption(t("regions.cross_caption", wave=page.latest_wave))
    for column, (by, prefix) in zip(st.columns(3), CROSS_TABS, strict=True):
        with column:
            frame = composite_by_group(latest, by, institutions)
            show(
                bar_ci(
                    frame,
                    category=by,
                    label=_cross_label(prefix),
                    height=260,
                    title=t(f"regions.cross_{by}"),
                    x_title=t("charts.trust_short"),
                ),
                f"regions_cross_{by}",
            )
            if analyst:
                data_table(
                    estimate_table(frame, label_column=by, label=_cross_label(prefix)),
                    key=f"cross_{by}",
                    file_name=f"senim-trust-by-{by}",
                )


def composite_by_group(responses: pl.DataFrame, by: str, institutions) -> pl.DataFrame:
    """Composite trust per value of ``by`` (respondents with no value left out)."""
    from queries.metrics import estimate

    variables = {"composite": composite_expr(trust_columns(responses, institutions))}
    return estimate(responses, variables, by=by).filter(pl.col(by).is_not_null())
