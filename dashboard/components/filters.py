"""The sidebar filters, bound to the URL so a copied link opens the same view. Values that come
in through the URL are checked against what the data holds; anything else is dropped with a
notice (never an error page)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.i18n import institution_name, language, region_name, t, translate
from queries import settings
from queries.contract.vocabulary import AGE_GROUPS
from queries.metrics.dataset import Dataset
from queries.metrics.filters import WEIGHTS, Filters

SEXES = ("female", "male")
SETTLEMENTS = ("urban", "rural")
MULTI_KEYS = ("source", "region", "institution", "sex", "age", "settlement")
SINGLE_KEYS = ("wave_from", "wave_to", "weights")  # weights: issue 12's switch
MAX_PARAM_LENGTH = 64


def _options(data: Dataset) -> dict[str, list[str]]:
    # the same for every run of a data version: worked out once (a polars pass per run was
    # ~3% of the server's time under load, issue 11); the lists are shared, never changed.
    # The database's URL too: two databases (tests) can be at the same version.
    now = (settings.database_url(), data.version)
    key = (now, type(data).__name__)
    found = _OPTIONS.get(key)
    if found is None:
        for old in list(_OPTIONS):  # an earlier data version's are not asked again
            if old[0] != now:
                _OPTIONS.pop(old, None)
        found = _OPTIONS[key] = _options_of(data)
    return found


_OPTIONS: dict[tuple[tuple[str, str], str], dict[str, list[str]]] = {}


def _options_of(data: Dataset) -> dict[str, list[str]]:
    waves = data.waves.unique("wave", keep="first", maintain_order=True).get_column("wave")
    return {
        "source": list(data.sources),
        "region": data.regions.get_column("code").to_list(),
        "institution": list(data.institutions),
        "sex": list(SEXES),
        "age": [g for g in AGE_GROUPS if g != "under_18"],
        "settlement": list(SETTLEMENTS),
        "wave_from": waves.to_list(),
        "wave_to": waves.to_list(),
        "weights": list(WEIGHTS),
    }


def seed_from_url(options: dict[str, list[str]]) -> list[str]:
    """Once per browser session: fill the filter widgets from the URL, keeping only values the
    data knows. URL values are codes (KZ-75, kurultai, 2025-Q3), the same in every language.
    Returns the names of the parameters that had to be dropped or trimmed."""
    if st.session_state.get("_filters_seeded"):
        return []
    st.session_state["_filters_seeded"] = True
    fixed: list[str] = []
    for key in (*MULTI_KEYS, *SINGLE_KEYS):
        given = st.query_params.get_all(key)
        if not given:
            continue
        valid = list(
            dict.fromkeys(v for v in given if len(v) <= MAX_PARAM_LENGTH and v in options[key])
        )
        if key in SINGLE_KEYS:
            valid = valid[:1]
        if valid != given:
            fixed.append(key)
        if valid:
            st.session_state[f"f_{key}"] = valid if key in MULTI_KEYS else valid[0]
    return fixed


def keep_selection() -> None:
    """Keep the filters when another page opens. Streamlit forgets a widget's value after a run
    that did not draw it (a page switch, the Methodology page); writing each value back through
    the session state API makes it the user's, which Streamlit keeps. Call on every run."""
    for key in (*MULTI_KEYS, *SINGLE_KEYS):
        name = f"f_{key}"
        if name in st.session_state:
            st.session_state[name] = st.session_state[name]


def write_to_url(values: dict[str, list[str] | str | None]) -> None:
    """Mirror the selection in the URL so a copied link opens the same view."""
    for key, value in values.items():
        wanted = [value] if isinstance(value, str) else list(value or [])
        if st.query_params.get_all(key) != wanted:
            if wanted:
                st.query_params[key] = wanted
            else:
                st.query_params.pop(key, None)


def _label(key: str):
    """The option label function of a filter, in the session's language fixed now: Streamlit may
    call it outside the script run (serialising a widget's value), where no session is known."""
    lang = language()
    return {
        "source": lambda v: translate(f"source.{v}", lang),
        "region": lambda v: region_name(v, lang),
        "institution": lambda v: institution_name(v, lang),
        "sex": lambda v: translate(f"filters.sex_{v}", lang),
        "age": lambda v: translate(
            f"filters.age_{v.replace('-', '_').replace('+', '_plus')}", lang
        ),
        "settlement": lambda v: translate(f"filters.settlement_{v}", lang),
        "weights": lambda v: translate(f"weights.{v}", lang),  # issue 12
    }[key]


def sidebar_filters(data: Dataset) -> Filters:
    """Draw the filters in the sidebar and return what is selected."""
    options = _options(data)
    fixed = seed_from_url(options)
    if fixed:
        st.warning(t("filters.invalid_params", params=", ".join(fixed)), icon=":material/info:")
    with st.sidebar:
        st.subheader(t("filters.title"))
        values = {}
        for key in MULTI_KEYS:
            values[key] = st.multiselect(
                t(f"filters.{key}"),
                options[key],
                format_func=_label(key),
                key=f"f_{key}",
                placeholder=t("filters.all"),
            )
        waves = options["wave_from"]
        wave_from = st.selectbox(
            t("filters.wave_from"),
            waves,
            index=None,
            key="f_wave_from",
            placeholder=t("filters.first"),
        )
        wave_to = st.selectbox(
            t("filters.wave_to"),
            waves,
            index=None,
            key="f_wave_to",
            placeholder=t("filters.last"),
        )
        # --- issue 12: the weights switch (the default, calibrated, stays out of the URL) ---
        weights = st.radio(
            t("weights.label"),
            list(WEIGHTS),
            key="f_weights",
            format_func=_label("weights"),
            help=t("weights.help"),
        )
        st.caption(t("weights.applies"))
    if wave_from and wave_to and waves.index(wave_from) > waves.index(wave_to):
        st.warning(t("filters.wave_order", first=wave_from, last=wave_to), icon=":material/info:")
    chosen_weights = None if weights == WEIGHTS[0] else weights
    write_to_url({**values, "wave_from": wave_from, "wave_to": wave_to, "weights": chosen_weights})
    return Filters(
        sources=tuple(values["source"]),
        wave_from=wave_from,
        wave_to=wave_to,
        regions=tuple(values["region"]),
        institutions=tuple(values["institution"]),
        sexes=tuple(values["sex"]),
        age_groups=tuple(values["age"]),
        settlements=tuple(values["settlement"]),
        weights=weights or WEIGHTS[0],
    )


def primary_source(data: Dataset, filters: Filters) -> str:
    """The one survey source whose waves the cards and trends compare (waves of different
    sources are different samples): the first chosen, else Public Trust Council if present."""
    sources = filters.sources or data.sources
    if not filters.sources and "public_trust_council" in sources:
        return "public_trust_council"
    return sources[0] if sources else "public_trust_council"


def describe(filters: Filters) -> str:
    """A one-line summary of the active filters (shown under page titles)."""
    parts = []
    if filters.regions:
        parts.append(
            ", ".join(region_name(r) for r in filters.regions[:3])
            + ("…" if len(filters.regions) > 3 else "")
        )
    if filters.wave_from or filters.wave_to:
        parts.append(f"{filters.wave_from or '…'} – {filters.wave_to or '…'}")
    for key, chosen in (
        ("sex", filters.sexes),
        ("age", filters.age_groups),
        ("settlement", filters.settlements),
    ):
        if chosen:
            parts.append(", ".join(_label(key)(v) for v in chosen))
    if filters.weights != "calibrated":  # issue 12
        parts.append(t("weights.delivered_short"))
    return " · ".join(parts) if parts else t("filters.none_active")


def empty_notice(frame: pl.DataFrame) -> bool:
    """Show a notice and return True when the filters leave no responses."""
    if frame.is_empty():
        st.info(t("filters.no_data"), icon=":material/filter_alt_off:")
        return True
    return False
