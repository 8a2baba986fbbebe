"""Regions: the map and a sortable table of every region, one region's profile, cross-tabs."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard import auth
from dashboard.components.cards import metric_cards
from dashboard.components.charts import bar_ci, show, trend_chart
from dashboard.components.filters import SETTLEMENTS, SEXES
from dashboard.components.page import PageData, start_page
from dashboard.components.regionmap import region_map
from dashboard.components.table import data_table, estimate_table
from dashboard.components.theme import institution_colour
from dashboard.components.weights_note import weights_note
from dashboard.data import overview, regions_groups, regions_standing, regions_wave
from dashboard.i18n import fmt_number, institution_name, language, region_name, t
from queries.contract.vocabulary import AGE_GROUPS
from queries.errors import SenimError
from queries.metrics.overview import INSTITUTION_PREFIX
from queries.metrics.trust import COMPOSITE

PROFILE_KEY = "profile_region"
# against the national figure (Okabe-Ito, as the rest of the app): above, not distinguishable, below
GROUP_COLOURS = {"above": "#0072B2", "same": "#999999", "below": "#D55E00"}
CROSS_TABS = (  # column, label prefix, order on the chart (top first)
    ("sex", "filters.sex_", list(SEXES)),
    ("age_group", "filters.age_", AGE_GROUPS),
    ("settlement", "filters.settlement_", list(SETTLEMENTS)),
)


def _cross_label(prefix: str):
    return lambda v: t(prefix + str(v).replace("-", "_").replace("+", "_plus"))


def render() -> None:
    # issue 11: every number from the summary store (dashboard.data), never the survey rows
    page = start_page("regions.title", "regions.subtitle", lazy=True, summaries=True)
    wave = shown_wave(page)
    user = auth.current_user()
    analyst = auth.has_role(user, "analyst")
    # issue 12: the weights switch (the wave raked to its year's margins, or as delivered)
    standing = regions_standing(page.data.version, page.filters, page.source, wave)
    by_region = standing.regions
    st.caption(t("regions.wave_note", wave=wave, source=t(f"source.{page.source}")))
    weights_note(page.filters, standing.weights, standing.uncalibrated_waves)

    left, right = st.columns(2, gap="large")
    with left:
        show(
            region_map(
                by_region,
                value_title=t("charts.trust_short"),
                title=t("regions.map_title"),
                wave=wave,  # region-reform: a pre-2022 wave draws the old units
            ),
            "regions_map",
        )
    with right:
        show(
            bar_ci(
                by_region,
                category="region",
                label=region_name,
                title=t("regions.ranking_title"),
                x_title=t("charts.trust_short"),
                colours=GROUP_COLOURS,
            ),
            "regions_ranking",
        )
        st.caption(t("regions.group_colours"))
    ranked = by_region  # in rank order, regions with too few responses last
    if standing.tested:  # else every region has too few responses: nothing to rank or test
        st.caption(
            t(
                "regions.standing_caption",
                national=fmt_number(standing.national, 2),
                tested=standing.tested,
                draws=fmt_number(standing.draws),
            )
        )
    data_table(
        standing_table(ranked),
        key="regions",
        file_name="senim-regions",
        height=420,
        allow_export=analyst,
    )

    st.header(t("regions.profile_title"))
    region_profile(page, ranked)

    st.header(t("regions.cross_title"))
    st.caption(t("regions.cross_caption", wave=wave))
    for column, (by, prefix, order) in zip(st.columns(3), CROSS_TABS, strict=True):
        with column:
            frame = regions_groups(page.data.version, page.filters, page.source, wave, by).estimates
            show(
                bar_ci(
                    frame,
                    category=by,
                    label=_cross_label(prefix),
                    order=order,
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


def shown_wave(page: PageData) -> str:
    """The latest wave of the compared source the filters keep; stops the page with the
    filters' notice when there is none (or the filters name an unknown wave)."""
    try:
        wave = regions_wave(page.data.version, page.filters, page.source)
    except SenimError as exc:
        st.warning(str(exc))
        st.stop()
    if wave is None:
        st.info(t("filters.no_data"), icon=":material/filter_alt_off:")
        st.stop()
    return wave


def region_profile(page: PageData, ranked: pl.DataFrame) -> None:
    """One region's headline cards (the Overview's, for that region), its rank, trust in each
    institution at the latest wave and composite trust over the waves."""
    chosen = page.filters.regions or tuple(page.data.regions.get_column("code"))
    # Start on a region that has numbers: the filtered one, else the best-measured one.
    shown = ranked.filter(~pl.col("suppressed") & pl.col("region").is_in(list(chosen)))
    first = shown.item(0, "region") if shown.height else chosen[0]
    if st.session_state.get(PROFILE_KEY) not in chosen:  # first visit, or filtered away
        st.session_state[PROFILE_KEY] = first
    lang = language()  # fixed now: Streamlit may format the value outside the run
    code = st.selectbox(
        t("regions.pick"), chosen, format_func=lambda c: region_name(c, lang), key=PROFILE_KEY
    )
    # the cards and the trend only: the profile draws no map and no regions moved
    region = replace(page.filters, regions=(code,))
    numbers = overview(page.data.version, region, page.source, areas=False)
    row = ranked.filter(pl.col("region") == code)
    if row.height and row.item(0, "rank") is not None:  # never a bare rank: its interval too
        st.caption(
            t(
                "regions.rank_interval",
                rank=row.item(0, "rank"),
                low=row.item(0, "rank_low"),
                high=row.item(0, "rank_high"),
                ranked=ranked.get_column("rank").is_not_null().sum(),
                group=t(f"regions.group_{row.item(0, 'group') or 'none'}"),  # none: untested
            )
        )
    if numbers.comparable_units:  # region-reform: the profile spans the 2022 reform
        units = ", ".join(region_name(u) for u in numbers.comparable_units)
        st.caption(t("reform.comparable_note", units=units))
    metric_cards(numbers.cards)
    trend = numbers.trend
    if trend.is_empty():
        return
    latest = trend.filter(
        (pl.col("wave") == numbers.latest_wave)
        & pl.col("variable").str.starts_with(INSTITUTION_PREFIX)
    ).with_columns(pl.col("variable").str.strip_prefix(INSTITUTION_PREFIX))
    left, right = st.columns(2, gap="large")
    with left:
        show(
            bar_ci(
                latest,
                category="variable",
                label=institution_name,
                title=t("regions.profile_trust", region=region_name(code)),
                x_title=t("charts.trust_axis"),
            ),
            "regions_profile",
        )
    with right:
        show(
            trend_chart(
                trend.filter(pl.col("variable") == "composite_trust"),
                series="variable",
                label=lambda _: institution_name(COMPOSITE),
                colour=lambda _: institution_colour(COMPOSITE),
                y_title=t("charts.trust_axis"),
                title=t("regions.profile_trend"),
                reform_break=bool(numbers.comparable_units),  # region-reform
            ),
            "regions_profile_trend",
        )


def standing_table(ranked: pl.DataFrame) -> pl.DataFrame:
    """The estimates table plus each region's rank interval, group, raw and Holm p."""
    shown = pl.col("rank").is_not_null()
    extra = ranked.select(
        pl.when(shown)
        .then(pl.format("{} ({}–{})", "rank", "rank_low", "rank_high"))
        .alias(t("regions.col_rank")),
        pl.col("p_value").round(4).alias(t("regions.col_p_raw")),
        pl.col("p_adjusted").round(4).alias(t("regions.col_p_holm")),
    )
    # translated here, in the script's thread (polars UDFs run where the language is unknown);
    # a null group: too few responses to test
    groups = [t(f"regions.group_{g or 'none'}") for g in ranked.get_column("group")]
    extra = extra.insert_column(1, pl.Series(t("regions.col_group"), groups, dtype=pl.String))
    table = estimate_table(ranked, label_column="region", label=region_name)
    return pl.concat([table.select(t("common.col_name")), extra,
                      table.drop(t("common.col_name"))], how="horizontal")  # fmt: skip
