"""The app frame in a real browser (what AppTest cannot show): a shared link survives signing in,
and the filters follow the user from page to page, also through a page that draws none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.i18n import translate
from queries.db import make_engine
from tests.conftest import copy_database
from tests.e2e.server import prepare, runs, serve_app, submit_sign_in, wait_for_app, wait_for_rerun

pytestmark = pytest.mark.e2e
USER = ("analyst1", "analyst-password-1")


@pytest.fixture(scope="module")
def app_url(demo_template: str, tmp_path_factory) -> Iterator[str]:
    """Its own server on a copy of the session's demo database, with an analyst account."""
    from queries.access.accounts import create_user

    url = copy_database(demo_template, tmp_path_factory.mktemp("frame") / "senim.db")
    engine = make_engine(url)
    create_user(engine, *USER, role="analyst")
    engine.dispose()
    with serve_app(url, log_name="streamlit-frame.log", env={"SENIM_REQUIRE_LOGIN": "1"}) as (
        app,
        _process,
    ):
        yield app


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    prepare(page)
    yield page
    context.close()


def sign_in(page: Page, lang: str) -> None:
    submit_sign_in(page, USER, lang)


def go(page: Page, name: str, lang: str) -> None:
    before = runs(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text(translate(f"nav.{name}", lang), exact=True).click()
    wait_for_rerun(page, before)


def heading(page: Page):
    return page.locator("h1").first


def test_a_shared_link_opens_its_page_after_sign_in(page: Page, app_url: str):
    page.goto(f"{app_url}/regions?lang=ru&region=KZ-75")
    wait_for_app(page)
    expect(heading(page)).to_have_text(translate("auth.sign_in_title", "ru"))
    expect(page.get_by_text("Page not found")).to_have_count(0)
    sign_in(page, "ru")
    expect(heading(page)).to_have_text(translate("regions.title", "ru"))
    assert "/regions?" in page.url and "region=KZ-75" in page.url
    expect(page.locator(".st-key-f_region")).to_contain_text("Алматы")


def test_filters_follow_the_user_across_pages(page: Page, app_url: str):
    page.goto(f"{app_url}/?lang=en&sex=female&age=18-29")
    wait_for_app(page)
    sign_in(page, "en")
    women = page.locator(".st-key-f_sex")
    for name in ("regions", "methodology", "feedback", "overview"):
        go(page, name, "en")
        expect(heading(page)).to_have_text(translate(f"{name}.title", "en"))
        if name == "methodology":  # no filters here; they must come back on the next page
            expect(women).to_have_count(0)
            continue
        expect(women).to_contain_text(translate("filters.sex_female", "en"))
        assert "sex=female" in page.url and "age=18-29" in page.url, (name, page.url)
