"""The Overview page reads only the summary store: it draws with the survey-row loader
forbidden, with the default calibrated weights (issue 12) and with delivered ones, shows the
raw-row path's cards, falls back to the rows while the store is incomplete, and shows a new
upload at the next run (caches keyed on the data version)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

import dashboard.data
from queries.db import engine_for, make_engine
from queries.ingest.pipeline import ingest_bytes
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_numbers
from queries.schema.summaries import summary_cells, summary_strata, summary_variables
from tests.apptest_helpers import (
    DEFAULT_SOURCE,
    card_values,
    expected_cards,
    formatted,
    use_database,
    view,
)
from tests.test_summaries import delivered, survey_file


@pytest.fixture(autouse=True)
def environment(demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=False)


def forbid_rows(monkeypatch) -> None:
    """The survey-row loader fails (whatever the weights asked for)."""

    def refuse(engine):
        raise AssertionError("the Overview loaded the survey rows")

    monkeypatch.setattr(dashboard.data, "load_dataset", refuse)


def test_the_overview_draws_from_summaries_without_loading_rows(demo_url, monkeypatch):
    """The default weights are calibrated (the demo's 2024 waves meet the shipped region
    totals): the page draws the raw-row path's calibrated cards from the store alone."""
    filters = Filters(sexes=("female",))
    raw = overview_numbers(load_dataset(engine_for(demo_url)), filters, DEFAULT_SOURCE)
    assert raw.weights == "calibrated"  # the default really rakes here
    expected = formatted(raw.cards)
    forbid_rows(monkeypatch)
    at = view("overview", params={"sex": "female"})
    assert not at.exception, at.exception
    assert card_values(at) == expected


def test_delivered_weights_draw_from_summaries_too(demo_url, monkeypatch):
    expected = formatted(expected_cards(demo_url, delivered(Filters(sexes=("female",)))))
    forbid_rows(monkeypatch)
    at = view("overview", params={"sex": "female", "weights": "delivered"})
    assert not at.exception, at.exception
    assert card_values(at) == expected


def test_a_new_upload_shows_at_the_next_run(demo_url, monkeypatch):
    forbid_rows(monkeypatch)
    at = view("overview", params={"source": "kurultai"})
    before = card_values(at)
    file = survey_file(7, source="kurultai", wave="2027-01", n=400)
    assert ingest_bytes(make_engine(demo_url), "survey", file, "new.csv").status == "loaded"
    after = card_values(at.run())
    assert after != before
    monkeypatch.undo()  # the raw-row path, for the expected values
    use_database(monkeypatch, demo_url, require_login=False)
    expected = expected_cards(demo_url, Filters(sources=("kurultai",)), "kurultai")
    assert after == formatted(expected)


def test_an_incomplete_store_falls_back_to_the_rows(demo_url):
    with make_engine(demo_url).begin() as conn:  # as after upgrading an older database
        for table in (summary_cells, summary_strata, summary_variables):
            conn.execute(delete(table))
    at = view("overview")
    assert not at.exception, at.exception
    assert card_values(at) == formatted(expected_cards(demo_url, Filters()))
