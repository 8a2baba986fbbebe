"""What drives trust: the design-based regression of trust on how people experience the state,
drawn as a coefficient plot with a plain-language reading (all numbers from queries)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import auth
from dashboard.components.cards import signed
from dashboard.components.charts import coefficient_plot, fmt_p, show
from dashboard.components.page import start_page
from dashboard.components.table import data_table
from dashboard.components.weights_note import weights_note
from dashboard.data import drivers, regions_wave
from dashboard.i18n import fmt_number, language, t, translate
from queries.errors import SenimError
from queries.metrics.drivers import OUTCOMES, Drivers

OUTCOME_KEY = "drivers_outcome"


def term_label(key: str) -> str:
    return t(f"drivers.term_{key}")


def render() -> None:
    # issue 11: the options from the summary store, the model from just its wave's rows
    page = start_page("drivers.title", "drivers.subtitle", summaries=True)
    lang = language()  # fixed now: Streamlit may format the options outside the run
    if st.session_state.get(OUTCOME_KEY) not in OUTCOMES:
        st.session_state[OUTCOME_KEY] = OUTCOMES[0]
    outcome = st.segmented_control(
        t("drivers.outcome"),
        OUTCOMES,
        format_func=lambda o: translate(f"drivers.outcome_{o}", lang),
        key=OUTCOME_KEY,
        required=True,
    )
    try:
        model = drivers(page.data.version, page.filters, page.source, outcome)
        wave = regions_wave(page.data.version, page.filters, page.source)
    except SenimError as exc:
        st.warning(str(exc))
        return
    st.caption(t("drivers.sample", wave=wave, source=t(f"source.{page.source}"), n=model.n))
    weights_note(page.filters, model.weights, model.uncalibrated_waves)  # issue 12
    if model.weights == "calibrated":
        st.caption(t("drivers.weights_calibrated"))
    if not model.fitted:
        st.info(t(f"drivers.no_model_{model.reason}", n=model.n, min_n=model.min_n))
        return
    if model.dropped:
        dropped = ", ".join(t(f"drivers.predictor_{name}") for name in model.dropped)
        st.caption(t("drivers.dropped", predictors=dropped))
    left, right = st.columns([3, 2], gap="large")
    with left:
        show(
            coefficient_plot(
                model.terms,
                label=term_label,
                title=t("drivers.plot_title", outcome=t(f"drivers.outcome_{outcome}")),
                x_title=t("drivers.plot_axis"),
            ),
            "drivers_plot",
        )
    with right:
        reading(model)
    data_table(
        coefficient_table(model),
        key="drivers",
        file_name=f"senim-drivers-{outcome}",
        allow_export=auth.has_role(auth.current_user(), "analyst"),
    )
    st.warning(t("drivers.not_cause"), icon=":material/warning:")


def reading(model: Drivers) -> None:
    """One plain sentence per driver that survives Holm's correction; the rest named."""
    st.markdown(f"**{t('drivers.reading_title')}**")
    st.markdown(t("drivers.reading_intro", outcome=t(f"drivers.outcome_{model.outcome}")))
    significant = model.terms.filter(pl.col("significant"))
    for row in significant.iter_rows(named=True):
        params = {
            "term": term_label(row["key"]),
            "effect": signed(row["estimate"], 2),
            "low": fmt_number(row["ci_low"], 2),
            "high": fmt_number(row["ci_high"], 2),
        }
        if row["kind"] == "per_point":
            st.markdown("- " + t("drivers.read_per_point", **params))
        else:
            reference = t(f"drivers.ref_{row['reference']}")
            st.markdown("- " + t("drivers.read_versus", reference=reference, **params))
    others = model.terms.filter(~pl.col("significant")).get_column("key").to_list()
    if not significant.height:
        st.markdown(t("drivers.read_none"))
    if others:
        st.caption(t("drivers.read_others", terms=", ".join(term_label(k) for k in others)))
    st.caption(t("drivers.holm_note", tested=model.terms.height, df=model.df))


def coefficient_table(model: Drivers) -> pl.DataFrame:
    terms = model.terms
    return pl.DataFrame(
        {
            t("drivers.col_term"): [term_label(k) for k in terms.get_column("key")],
            t("drivers.col_estimate"): terms.get_column("estimate").round(3),
            t("common.col_ci_low"): terms.get_column("ci_low").round(3),
            t("common.col_ci_high"): terms.get_column("ci_high").round(3),
            t("drivers.col_p"): [fmt_p(p) for p in terms.get_column("p")],
            t("drivers.col_p_holm"): [fmt_p(p) for p in terms.get_column("p_adjusted")],
        }
    )
