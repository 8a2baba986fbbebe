"""Issue 12, point 6 in a real browser: the weights switch changes the Overview's numbers and the
link keeps it (``?weights=delivered`` opens the same view in another browser)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from dashboard.i18n import translate
from tests.e2e.server import runs, wait_for_app, wait_for_rerun
from tests.e2e.test_browser import sign_in

pytestmark = pytest.mark.e2e
UP_TO_2024 = "?wave_to=2024-Q4"  # the demo's 2024 waves have margins: the cards then differ


def metrics(page: Page) -> list[str]:
    """Each card's value and the change under it (the values alone are rounded)."""
    values = page.locator('[data-testid="stMetricValue"]')
    expect(values).to_have_count(6, timeout=60_000)  # a fresh server computes everything first
    wait_for_app(page)
    changes = page.locator('[data-testid="stMetricDelta"]')
    return values.all_inner_texts() + changes.all_inner_texts()


def test_the_weights_switch_changes_the_numbers_and_the_link_keeps_it(
    page: Page, app_url: str, browser
):
    sign_in(page, app_url, UP_TO_2024)
    calibrated = metrics(page)
    expect(page.get_by_text(translate("weights.note_calibrated", "kk"))).to_be_visible()
    before = runs(page)
    switch = page.locator(".st-key-f_weights")
    switch.get_by_text(translate("weights.delivered", "kk"), exact=True).click()
    wait_for_rerun(page, before)
    delivered = metrics(page)
    assert delivered != calibrated
    assert "weights=delivered" in page.url

    other = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    sign_in(other, app_url, UP_TO_2024 + "&weights=delivered")
    assert metrics(other) == delivered
    other.context.close()
