"""Writing clean frames (the documented columns of validate's output) straight to the store,
and the upload log around them: on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os

import polars as pl
from sqlalchemy import String, insert, literal, select, union_all

from queries.contract import TRUST_INSTITUTIONS, contract
from queries.ingest import store
from queries.ingest.uploads import list_uploads, mark_interrupted, start_upload
from queries.schema.data import (
    ngo_activity,
    responses,
    row_history,
    survey_waves,
    trust_scores,
    uploads,
)


def survey_frame(ids: list[str], wave: str = "2025-Q3") -> pl.DataFrame:
    """A validated survey frame (validate()'s clean columns and types, from the contract); the
    columns not given here are blank."""
    n = len(ids)
    values = {
        "_row": list(range(1, n + 1)),
        "respondent_id": ids,
        "source": ["kurultai"] * n,
        "wave": [wave] * n,
        "period_start": [dt.date(2025, 7, 1)] * n,
        "interview_date": [dt.date(2025, 8, 2)] * n,
        "region": ["KZ-75"] * n,
        "settlement": ["urban"] * n,
        "age": [30] * n,
        "weight": [1.0] * n,
        "state_listens": [5] * n,
        "participated_consultation": [True] * n,
        "submitted_proposal": [False] * n,
        "ngo_involvement": [False] * n,
        "trust_government": [i % 11 for i in range(n)],
        "trust_museums": [None if i % 2 else 4 for i in range(n)],
    }
    schema = contract("survey").clean_schema(("trust_government", "trust_museums"))
    return pl.DataFrame({name: values.get(name, [None] * n) for name in schema}, schema=schema)


def stored_scores(engine) -> list[tuple]:
    """Every stored score as (response_id, institution, score), sorted: the contract's items
    from their columns of responses (migration 0010), any other from trust_scores."""
    r, t = responses.c, trust_scores.c
    wide = [
        select(r.id, literal(i, String), r[f"trust_{i}"]).where(r[f"trust_{i}"].is_not(None))
        for i in TRUST_INSTITUTIONS
    ]
    with engine.connect() as conn:
        rows = conn.execute(union_all(*wide, select(t.response_id, t.institution, t.score))).all()
    return sorted(tuple(row) for row in rows)


def new_upload(engine, kind: str = "survey") -> int:
    return start_upload(
        engine, kind=kind, file_name="f.csv", sha256="0" * 64, uploaded_by="t", status="loading"
    )


def test_survey_rows_get_ids_after_the_stored_ones_and_their_trust_scores(engine):
    first, second = new_upload(engine), new_upload(engine)
    with engine.begin() as conn:
        assert store.insert_survey(conn, first, survey_frame(["a", "b", "c"])) == 3
    seen = []
    with engine.begin() as conn:
        store.insert_survey(
            conn, second, survey_frame(["d", "e"], wave="2025-Q4"), lambda f, s: seen.append(s)
        )
    assert {"responses", "trust scores"} <= set(seen)
    with engine.connect() as conn:
        rows = conn.execute(
            select(responses.c.id, responses.c.respondent_id, responses.c.upload_id).order_by(
                responses.c.id
            )
        ).all()
        waves = conn.execute(select(survey_waves.c.wave).order_by(survey_waves.c.id)).scalars()
        long = conn.execute(select(trust_scores.c.institution).distinct()).scalars().all()
    assert [tuple(r) for r in rows] == [
        (1, "a", first),
        (2, "b", first),
        (3, "c", first),
        (4, "d", second),
        (5, "e", second),
    ]
    assert list(waves) == ["2025-Q3", "2025-Q4"]
    # null ratings are not stored; each stored one is (response, institution, score); the
    # contract's institutions are columns of responses, only the others are long rows
    assert long == ["museums"]
    assert stored_scores(engine) == sorted(
        [
            *[(1, "government", 0), (2, "government", 1), (3, "government", 2)],
            *[(4, "government", 0), (5, "government", 1)],
            *[(1, "museums", 4), (3, "museums", 4), (4, "museums", 4)],
        ]
    )


def test_upsert_counts_new_updated_unchanged_and_keeps_previous_values(engine):
    first, second = new_upload(engine, "ngo"), new_upload(engine, "ngo")

    def ngo(rows):
        return pl.DataFrame(
            rows,
            schema={
                "region": pl.String,
                "period": pl.String,
                "registered_ngos": pl.Int64,
                "active_ngos": pl.Int64,
                "grants_count": pl.Int64,
                "grants_kzt": pl.Float64,
                "volunteers": pl.Int64,
                "beneficiaries": pl.Int64,
            },
            orient="row",
        )

    with engine.begin() as conn:
        counts = store.upsert_kind(
            conn,
            first,
            ngo(
                [
                    ("KZ-75", "2024", 10, None, 1, 2.5, None, None),
                    ("KZ-71", "2024", 20, 5, None, None, None, None),
                ]
            ),
            "ngo",
        )
    assert counts == (2, 0, 0)
    with engine.begin() as conn:
        counts = store.upsert_kind(
            conn,
            second,
            ngo(
                [
                    ("KZ-75", "2024", 11, None, 1, 2.5, None, None),
                    ("KZ-71", "2024", 20, 5, None, None, None, None),
                    ("KZ-71", "2025", 30, None, None, None, None, None),
                ]
            ),
            "ngo",
        )
    assert counts == (1, 1, 1)  # nulls compare equal: the KZ-71 2024 row is unchanged
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                ngo_activity.c.region,
                ngo_activity.c.period,
                ngo_activity.c.registered_ngos,
                ngo_activity.c.upload_id,
            ).order_by(ngo_activity.c.region, ngo_activity.c.period)
        ).all()
        history = conn.execute(
            select(row_history.c.row_key, row_history.c.previous)
            .where(row_history.c.upload_id == second)
            .order_by(row_history.c.row_key)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("KZ-71", "2024", 20, first),
        ("KZ-71", "2025", 30, second),
        ("KZ-75", "2024", 11, second),
    ]
    by_key = {json.loads(k)["region"] + json.loads(k)["period"]: p for k, p in history}
    assert by_key["KZ-712025"] is None  # inserted: rollback deletes it
    assert (
        by_key["KZ-752024"]["registered_ngos"] == 10 and by_key["KZ-752024"]["upload_id"] == first
    )


def test_a_loading_row_of_a_dead_process_becomes_interrupted(engine):
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)  # a process id that no longer exists
    with engine.begin() as conn:
        conn.execute(
            insert(uploads).values(
                kind="survey",
                file_name="x.csv",
                sha256="1" * 64,
                uploaded_by="t",
                uploaded_at=dt.datetime.now(dt.UTC),
                status="loading",
                pid=child,
            )
        )
    alive = new_upload(engine)  # this process: still loading
    assert mark_interrupted(engine) == 1
    log = list_uploads(engine)
    assert log.filter(id=alive).item(0, "status") == "loading"
    dead = log.filter(pl.col("id") != alive).row(0, named=True)
    assert dead["status"] == "interrupted" and "nothing was stored" in dead["message"]
