"""Feedback loop: what the register shows beside what citizens say."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.components.charts import bar_ci, funnel_chart, histogram, show
from dashboard.components.page import start_page
from dashboard.components.table import data_table
from dashboard.components.weights_note import weights_note
from dashboard.data import from_register, page_numbers, regions_wave
from dashboard.i18n import fmt_date, fmt_number, has_key, region_name, t
from queries.metrics.feedback import feedback_numbers
from queries.metrics.register import register_numbers
from queries.summaries import pages


def render() -> None:
    # issue 11: the survey side from the summary store, the register from its own frames
    page = start_page("feedback.title", "feedback.subtitle", summaries=True)
    register = from_register(register_numbers, page.data.version, page.filters)
    if register is None:
        st.info(t("feedback.no_register"))
        return
    rate = register.answer_rate_30
    times = register.times

    cols = st.columns(4)
    cols[0].metric(t("feedback.received"), fmt_number(register.received), border=True)
    cols[1].metric(
        t("feedback.answer_rate_30"),
        f"{fmt_number((rate.item(0, 'rate') or 0) * 100)}%",
        help=t("feedback.answer_rate_help", n=fmt_number(rate.item(0, "n"))),
        border=True,
    )
    cols[2].metric(
        t("feedback.median_days"),
        fmt_number(times.item(0, "days_to_answer_median")),
        help=t("feedback.p90_days", days=fmt_number(times.item(0, "days_to_answer_p90"))),
        border=True,
    )
    cols[3].metric(
        t("feedback.backlog_90"),
        fmt_number(register.backlog.item(0, "open_over_90_days")),
        help=t("feedback.backlog_help", n=fmt_number(register.backlog.item(0, "open"))),
        border=True,
    )
    st.caption(t("feedback.as_of", date=fmt_date(register.as_of)))
    f = page.filters
    if f.sexes or f.age_groups or f.settlements:
        st.caption(f":material/info: {t('feedback.register_not_split')}")

    left, right = st.columns(2, gap="large")
    with left:
        show(funnel_chart(register.funnel, title=t("feedback.funnel_title")), "fb_funnel")
    with right:
        show(
            histogram(
                register.days_to_answer,
                title=t("feedback.days_title"),
                x_title=t("feedback.days_axis"),
                cutoff=30,
            ),
            "fb_days",
        )

    st.subheader(t("feedback.survey_side"))
    wave = regions_wave(page.data.version, page.filters, page.source)  # the latest one
    if wave is None:  # no response of the compared source under the filters
        st.info(t("filters.no_data"), icon=":material/filter_alt_off:")
        return
    # issue 12: the weights switch (the wave raked to its year's margins, or as delivered)
    made = page_numbers(pages.feedback_numbers, feedback_numbers, page.data.version,
                        page.filters, page.source, wave)  # fmt: skip
    weights_note(page.filters, made.weights, made.uncalibrated_waves)
    survey = made.estimates
    left, right = st.columns(2, gap="large")
    with left:
        scores = survey.filter(pl.col("variable") != "got_response")
        show(
            bar_ci(
                scores,
                category="variable",
                label=lambda v: t(f"feedback.var_{v}"),
                title=t("feedback.survey_scores", wave=wave),
                x_title=t("charts.score_axis"),
                height=240,
            ),
            "fb_survey_scores",
        )
    with right:
        shares = survey.filter(pl.col("variable") == "got_response")
        show(
            bar_ci(
                shares,
                category="variable",
                label=lambda v: t(f"feedback.var_{v}"),
                title=t("feedback.survey_shares"),
                x_title=t("charts.share_axis"),
                percent=True,
                height=240,
            ),
            "fb_survey_shares",
        )
        st.caption(
            t("feedback.compare_note", register=f"{fmt_number((rate.item(0, 'rate') or 0) * 100)}%")
        )

    st.subheader(t("feedback.backlog_title"))
    left, right = st.columns(2, gap="large")
    with left:
        _backlog_table(register.backlog_by_region, "region", t("common.region"), region_name)
    with right:
        _backlog_table(register.backlog_by_topic, "topic", t("feedback.topic"), topic_name)


def topic_name(topic: str) -> str:
    """A register topic in the session's language; topics outside the catalogue as written."""
    key = f"feedback.topic_{topic}"
    return t(key) if has_key(key) else topic.replace("_", " ").capitalize()


def _backlog_table(rows: pl.DataFrame, by: str, title: str, label) -> None:
    """Unanswered proposals per ``by`` value, largest backlog first, with downloads."""
    table = pl.DataFrame(
        {
            title: [
                label(v) if v is not None else t("common.national") for v in rows.get_column(by)
            ],
            t("feedback.open"): rows.get_column("open"),
            t("feedback.open_30"): rows.get_column("open_over_30_days"),
            t("feedback.open_90"): rows.get_column("open_over_90_days"),
        }
    )
    data_table(table, key=f"fb_backlog_{by}", file_name=f"senim-backlog-by-{by}", height=300)
