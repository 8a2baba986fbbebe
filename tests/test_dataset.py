"""load_dataset: the wide responses frame (documented columns and types), trust pivoted per
institution, proposals and NGO frames — read back the same from SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import polars as pl

from queries.db import data_version
from queries.ingest import store
from queries.metrics.dataset import load_dataset
from tests.test_store import new_upload, survey_frame

RESPONSE_SCHEMA = {
    "response_id": pl.Int64,
    "source": pl.String,
    "wave": pl.String,
    "period_start": pl.Date,
    "region": pl.String,
    "settlement": pl.String,
    "sex": pl.String,
    "age": pl.Int16,
    "weight": pl.Float64,
    "state_listens": pl.Float64,
    "response_satisfaction": pl.Float64,
    "participated_consultation": pl.Boolean,
    "submitted_proposal": pl.Boolean,
    "received_response": pl.Boolean,
    "ngo_involvement": pl.Boolean,
}


def test_an_empty_database_gives_empty_frames_of_the_documented_columns(engine):
    data = load_dataset(engine)
    assert data.responses.height == 0 and data.institutions == ()
    assert {k: data.responses.schema[k] for k in RESPONSE_SCHEMA} == RESPONSE_SCHEMA
    assert data.proposals.height == 0 and data.ngo.height == 0
    assert data.version == data_version(engine)


def test_responses_are_wide_with_trust_columns_in_contract_order(engine):
    frame = survey_frame(["a", "b", "c", "d", "e"]).with_columns(
        age=pl.Series([17, 18, 44, 60, None], dtype=pl.Int16),
        sex=pl.Series(["female", None, "male", "male", "female"]),
        received_response=pl.Series([True, False, None, True, None]),
        trust_police=pl.Series([None, None, 7, None, 10], dtype=pl.Int8),
    )
    with engine.begin() as conn:
        store.insert_survey(conn, new_upload(engine), frame)
    data = load_dataset(engine)
    got = data.responses.sort("response_id")
    assert data.institutions == ("government", "police", "museums")  # known first, then others
    assert {k: got.schema[k] for k in RESPONSE_SCHEMA} == RESPONSE_SCHEMA
    for inst in data.institutions:
        assert got.schema[f"trust_{inst}"] == pl.Float64
    assert got.get_column("trust_government").to_list() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert got.get_column("trust_police").to_list() == [None, None, 7.0, None, 10.0]
    assert got.get_column("trust_museums").to_list() == [4.0, None, 4.0, None, 4.0]
    assert got.get_column("age_group").to_list() == ["under_18", "18-29", "30-44", "60+", None]
    assert got.get_column("received_response").to_list() == [True, False, None, True, None]
    assert got.get_column("sex").to_list() == ["female", None, "male", "male", "female"]
    assert got.get_column("period_start").to_list() == [dt.date(2025, 7, 1)] * 5
    assert set(got.get_column("stratum")) == {"kurultai|2025-Q3|KZ-75"}
    assert data.waves.rows() == [("kurultai", "2025-Q3", dt.date(2025, 7, 1))]


def test_proposals_and_ngo_frames(engine):
    ngo_upload, proposals_upload = new_upload(engine, "ngo"), new_upload(engine, "proposals")
    ngo = (
        pl.DataFrame(
            {"region": ["KZ-75"], "period": ["2024-Q3"], "registered_ngos": [12]},
            schema_overrides={"registered_ngos": pl.Int64},
        )
        .with_columns(
            pl.lit(None, pl.Int64).alias(c)
            for c in ("active_ngos", "grants_count", "volunteers", "beneficiaries")
        )
        .with_columns(grants_kzt=pl.lit(1.5e6))
    )
    register = pl.DataFrame(
        {
            "proposal_id": ["P1"],
            "source": ["eotinish"],
            "region": [None],
            "topic": ["education"],
            "submitted_on": [dt.date(2025, 1, 10)],
            "status": ["answered"],
            "answered_on": [dt.date(2025, 2, 1)],
            "implemented_on": [None],
        },
        schema_overrides={"region": pl.String, "implemented_on": pl.Date},
    )
    with engine.begin() as conn:
        store.upsert_kind(conn, ngo_upload, ngo, "ngo")
        store.upsert_kind(conn, proposals_upload, register, "proposals")
    data = load_dataset(engine)
    row = data.ngo.row(0, named=True)
    assert (row["region"], row["year"], row["registered_ngos"], row["grants_kzt"]) == (
        "KZ-75",
        2024,
        12,
        1.5e6,
    )
    assert data.ngo.schema["year"] == pl.Int32 and row["population"] > 1_000_000
    proposal = data.proposals.row(0, named=True)
    assert proposal["region"] is None and proposal["answered_on"] == dt.date(2025, 2, 1)
    assert data.proposals.schema["submitted_on"] == pl.Date
    assert proposal["implemented_on"] is None
