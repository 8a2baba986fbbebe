"""Issue 14 in a real browser: a region chosen across the 2022 reform (Jetisu, which did not exist
in the pre-2022 demo waves) is shown as its comparable unit, labelled in kk/ru/en, and the trend
chart marks the break."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from dashboard.i18n import translate
from tests.e2e.conftest import SCREENSHOTS, STAFF
from tests.e2e.server import prepare, submit_sign_in, wait_for_app

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_trend_across_the_reform_shows_the_break_and_the_comparable_label(
    browser: Browser, app_url: str, lang: str
):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    prepare(page)
    page.goto(f"{app_url}/?region=KZ-33&lang={lang}")
    wait_for_app(page)
    submit_sign_in(page, STAFF, lang, title_key="overview.title")

    unit = translate("reform.old_19", lang)  # "Almaty Region, pre-2022 boundaries"
    note = translate("reform.comparable_note", lang, units=unit)
    expect(page.get_by_text(note, exact=True)).to_be_visible(timeout=60_000)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    marker = chart.locator(".annotation-text", has_text=translate("reform.break_label", lang))
    expect(marker).to_have_count(1, timeout=30_000)  # the chart draws after the text
    expect(chart.locator("path.shapelayer, .shapelayer path")).not_to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / f"reform-break-{lang}.png"), full_page=True)
    context.close()
