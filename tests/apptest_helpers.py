"""What the AppTest modules share: running one view as app.py runs it, pointing the app at a
test database, and the Overview's cards as the queries functions compute them."""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.components.cards import _value
from queries import settings
from queries.access.accounts import create_user, get_user, set_role
from queries.db import engine_for, make_engine
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_numbers
from queries.vocab import SurveySource

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
FAR = 4_102_444_800  # 2100-01-01: a session that does not expire during a test
# The source the Overview compares when no source is chosen and this one is in the data.
DEFAULT_SOURCE = SurveySource.PUBLIC_TRUST_COUNCIL


def run_view(name: str) -> None:
    """The script AppTest runs: one view, as app.py would run it (self-contained: AppTest runs
    this function's source as a script)."""
    import importlib
    import os
    import sys

    sys.path.insert(0, os.getcwd())
    importlib.import_module(f"dashboard.views.{name}").render()


def use_database(monkeypatch: pytest.MonkeyPatch, url: str, *, require_login: bool) -> None:
    """Point the app at ``url`` for this test, from the project root, with empty caches."""
    monkeypatch.setenv("SENIM_DATABASE_URL", url)
    monkeypatch.setenv("SENIM_REQUIRE_LOGIN", "1" if require_login else "0")
    monkeypatch.chdir(ROOT)
    st.cache_resource.clear()
    st.cache_data.clear()


def ensure_account(user: dict) -> None:
    """Make ``user``'s account exist with its role in the configured database: the app looks
    the user of every session up again on each run, so a session alone no longer signs in.
    The account has no password (identity-provider only): nothing slow to hash."""
    engine = make_engine(settings.database_url())
    try:
        account = get_user(engine, user["username"])
        if account is None:
            create_user(engine, user["username"], None, role=user["role"])
        elif account.role != user["role"]:
            set_role(engine, user["username"], user["role"])
    finally:
        engine.dispose()


VIEWER = {"username": "viewer-vera", "role": "viewer"}


def calls_of(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[tuple]:
    """The positional arguments of every call of ``module.name`` from now on (it still runs):
    the dashboard finds such a function by its name when its cache misses, so the count says
    how often a cached computation was really made."""
    calls: list[tuple] = []
    real = getattr(module, name)

    @functools.wraps(real)  # the same name: the pages may import it after this
    def counting(*args: object) -> object:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(module, name, counting)
    return calls


def signed_in_app(monkeypatch: pytest.MonkeyPatch, url: str, *, user: dict = VIEWER) -> AppTest:
    """The whole app (dashboard/app.py, not yet run) on ``url``, ``user`` signed in, English."""
    use_database(monkeypatch, url, require_login=True)
    ensure_account(user)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.session_state["senim_user"] = {**user, "expires_at": FAR}
    return at


def view(
    name: str,
    lang: str = "en",
    user: dict | None = None,
    params: dict | None = None,
    *,
    timeout: float = TIMEOUT,
) -> AppTest:
    """One run of the view ``name`` for ``user`` (signed out when None) with URL ``params``."""
    at = AppTest.from_function(run_view, args=(name,), default_timeout=timeout)
    at.session_state["lang"] = lang
    if user:
        ensure_account(user)
        at.session_state["senim_user"] = {**user, "expires_at": FAR}
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def card_values(at: AppTest) -> list[str]:
    return [metric.value for metric in at.metric]


def expected_cards(url: str, filters: Filters, source: str = DEFAULT_SOURCE) -> pl.DataFrame:
    """The headline cards as the queries function behind the Overview computes them."""
    return overview_numbers(load_dataset(engine_for(url)), filters, source).cards


def formatted(cards: pl.DataFrame) -> list[str]:
    """The cards' values as the page shows them in English."""
    import dashboard.i18n as i18n

    original = i18n.language
    i18n.language = lambda: "en"
    try:
        return [
            _value(c["kind"], None if c["suppressed"] else c["estimate"])
            for c in cards.iter_rows(named=True)
        ]
    finally:
        i18n.language = original
