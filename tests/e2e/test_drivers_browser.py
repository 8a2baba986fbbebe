"""Issue 12 in a real browser: the Drivers page draws its coefficient plot (one marker per term
of the model the queries fit) with the raked weights, and says so."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from dashboard.i18n import translate
from queries.db import make_engine
from queries.metrics.dataset import load_dataset
from queries.metrics.drivers import OUTCOMES, drivers_numbers
from queries.metrics.filters import Filters
from tests.e2e.test_browser import go, no_exception, sign_in

pytestmark = pytest.mark.e2e
WAVE = "2024-Q4"  # the demo's 2024 waves have margins: the model is fitted on the raked wave
SOURCE = "public_trust_council"  # the source the pages compare by default


def test_drivers_page_draws_the_coefficient_plot(page: Page, app_url: str, e2e_database: str):
    engine = make_engine(e2e_database)
    model = drivers_numbers(load_dataset(engine), Filters(wave_to=WAVE), SOURCE, OUTCOMES[0])
    engine.dispose()
    assert model.fitted and model.weights == "calibrated" and model.terms.height >= 5

    sign_in(page, app_url, f"?wave_to={WAVE}")
    go(page, "drivers")
    expect(page.locator("h1").first).to_have_text(translate("drivers.title", "kk"))
    plot = page.locator(".st-key-drivers_plot")
    # the first run of a fresh server computes the model: more than expect's default 5 s
    expect(plot.locator(".js-plotly-plot")).to_be_visible(timeout=60_000)
    expect(plot.locator(".scatterlayer .point")).to_have_count(model.terms.height)
    expect(page.get_by_text(translate("weights.note_calibrated", "kk"))).to_be_visible()
    said = translate("drivers.weights_calibrated", "kk").split("`")[0].strip()  # before the code
    expect(page.get_by_text(said)).to_be_visible()
    no_exception(page)
    page.screenshot(path="test-artifacts/screenshots/drivers.png", full_page=True)
