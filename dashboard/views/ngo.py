"""NGO activity: density and grants by region and year; NGO density beside trust."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.components.charts import bar_values, fmt_p, scatter_fit, show
from dashboard.components.page import start_page
from dashboard.components.table import as_arrow, data_table
from dashboard.components.theme import MONEY_COLOUR
from dashboard.components.weights_note import weights_note
from dashboard.data import from_register, ngo_relation, page_numbers
from dashboard.i18n import fmt_number, region_name, t
from queries.metrics.ngo import Relation, ngo_year, trust_by_region
from queries.summaries import pages


def render() -> None:
    # issue 11: trust from the summary store, the NGO counts from their own frame
    page = start_page("ngo.title", "ngo.subtitle", summaries=True)
    latest = from_register(ngo_year, page.data.version, page.filters)
    if latest is None:
        st.info(t("ngo.no_data"))
        return
    year = st.select_slider(t("ngo.year"), latest.years, value=latest.year, key="ngo_year")
    this_year = from_register(ngo_year, page.data.version, page.filters, year).density

    left, right = st.columns(2, gap="large")
    with left:
        show(
            bar_values(
                this_year,
                category="region",
                value="active_per_10k",
                label=region_name,
                title=t("ngo.density_title", year=year),
                x_title=t("ngo.active_per_10k"),
            ),
            "ngo_density",
        )
    with right:
        show(
            bar_values(
                this_year,
                category="region",
                value="grants_kzt_per_capita",
                label=region_name,
                title=t("ngo.grants_title", year=year),
                x_title=t("ngo.grants_per_capita"),
                decimals=0,
                colour=MONEY_COLOUR,
            ),
            "ngo_grants",
        )
    st.subheader(t("ngo.table_title", year=year))
    data_table(
        pl.DataFrame(
            {
                t("common.region"): [region_name(r) for r in this_year.get_column("region")],
                t("ngo.registered_per_10k"): this_year.get_column("registered_per_10k").round(1),
                t("ngo.active_per_10k"): this_year.get_column("active_per_10k").round(1),
                t("ngo.grants_per_capita"): this_year.get_column("grants_kzt_per_capita").round(0),
            }
        ),
        key="ngo_table",
        file_name=f"senim-ngo-{year}",
        height=420,
    )

    st.subheader(t("ngo.relation_title"))
    # issue 12: the weights switch (each wave of the year raked to its margins, or as delivered)
    made = page_numbers(pages.trust_by_region, trust_by_region, page.data.version, page.filters,
                        page.source, year)  # fmt: skip
    relation = None
    if made.estimates.height:
        weights_note(page.filters, made.weights, made.uncalibrated_waves)
        relation = ngo_relation(page.data.version, page.filters, page.source, year)
    if relation is None:
        st.info(t("ngo.relation_none"))
        return
    show(
        scatter_fit(
            relation.points,
            title=t("ngo.scatter_title", year=year),
            x_title=t("ngo.active_per_10k"),
            y_title=t("charts.trust_short"),
        ),
        "ngo_scatter",
    )
    st.caption(
        t(
            "ngo.relation_caption",
            slope=fmt_number(relation.slope, 3),
            low=fmt_number(relation.slope_ci[0], 3),
            high=fmt_number(relation.slope_ci[1], 3),
            r2=fmt_number(relation.r_squared, 2),
            p=fmt_number(relation.p_value, 3),
            n=relation.n_regions,
        )
    )
    robustness(relation)
    st.warning(t("ngo.not_cause"), icon=":material/warning:")


def robustness(relation: Relation) -> None:
    """The line's other readings (OLS, Spearman, leave-one-region-out) and the verdict."""
    check = relation.robustness
    if check is None:
        return
    st.caption(
        t(
            "ngo.robust_caption",
            ols=fmt_number(check.ols_slope, 3),
            ols_p=fmt_p(check.ols_p),
            rho=fmt_number(check.spearman_rho, 2),
            rho_p=fmt_p(check.spearman_p),
            slope_low=fmt_number(check.loo_slope_range[0], 3),
            slope_high=fmt_number(check.loo_slope_range[1], 3),
            p_low=fmt_p(check.loo_p_range[0]),
            p_high=fmt_p(check.loo_p_range[1]),
        )
    )
    if check.fragile:
        st.warning(
            t("ngo.fragile", flips=check.flips, n=relation.n_regions), icon=":material/warning:"
        )
    else:
        st.caption(t("ngo.robust_stable", n=relation.n_regions))
    with st.expander(t("ngo.loo_title")):
        loo = check.loo
        st.dataframe(
            as_arrow(
                pl.DataFrame(
                    {
                        t("ngo.loo_left_out"): [region_name(r) for r in loo.get_column("left_out")],
                        t("ngo.loo_slope"): [fmt_number(v, 3) for v in loo.get_column("slope")],
                        t("ngo.loo_p"): [fmt_p(v) for v in loo.get_column("p_value")],
                        t("ngo.loo_significant"): [
                            t("cards.significant") if v else t("cards.not_significant")
                            for v in loo.get_column("significant")
                        ],
                    }
                )
            ),
            hide_index=True,
            width="stretch",
            key="ngo_loo_table",
        )
