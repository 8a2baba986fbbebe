"""The Overview page reads only the summary store: it draws with the survey-row loader
forbidden, shows the raw-row path's cards, falls back to the rows while the store is
incomplete, and shows a new upload at the next run (caches keyed on the data version)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

import dashboard.components.page
import dashboard.data
from queries.db import make_engine
from queries.errors import SenimError
from queries.ingest.pipeline import ingest_bytes
from queries.metrics.filters import Filters
from queries.schema import summary_cells, summary_strata, summary_variables
from queries.summaries.memory import overview_from_summaries
from tests.apptest_helpers import card_values, expected_cards, formatted, use_database, view
from tests.test_summaries import delivered, survey_file


@pytest.fixture(autouse=True)
def environment(demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=False)


def forbid_rows(monkeypatch) -> None:
    """The survey-row loader fails, and the sidebar asks for delivered weights: the Overview
    from summaries is the delivered-weights one (calibrated weights, issue 12, are computed
    from the rows until the store rakes)."""

    def refuse(engine):
        raise AssertionError("the Overview loaded the survey rows")

    monkeypatch.setattr(dashboard.data, "load_dataset", refuse)
    chosen = dashboard.components.page.sidebar_filters
    monkeypatch.setattr(
        dashboard.components.page, "sidebar_filters", lambda data: delivered(chosen(data))
    )


def test_the_overview_draws_from_summaries_without_loading_rows(demo_url, monkeypatch):
    expected = formatted(expected_cards(demo_url, delivered(Filters(sexes=("female",)))))
    forbid_rows(monkeypatch)
    at = view("overview", params={"sex": "female"})
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
    expected = expected_cards(demo_url, delivered(Filters(sources=("kurultai",))), "kurultai")
    assert after == formatted(expected)


def test_an_incomplete_store_falls_back_to_the_rows(demo_url):
    with make_engine(demo_url).begin() as conn:  # as after upgrading an older database
        for table in (summary_cells, summary_strata, summary_variables):
            conn.execute(delete(table))
    at = view("overview")
    assert not at.exception, at.exception
    assert card_values(at) == formatted(expected_cards(demo_url, Filters()))


def test_calibrated_weights_are_never_served_as_delivered_ones(demo_url):
    """The default (calibrated) Overview comes from the rows, equal to the raw-row path; the
    summary path refuses calibrated weights instead of answering with delivered ones."""
    at = view("overview")
    assert card_values(at) == formatted(expected_cards(demo_url, Filters()))
    if "weights" in Filters.__dataclass_fields__:
        with pytest.raises(SenimError, match="delivered weights only"):
            overview_from_summaries(make_engine(demo_url), Filters(), "public_trust_council")
