"""The sidebar's options are worked out once per data version and process (issue 11: a polars
pass per run was ~3% of the server's time under load), and a new data version offers what it
added at the next run."""

from __future__ import annotations

from dashboard.components import filters
from queries.db import engine_for
from queries.ingest.pipeline import ingest_bytes
from tests.apptest_helpers import signed_in_app
from tests.uploads_helpers import survey_csv, survey_rows

NEW_WAVE = "2026-Q1"  # after every demo wave


def test_options_are_worked_out_once_per_data_version(demo_url, monkeypatch):
    worked_out = []
    real = filters._options_of
    monkeypatch.setattr(filters, "_options_of", lambda data: worked_out.append(1) or real(data))
    filters._OPTIONS.clear()
    at = signed_in_app(monkeypatch, demo_url)
    at.run()
    at.multiselect(key="f_sex").set_value(["male"]).run()
    at.multiselect(key="f_settlement").set_value(["rural"]).run()
    assert not at.exception, at.exception
    assert len(worked_out) == 1
    assert at.selectbox(key="f_wave_from").options == at.selectbox(key="f_wave_to").options


def test_a_new_wave_is_offered_at_the_next_run(demo_url, monkeypatch):
    at = signed_in_app(monkeypatch, demo_url)
    at.run()
    assert NEW_WAVE not in at.selectbox(key="f_wave_to").options
    engine = engine_for(demo_url)
    try:
        report = ingest_bytes(engine, "survey", survey_csv(survey_rows(40, wave=NEW_WAVE)),
                              "new-wave.csv")  # fmt: skip
    finally:
        engine.dispose()
    assert report.rows_loaded == 40, report
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="f_wave_to").options[-1] == NEW_WAVE
