"""The dashboard's only way to the data: one engine per URL, the dataset cached per data version
(a finished upload changes the version, so the next run loads fresh data), and a calm
"database unavailable, retrying" screen that recovers by itself."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import polars as pl
import streamlit as st

from dashboard.i18n import t
from queries import settings
from queries.db import Engine, data_version, engine_for, init_db
from queries.errors import DatabaseUnavailable
from queries.metrics.dataset import Dataset, load_dataset
from queries.metrics.drivers import Drivers, drivers_numbers  # Drivers page (issue 11)
from queries.metrics.filters import Filters, register_cut, strata_cut
from queries.metrics.inference import Standing, weighted_by_group, weighted_standing
from queries.metrics.ngo import Relation, ngo_trust_relation, ngo_year, trust_by_region
from queries.metrics.overview import OverviewNumbers, overview_numbers
from queries.metrics.page_weights import WeightedEstimates
from queries.summaries import pages
from queries.summaries.memory import (
    Snapshot,
    load_snapshot,
    overview_from_summaries,
    warm_snapshot,
)
from queries.summaries.pages import Frames  # Feedback and NGO pages (issue 11)
from queries.summaries.read import Catalog, catalog, register_frames
from queries.summaries.rows import WaveAnswers, drivers_from_store, wave_answers  # Drivers
from queries.summaries.standing import (  # the Regions page (issue 11)
    groups_from_summaries,
    latest_wave,
    latest_wave_of_rows,
    standing_from_summaries,
)

RETRY_SECONDS = 5
# A computation kept per data version and arguments, a Filters keyed by its repr (every field,
# in order): Streamlit's own hashing of a dataclass (asdict, then each value) cost ~0.2 ms a
# key, and a page run makes several (issue 11).
_per_version = st.cache_data(max_entries=500, show_spinner=False, hash_funcs={Filters: repr})


@st.cache_resource(show_spinner=False)
def _initialised_engine(url: str) -> Engine:
    engine = engine_for(url)
    init_db(engine)
    return engine


def engine() -> Engine:
    """The engine of the configured database (schema brought up to date once per process)."""
    return _initialised_engine(settings.database_url())


@st.cache_resource(show_spinner=False, max_entries=2)
def _dataset(url: str, version: str) -> Dataset:
    # Keyed on plain strings: polars frames are never cache arguments (see the field notes).
    return load_dataset(engine_for(url))


@_per_version
def _computed(name: str, url: str, version: str, args: tuple) -> object:
    module, function = name.rsplit(".", 1)
    return getattr(importlib.import_module(module), function)(_dataset(url, version), *args)


def computed(function: Callable[..., object], version: str, *args: object) -> object:
    """``function(dataset, *args)`` computed once per data version and arguments (plain,
    hashable values such as a Filters): a filter change seen before costs nothing."""
    name = f"{function.__module__}.{function.__qualname__}"
    return _computed(name, settings.database_url(), version, args)


# --- summary store (issue 11): the Overview reads summaries, never the survey rows ---------
@st.cache_resource(show_spinner=False, max_entries=2)
def _catalog(url: str, version: str) -> Catalog:
    return catalog(engine_for(url))


@st.cache_resource(show_spinner=False, max_entries=2)
def _register(url: str, version: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    return register_frames(engine_for(url))


@st.cache_resource(show_spinner=False, max_entries=2)
def _snapshot(url: str, version: str) -> Snapshot:
    # the Overview's cells in memory: a filter change is a polars pass over them
    return load_snapshot(engine_for(url))


@_per_version
def _overview(
    url: str, version: str, filters: Filters, source: str, areas: bool
) -> OverviewNumbers:
    proposals, ngo = _register(url, version)
    snapshot = _snapshot(url, version)
    return overview_from_summaries(engine_for(url), filters, source, snapshot=snapshot,
                                   proposals=proposals, ngo=ngo, areas=areas)  # fmt: skip


def warm() -> None:
    """This process's caches filled for the current data version as the Overview's first run
    would fill them (the register, the snapshot laid out for the default page): the server's
    warm-up (dashboard/serve.py). Nothing when the store is incomplete (the pages read rows)."""
    url = settings.database_url()
    version = data_version(engine())
    if _catalog(url, version).complete:
        _register(url, version)
        warm_snapshot(_snapshot(url, version))


def summary_catalog() -> Catalog:
    """The filters' options from the summary store; the retrying notice when the database is
    down (as ``dataset``)."""
    url = settings.database_url()
    try:
        return _catalog(url, data_version(engine()))
    except DatabaseUnavailable:
        database_unavailable()
        raise  # not reached: database_unavailable stops the run


def overview(version: str, filters: Filters, source: str, *, areas: bool = True) -> OverviewNumbers:
    """The Overview's numbers per (data version, filters, source) from the summary store, with
    either weights (issue 12); from the survey rows while the store is incomplete (a database
    upgraded from before it, until ``python -m queries summaries rebuild``). ``areas=False``:
    the cards and the trend only, no map nor regions moved (a region's profile)."""
    url = settings.database_url()
    if not _catalog(url, version).complete:
        return computed(overview_numbers, version, filters, source)
    # H4: a composite over a new institution set is summed in SQL once (then cached in the
    # database for every process); Streamlit shows the spinner only past half a second
    with st.spinner(t("common.loading")):
        return _overview(url, version, filters, source, areas)


# --- end summary store ------------------------------------------------------------------


# --- Regions page from summaries (issue 11; queries/summaries/standing.py) ----------------
@_per_version
def _regions_wave(url: str, version: str, filters: Filters, source: str | None) -> str | None:
    return latest_wave(_snapshot(url, version).strata, filters, source)


@_per_version
def _regions_standing(url: str, version: str, filters: Filters, source: str, wave: str):
    return standing_from_summaries(_snapshot(url, version), filters, source, wave)


@_per_version
def _regions_groups(url: str, version: str, filters: Filters, source: str, wave: str, by: str):
    return groups_from_summaries(_snapshot(url, version), filters, source, wave, by)


def regions_wave(version: str, filters: Filters, source: str | None) -> str | None:
    """The wave the Regions page shows: the latest of ``source`` (None: any source) the
    filters keep (None: no response), from the store; from the rows while the store is
    incomplete (as ``overview``)."""
    url = settings.database_url()
    if not _catalog(url, version).complete:
        return computed(latest_wave_of_rows, version, filters, source)
    return _regions_wave(url, version, strata_cut(filters), source)  # the strata decide it


def regions_standing(version: str, filters: Filters, source: str, wave: str) -> Standing:
    """The regions' standing in ``wave`` (either weights) from the summary store."""
    url = settings.database_url()
    if not _catalog(url, version).complete:
        return computed(weighted_standing, version, filters, source, wave)
    return _regions_standing(url, version, filters, source, wave)


def regions_groups(
    version: str, filters: Filters, source: str, wave: str, by: str
) -> WeightedEstimates:
    """Composite trust per ``by`` value in ``wave`` (the cross-tabs) from the summary store."""
    url = settings.database_url()
    if not _catalog(url, version).complete:
        return computed(weighted_by_group, version, filters, source, wave, by)
    return _regions_groups(url, version, filters, source, wave, by)


# --- end Regions page from summaries ------------------------------------------------------


# --- Feedback and NGO pages from summaries (issue 11; queries/summaries/pages.py) ---------
@_per_version
def _page_numbers(name: str, url: str, version: str, args: tuple) -> object:
    return _function(name)(_snapshot(url, version), *args)


@_per_version
def _register_numbers(name: str, url: str, version: str, args: tuple) -> object:
    return _function(name)(Frames(*_register(url, version)), *args)


def _function(name: str) -> Callable[..., object]:
    module, function = name.rsplit(".", 1)
    return getattr(importlib.import_module(module), function)


def _name(function: Callable[..., object]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def page_numbers(
    function: Callable[..., object], rows: Callable[..., object], version: str, *args: object
) -> object:
    """``function(snapshot, *args)`` (``queries.summaries.pages``) once per data version and
    arguments (plain values); ``rows(dataset, *args)`` while the store is incomplete."""
    url = settings.database_url()
    if not _catalog(url, version).complete:
        return computed(rows, version, *args)
    return _page_numbers(_name(function), url, version, args)


def from_register(function: Callable[..., object], version: str, *args: object) -> object:
    """``function(frames, *args)`` for metrics that read only the register and NGO frames
    (``register_numbers``, ``ngo_year``), once per data version and arguments: no survey row.
    A Filters argument is keyed on what the register reads of it (``register_cut``)."""
    cut = tuple(register_cut(a) if isinstance(a, Filters) else a for a in args)
    return _register_numbers(_name(function), settings.database_url(), version, cut)


def ngo_relation(version: str, filters: Filters, source: str, year: int) -> Relation | None:
    """NGO density beside trust in ``year`` (``ngo_trust_relation``: a weighted line and its
    robustness, two dozen small regressions) once per data version and arguments, not on every
    run of the NGO page; None when no region has trust numbers (or too few have both)."""
    return _ngo_relation(settings.database_url(), version, filters, source, year)


@_per_version
def _ngo_relation(url: str, version: str, filters: Filters, source: str, year: int):
    made = page_numbers(pages.trust_by_region, trust_by_region, version, filters, source, year)
    if not made.estimates.height:
        return None
    density = from_register(ngo_year, version, filters, year).density
    return ngo_trust_relation(made.estimates, density)


# --- end Feedback and NGO pages from summaries -------------------------------------------


# --- Drivers page from the rows it needs (issue 11; queries/summaries/rows.py) ------------
@st.cache_resource(show_spinner=False, max_entries=2)
def _wave_answers(url: str, version: str, source: str, wave: str) -> WaveAnswers:
    # the wave's every respondent and answer, read once, compact: filter changes cut it in
    # memory (and its raked weights are kept with it)
    snapshot = _snapshot(url, version)
    answers = wave_answers(
        engine_for(url), source=source, wave=wave,
        institutions=snapshot.institutions, population=snapshot.population,
    )  # fmt: skip
    _release_freed()  # the read's CSV text and full-width frame
    return answers


@_per_version
def _drivers(url: str, version: str, filters: Filters, source: str, outcome: str) -> Drivers:
    snapshot = _snapshot(url, version)
    wave = _regions_wave(url, version, strata_cut(filters), source)
    answers = None if wave is None else _wave_answers(url, version, source, wave)
    try:
        return drivers_from_store(engine_for(url), filters, source, outcome,
                                  strata=snapshot.strata, institutions=snapshot.institutions,
                                  population=snapshot.population, answers=answers)  # fmt: skip
    finally:
        _release_freed()


def _release_freed() -> None:
    """glibc's free pages back to the system after a model's fit (a raked wave and its
    design matrices, tens of MB at 10M responses); no-op off glibc."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return


def drivers(version: str, filters: Filters, source: str, outcome: str) -> Drivers:
    """The Drivers page's model per (data version, filters, source, outcome), from just the
    rows of its wave, read once per wave (a spinner while that takes) and cut in memory per
    filter change; from the dataset while the store is incomplete (as ``overview``)."""
    url = settings.database_url()
    if not _catalog(url, version).complete:
        return computed(drivers_numbers, version, filters, source, outcome)
    with st.spinner(t("common.loading")):  # shown only when it takes more than half a second
        return _drivers(url, version, filters, source, outcome)


# --- end Drivers page ---------------------------------------------------------------------


def dataset() -> Dataset:
    """The current data; stops the page with a retrying notice when the database is down."""
    url = settings.database_url()
    try:
        version = data_version(engine())
        with st.spinner(t("common.loading")):
            return _dataset(url, version)
    except DatabaseUnavailable:
        database_unavailable()
        raise  # not reached: database_unavailable stops the run


def database_unavailable() -> None:
    """Show the notice, retry every few seconds, rerun the page once the database answers."""
    st.error(t("common.db_unavailable"), icon=":material/cloud_off:")
    _retry()
    st.stop()


@st.fragment(run_every=RETRY_SECONDS)
def _retry() -> None:
    try:
        data_version(engine_for(settings.database_url()))
    except DatabaseUnavailable:
        st.caption(t("common.retrying", seconds=RETRY_SECONDS))
        return
    st.rerun(scope="app")
