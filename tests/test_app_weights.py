"""The weights switch (issue 12, point 6) in the app: calibrated by default, "as delivered" from
the switch or the link (``?weights=delivered``), which the URL keeps; the Overview's numbers
follow it. The demo's 2024 waves have margins (the shipped region totals), so the Overview up
to 2024-Q4 differs between the two."""

from __future__ import annotations

import pytest

import dashboard.i18n as i18n
from dashboard.components.cards import _change
from queries.metrics.filters import Filters
from tests.apptest_helpers import expected_cards, use_database, view

WAVE = "2024-Q4"  # the demo's last wave with population margins (2024)


@pytest.fixture(autouse=True)
def environment(demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=False)


def shown(at) -> list[tuple[str, str]]:
    """Each card's value and the change under it (its first part, before the test result)."""
    return [(m.value, (m.delta or "").split(" · ")[0]) for m in at.metric]


def expected(url: str, weights: str) -> list[str]:
    cards = expected_cards(url, Filters(wave_to=WAVE, weights=weights))
    original = i18n.language
    i18n.language = lambda: "en"
    try:
        return [_change(c["kind"], c["change"]) or "" for c in cards.iter_rows(named=True)]
    finally:
        i18n.language = original


@pytest.mark.slow
def test_the_switch_changes_the_overview_and_the_link_keeps_it(demo_url):
    at = view("overview", params={"wave_to": WAVE})
    assert not at.exception, at.exception
    calibrated = shown(at)
    assert [delta for _, delta in calibrated] == expected(demo_url, "calibrated")
    assert "weights" not in at.query_params  # the default stays out of the link
    at.radio(key="f_weights").set_value("delivered").run()
    delivered = shown(at)
    assert delivered != calibrated
    assert [delta for _, delta in delivered] == expected(demo_url, "delivered")
    assert at.query_params["weights"] in ("delivered", ["delivered"])
    # a link with ?weights=delivered opens the same view
    again = view("overview", params={"wave_to": WAVE, "weights": "delivered"})
    assert shown(again) == delivered
    assert again.radio(key="f_weights").value == "delivered"


def test_an_unknown_weights_value_in_the_link_is_dropped_with_a_notice():
    at = view("overview", params={"weights": "raw"})
    assert not at.exception, at.exception
    assert at.radio(key="f_weights").value == "calibrated"
    assert any("weights" in w.value for w in at.warning)
