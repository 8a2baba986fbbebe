"""Loading files: all or nothing, keep-valid, idempotent re-upload, database duplicates,
replace/update with history, rollback — on SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import func, select

from queries.errors import SenimError
from queries.ingest.pipeline import check_bytes, ingest_bytes
from queries.ingest.uploads import list_uploads, rollback, start_upload
from queries.metrics.dataset import load_dataset
from queries.schema.data import ngo_activity, proposals, responses, row_history, survey_waves
from tests.test_store import stored_scores
from tests.uploads_helpers import NGO_HEADER, PROPOSALS_HEADER, csv, survey_csv, survey_rows


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_valid_survey_loads_every_row_and_trust_score(engine):
    report = ingest_bytes(engine, "survey", survey_csv(survey_rows(40)), "s.csv", uploaded_by="t")
    assert (report.status, report.rows_read, report.rows_loaded) == ("loaded", 40, 40)
    assert count(engine, responses) == 40
    assert len(stored_scores(engine)) == 80  # two trust items per respondent
    data = load_dataset(engine)
    assert data.responses.height == 40
    assert set(data.responses.get_column("region")) == {"KZ-75"}
    assert data.responses.get_column("weight").sum() == pytest.approx(60.0)
    first = data.responses.filter(pl.col("response_id") == data.responses["response_id"].min())
    assert first.item(0, "trust_government") == 1.0 and first.item(0, "trust_police") == 3.0


def test_one_bad_row_rejects_the_whole_file_and_stores_nothing(engine):
    rows = survey_rows(10)
    rows[6] = rows[6].replace("Алматы", "Атлантида")
    report = ingest_bytes(engine, "survey", survey_csv(rows), "bad.csv")
    assert report.status == "rejected" and report.rows_loaded == 0
    error = report.errors.row(0, named=True)
    assert (error["row"], error["column"], error["value"]) == (7, "region", "Атлантида")
    assert count(engine, responses) == 0 and count(engine, survey_waves) == 0
    log = list_uploads(engine).row(0, named=True)
    assert (log["status"], log["rows_read"], log["rows_rejected"]) == ("rejected", 10, 1)


def test_keep_valid_loads_the_rest_and_returns_the_rejected_rows(engine):
    rows = survey_rows(10)
    rows[2] = rows[2].replace(",1.5,", ",-2,")
    report = ingest_bytes(engine, "survey", survey_csv(rows), "p.csv", keep_valid=True)
    assert (report.status, report.rows_loaded, report.rows_rejected) == ("partial", 9, 1)
    assert count(engine, responses) == 9
    rejected = pl.read_csv(report.rejected_csv())
    assert rejected.height == 1
    assert rejected.item(0, "respondent_id") == "R00003"
    assert "weight" in rejected.item(0, "reason")


def test_the_same_file_twice_changes_nothing_and_says_so(engine):
    content = survey_csv(survey_rows(35))
    first = ingest_bytes(engine, "survey", content, "a.csv")
    again = ingest_bytes(engine, "survey", content, "a-copy.csv")
    assert first.status == "loaded"
    assert again.status == "unchanged" and str(first.upload_id) in again.message
    assert count(engine, responses) == 35
    assert list_uploads(engine).get_column("status").to_list() == ["unchanged", "loaded"]


def test_respondents_already_stored_are_reported_not_duplicated(engine):
    ingest_bytes(engine, "survey", survey_csv(survey_rows(30)), "one.csv")
    overlapping = survey_csv(survey_rows(30, start=21))  # R00021..R00030 already stored
    report = ingest_bytes(engine, "survey", overlapping, "two.csv")
    assert report.status == "rejected"
    assert set(report.errors.get_column("code")) == {"duplicate_in_database"}
    assert report.errors.height == 10
    check = check_bytes(engine, "survey", overlapping, "two.csv")
    assert check.status == "rejected" and check.error_count == 10
    partial = ingest_bytes(engine, "survey", overlapping, "two.csv", keep_valid=True)
    assert (partial.status, partial.rows_loaded) == ("partial", 20)
    assert count(engine, responses) == 50


def test_survey_rollback_removes_rows_scores_and_the_emptied_wave(engine):
    keep = ingest_bytes(engine, "survey", survey_csv(survey_rows(30, wave="2025-Q1")), "q1.csv")
    undo = ingest_bytes(engine, "survey", survey_csv(survey_rows(30, wave="2025-Q2")), "q2.csv")
    message = rollback(engine, undo.upload_id, by="tester")
    assert "30" in message
    assert count(engine, responses) == 30 and len(stored_scores(engine)) == 60
    assert count(engine, survey_waves) == 1
    assert list_uploads(engine).filter(id=undo.upload_id).item(0, "status") == "rolled_back"
    assert list_uploads(engine).filter(id=keep.upload_id).item(0, "status") == "loaded"
    with pytest.raises(SenimError, match="already rolled back"):
        rollback(engine, undo.upload_id, by="tester")
    with pytest.raises(SenimError, match="no upload 999"):
        rollback(engine, 999, by="tester")


def test_ngo_reupload_replaces_and_rollback_restores_the_previous_values(engine):
    first = ingest_bytes(
        engine,
        "ngo",
        csv(NGO_HEADER, ["Абай облысы,2024,100,60,5,1000000", "ВКО,2024,300,200,9,2500000"]),
        "n1.csv",
    )
    second = ingest_bytes(
        engine,
        "ngo",
        csv(
            NGO_HEADER,
            [
                "KZ-10,2024,120,70,6,1200000",
                "KZ-63,2024,300,200,9,2500000",
                "KZ-63,2025,310,205,9,2600000",
            ],
        ),
        "n2.csv",
    )
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (1, 1, 1)
    with engine.connect() as conn:
        abai = conn.execute(
            select(ngo_activity.c.registered_ngos).where(ngo_activity.c.region == "KZ-10")
        ).scalar_one()
    assert abai == 120
    with pytest.raises(SenimError, match=f"upload {second.upload_id}"):
        rollback(engine, first.upload_id, by="t")  # a later upload changed its row
    rollback(engine, second.upload_id, by="t")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ngo_activity.c.region,
                ngo_activity.c.period,
                ngo_activity.c.registered_ngos,
                ngo_activity.c.upload_id,
            ).order_by(ngo_activity.c.region)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("KZ-10", "2024", 100, first.upload_id),
        ("KZ-63", "2024", 300, first.upload_id),
    ]
    assert count(engine, row_history) == 2  # only the first upload's history remains


def test_proposals_update_status_and_dates_and_roll_back_exactly(engine):
    first = ingest_bytes(
        engine,
        "proposals",
        csv(
            PROPOSALS_HEADER,
            [
                "P1,eotinish,ВКО,education,2025-01-10,received,,",
                "P2,kurultai,,healthcare,10.01.2025,answered,20.01.2025,",
            ],
        ),
        "p1.csv",
    )
    assert first.status == "loaded" and first.rows_new == 2
    second = ingest_bytes(
        engine,
        "proposals",
        csv(
            PROPOSALS_HEADER,
            [
                "P1,eotinish,ВКО,education,2025-01-10,implemented,2025-01-30,2025-03-01",
                "P2,kurultai,,healthcare,10.01.2025,answered,20.01.2025,",
            ],
        ),
        "p2.csv",
    )
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (0, 1, 1)
    data = load_dataset(engine).proposals.sort("proposal_id")
    assert data.item(0, "status") == "implemented" and data.item(1, "region") is None
    rollback(engine, second.upload_id, by="t")
    data = load_dataset(engine).proposals.sort("proposal_id")
    assert data.item(0, "status") == "received" and data.item(0, "answered_on") is None
    assert count(engine, proposals) == 2


def test_an_unreadable_file_is_one_clear_file_level_error(engine):
    report = ingest_bytes(engine, "survey", b"PK\x03\x04" + b"\x00" * 50, "book.csv")
    assert report.status == "rejected"
    assert report.errors.item(0, "row") == 0
    assert "ZIP" in report.errors.item(0, "message")
    assert count(engine, responses) == 0


def test_json_report_has_the_documented_shape(engine):
    rows = survey_rows(3)
    rows[1] = rows[1].replace("female", "cat")
    report = ingest_bytes(engine, "survey", survey_csv(rows), "j.csv")
    out = report.to_json()
    assert {
        "status",
        "kind",
        "upload_id",
        "rows_read",
        "rows_loaded",
        "rows_rejected",
        "errors",
    } <= set(out)
    assert out["errors"] == [
        {"row": 2, "column": "sex", "value": "cat", "message": out["errors"][0]["message"]}
    ]
    assert "cat" in out["errors"][0]["message"]


def test_the_same_bytes_for_another_wave_are_new_data_not_unchanged(engine):
    header = "respondent_id,source,region,weight,trust_government"
    content = csv(header, [f"R{i},kurultai,KZ-75,1,{i % 11}" for i in range(40)])
    first = ingest_bytes(engine, "survey", content, "w.csv", wave="2025-Q1")
    second = ingest_bytes(engine, "survey", content, "w.csv", wave="2025-Q2")
    again = ingest_bytes(engine, "survey", content, "w.csv", wave="2025-Q2")
    assert [r.status for r in (first, second, again)] == ["loaded", "loaded", "unchanged"]
    assert count(engine, responses) == 80 and count(engine, survey_waves) == 2


def test_rejected_rows_file_neutralises_formulas(engine):
    rows = survey_rows(3)
    rows[1] = rows[1].replace("Алматы", "=HYPERLINK(1)")
    report = ingest_bytes(engine, "survey", survey_csv(rows), "f.csv", keep_valid=True)
    rejected = pl.read_csv(report.rejected_csv(), infer_schema=False)
    assert rejected.height == 1 and rejected.item(0, "region") == "'=HYPERLINK(1)"
    assert rejected.item(0, "row") == "2" and "region" in rejected.item(0, "reason")


def test_rollback_refuses_uploads_that_stored_nothing_or_are_still_loading(engine):
    rows = survey_rows(3)
    rows[0] = rows[0].replace("female", "cat")
    rejected = ingest_bytes(engine, "survey", survey_csv(rows), "r.csv")
    with pytest.raises(SenimError, match="status 'rejected'"):
        rollback(engine, rejected.upload_id, by="t")
    loading = start_upload(
        engine, kind="ngo", file_name="n.csv", sha256="0" * 64, uploaded_by="t", status="loading"
    )
    with pytest.raises(SenimError, match="still loading"):
        rollback(engine, loading, by="t")
    assert list_uploads(engine).filter(id=loading).item(0, "status") == "loading"
