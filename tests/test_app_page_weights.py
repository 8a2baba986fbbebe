"""The weights switch (issue 12, point 6) holds on every survey page: on the demo up to 2024-Q4
(the 2024 waves have margins from the shipped region totals), switching to "as delivered"
changes the Regions, NGO, Feedback and Drivers pages' numbers, and each page says which weights
it used; a 2025 wave (no margins) is named as delivered."""

from __future__ import annotations

import pytest

from tests.apptest_helpers import use_database, view

WAVE = "2024-Q4"  # the demo's last wave with population margins (2024)


@pytest.fixture(autouse=True)
def environment(demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=False)


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def tables(at) -> list:
    return [frame.value.to_dict() if hasattr(frame.value, "to_dict") else frame.value
            for frame in at.dataframe]  # fmt: skip


def charts(at) -> list[str]:
    """Every chart's figure (register charts stay the same; the survey's follow the switch)."""
    return [c.proto.spec for c in at.get("plotly_chart")]


def switched(at):
    at.radio(key="f_weights").set_value("delivered").run()
    assert not at.exception, at.exception
    return at


def check(name: str, numbers, *, params=None, before=None) -> None:
    at = view(name, params={"wave_to": WAVE, **(params or {})})
    if before:
        before(at)
    assert not at.exception, at.exception
    assert "calibrated to the population" in captions(at)
    calibrated = numbers(at)
    after = switched(at)
    assert "calibrated to the population" not in captions(after)
    assert numbers(after) != calibrated


@pytest.mark.slow
def test_regions_ranking_and_cross_tabs_follow_the_switch():
    check("regions", lambda at: (tables(at), charts(at)))


@pytest.mark.slow
def test_ngo_trust_side_follows_the_switch():
    def year_2024(at):
        at.select_slider(key="ngo_year").set_value(2024).run()

    check("ngo", lambda at: [c.value for c in at.caption if "slope" in c.value.lower()],
          before=year_2024)  # fmt: skip


@pytest.mark.slow
def test_feedback_survey_side_follows_the_switch():
    check("feedback", lambda at: charts(at))


@pytest.mark.slow
def test_drivers_follow_the_switch():
    check("drivers", tables)


@pytest.mark.slow
def test_a_wave_without_margins_is_named_as_delivered():
    at = view("regions")  # the demo's latest wave is in 2025: no margins
    assert not at.exception, at.exception
    assert "No population margins exist" in captions(at)
