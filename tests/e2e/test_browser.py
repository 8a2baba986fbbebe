"""The running app in headless Chromium: sign in, every page (screenshots), language switch,
filters through the UI and through the URL, and an upload that shows up on the Overview."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dashboard.i18n import translate
from tests.e2e.conftest import SCREENSHOTS, STAFF
from tests.e2e.server import (
    prepare,
    runs,
    submit_sign_in,
    upload_new_wave,
    wait_for_app,
    wait_for_rerun,
)

pytestmark = pytest.mark.e2e
PAGES = ("overview", "regions", "feedback", "ngo", "methodology", "upload", "history")


def open_app(page: Page, url: str) -> None:
    prepare(page)
    page.goto(url)
    wait_for_app(page)


def sign_in(page: Page, url: str, query: str = "") -> None:
    open_app(page, f"{url}/{query}")
    submit_sign_in(page, STAFF, "kk", title_key="overview.title")


def no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def go(page: Page, name: str, lang: str = "kk") -> None:
    """Client-side navigation through the sidebar (keeps the signed-in session)."""
    before = runs(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text(
        translate(f"nav.{name}", lang), exact=True
    ).click()
    try:
        wait_for_rerun(page, before)
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"failed-go-{name}.png"), full_page=True)
        raise


def cards(page: Page) -> list[str]:
    values = page.locator('[data-testid="stMetricValue"]')
    expect(values).to_have_count(6)
    wait_for_app(page)
    return values.all_inner_texts()


def test_every_page_renders_and_is_screenshotted(page: Page, app_url: str):
    page.set_viewport_size({"width": 1440, "height": 2400})  # the main area scrolls: see it all
    sign_in(page, app_url)
    for name in PAGES:
        if name != "overview":
            go(page, name)
        no_exception(page)
        heading = "upload.title" if name == "upload" else f"{name}.title"
        expect(page.locator("h1").first).to_have_text(translate(heading, "kk"))
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    print(f"\nscreenshots: {SCREENSHOTS}")


def test_language_switch_changes_every_label(page: Page, app_url: str):
    sign_in(page, app_url)
    before = runs(page)
    page.locator(".st-key-lang").get_by_text("English").click()
    wait_for_rerun(page, before)
    expect(page.locator("h1").first).to_have_text(translate("overview.title", "en"))
    expect(page.locator('[data-testid="stSidebarNav"]')).to_contain_text(
        translate("nav.feedback", "en")
    )
    assert "lang=en" in page.url
    before = runs(page)
    page.locator(".st-key-lang").get_by_text("Русский").click()
    wait_for_rerun(page, before)
    expect(page.locator("h1").first).to_have_text(translate("overview.title", "ru"))
    page.screenshot(path=str(SCREENSHOTS / "overview-ru.png"), full_page=True)


def test_a_filter_set_in_the_ui_is_in_the_url_and_the_url_sets_it(
    page: Page, app_url: str, browser
):
    sign_in(page, app_url)
    everyone = cards(page)
    page.locator(".st-key-f_region input").click()
    page.keyboard.type("Алматы")
    before = runs(page)
    page.get_by_role("option", name="Алматы", exact=True).click()
    wait_for_rerun(page, before)
    page.keyboard.press("Escape")
    almaty = cards(page)
    assert almaty != everyone
    assert re.search(r"region=KZ-75", page.url)

    other = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    sign_in(other, app_url, "?region=KZ-75")
    assert cards(other) == almaty
    other.screenshot(path=str(SCREENSHOTS / "overview-filtered-by-url.png"), full_page=True)
    other.context.close()


def test_an_uploaded_wave_appears_on_the_overview(page: Page, app_url: str, tmp_path):
    sign_in(page, app_url)
    upload_new_wave(page, tmp_path, wave="2026-Q1", prefix="E2E")
    expect(page.locator('[data-testid="stAlertContentSuccess"]').last).to_contain_text("240")
    page.screenshot(path=str(SCREENSHOTS / "upload-done.png"), full_page=True)
    go(page, "overview")
    expect(page.locator('[data-testid="stMetricLabel"]').first).to_contain_text("2026-Q1")
