"""Two app processes on one PostgreSQL (issue 11, "more than one app process"): a wave uploaded
through the first app's upload page shows on the second app's Overview at its next rerun,
because each run reads the data version from the database, not from its own memory. On the
way, the served map is checked to fetch its boundaries by URL (issue 11, the browser's share)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.i18n import translate
from queries.access.accounts import create_user
from queries.db import make_engine
from tests.conftest import new_postgres_url
from tests.e2e.conftest import STAFF
from tests.e2e.server import (
    prepare,
    runs,
    serve_app,
    submit_sign_in,
    upload_new_wave,
    wait_for_app,
    wait_for_rerun,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
NEW_WAVE = "2026-Q1"  # after every demo wave


@pytest.fixture(scope="module")
def shared_database(postgres_admin_url: str, postgres_template: str) -> str:
    from queries.demo import load_demo

    url = new_postgres_url(postgres_admin_url, postgres_template)
    engine = make_engine(url)
    load_demo(engine, responses=4_000)
    create_user(engine, *STAFF, role="staff")
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def two_apps(shared_database: str) -> Iterator[tuple[str, str]]:
    env = {"SENIM_REQUIRE_LOGIN": "1"}
    with (
        serve_app(shared_database, log_name="streamlit-first.log", env=env) as (first, one),
        serve_app(shared_database, log_name="streamlit-second.log", env=env) as (second, two),
    ):
        assert one.pid != two.pid and first != second
        yield first, second


def signed_in(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1440, "height": 1400}).new_page()
    page.set_default_timeout(60_000)
    prepare(page)
    page.goto(url)
    wait_for_app(page)
    submit_sign_in(page, STAFF, "kk", title_key="overview.title")
    return page


def upload_wave(page: Page, tmp_path) -> None:
    """The new wave through the upload page (check, then load), as a staff member does it."""
    upload_new_wave(page, tmp_path, wave=NEW_WAVE, prefix="TWO")
    expect(page.locator('[data-testid="stAlertContentSuccess"]').last).to_contain_text("240")


def map_geometry_is_fetched_once(page: Page, app: str) -> None:
    """The served map names its boundary file by URL (fetched once, cached by the browser)
    instead of carrying the polygons in the figure sent on every rerun."""
    expect(page.locator(".js-plotly-plot .maplibregl-canvas")).to_have_count(1)
    sources = page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')]"
        ".flatMap(gd => gd.data.map(trace => trace.geojson)).filter(g => g !== undefined)"
    )
    assert sources and all(isinstance(s, str) for s in sources)
    assert {s.split("?")[0] for s in sources} == {"app/static/kz_adm1_display.geojson"}
    served = page.request.get(f"{app}/{sources[0]}")
    assert served.ok and len(served.json()["features"]) == 20


def test_an_upload_in_one_process_shows_in_the_other(browser: Browser, two_apps, tmp_path):
    first, second = two_apps
    watcher = signed_in(browser, second)  # the second process has drawn the old data
    wave_label = watcher.locator('[data-testid="stMetricLabel"]').first
    expect(wave_label).not_to_contain_text(NEW_WAVE)
    map_geometry_is_fetched_once(watcher, second)

    upload_wave(signed_in(browser, first), tmp_path)

    before = runs(watcher)  # the watcher's next rerun: switching the language
    watcher.locator(".st-key-lang").get_by_text("English").click()
    wait_for_rerun(watcher, before)
    expect(watcher.locator("h1").first).to_have_text(translate("overview.title", "en"))
    expect(wave_label).to_contain_text(NEW_WAVE)
