"""The dashboard's only way to the data: one engine per URL, the dataset cached per data version
(a finished upload changes the version, so the next run loads fresh data), and a calm
"database unavailable, retrying" screen that recovers by itself."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import streamlit as st

from dashboard.i18n import t
from queries import settings
from queries.db import Engine, data_version, engine_for, init_db
from queries.errors import DatabaseUnavailable
from queries.metrics.dataset import Dataset, load_dataset

RETRY_SECONDS = 5


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


@st.cache_data(max_entries=500, show_spinner=False)
def _computed(name: str, url: str, version: str, args: tuple) -> object:
    module, function = name.rsplit(".", 1)
    return getattr(importlib.import_module(module), function)(_dataset(url, version), *args)


def computed(function: Callable[..., object], version: str, *args: object) -> object:
    """``function(dataset, *args)`` computed once per data version and arguments (plain,
    hashable values such as a Filters): a filter change seen before costs nothing."""
    name = f"{function.__module__}.{function.__qualname__}"
    return _computed(name, settings.database_url(), version, args)


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
