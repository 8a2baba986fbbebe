"""The fast survey write paths (issue 11, ingest at speed), on SQLite and PostgreSQL: chunked
conversion, the contract's trust items as checked columns of responses (migration 0010), the
set-based long trust scores of other items, the once-per-load check that replaced the per-row
foreign key (migration 0006), and what the load leaves behind (pragmas, orphans)."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import delete, func, inspect, select, update
from sqlalchemy.exc import IntegrityError

from queries.contract import TRUST_INSTITUTIONS
from queries.db import make_engine
from queries.errors import SenimError
from queries.ingest import store
from queries.ingest.pipeline import ingest_bytes, rollback
from queries.schema.data import responses, trust_scores
from tests.test_store import new_upload, stored_scores, survey_frame
from tests.uploads_helpers import SURVEY_HEADER, survey_csv, survey_rows

# ratings per respondent (None: no answer), written out so the expected rows need no code
GOVERNMENT = [3, None, 10, 0, 7, None, 5, 1, 2, 9, None]
ZOO = [None, None, 4, 4, None, 8, 0, None, 6, 10, 1]


def rated_frame():
    frame = survey_frame([f"r{i}" for i in range(len(GOVERNMENT))], wave="2025-Q2")
    return frame.drop("trust_museums").with_columns(
        trust_government=frame.get_column("trust_government")
        .clone()
        .scatter(range(len(GOVERNMENT)), GOVERNMENT),
        trust_zoo=frame.get_column("trust_government").clone().scatter(range(len(ZOO)), ZOO),
    )


def test_scores_written_chunk_by_chunk_are_exactly_the_given_ratings(engine, monkeypatch):
    monkeypatch.setattr(store, "CHUNK", 4)  # 11 respondents: three chunks, the last one short
    with engine.begin() as conn:
        store.insert_survey(conn, new_upload(engine), survey_frame(["a", "b"]))  # ids 1, 2
    seen: list[tuple[float, str]] = []
    with engine.begin() as conn:
        stored = store.insert_survey(
            conn, new_upload(engine), rated_frame(), lambda f, s: seen.append((f, s))
        )
    assert stored == 11
    first = [(1, "government", 0), (2, "government", 1), (1, "museums", 4)]
    expected = [(3 + i, "government", g) for i, g in enumerate(GOVERNMENT) if g is not None]
    expected += [(3 + i, "zoo", z) for i, z in enumerate(ZOO) if z is not None]
    assert stored_scores(engine) == sorted(first + expected)
    with engine.connect() as conn:
        ids = conn.execute(select(responses.c.id).order_by(responses.c.id)).scalars().all()
    assert ids == list(range(1, 14))
    score_steps = [f for f, s in seen if s == "trust scores"]
    assert len(score_steps) == 3 and score_steps == sorted(score_steps)
    assert score_steps[-1] == pytest.approx(0.95)


def test_the_load_checks_its_block_of_responses_once(engine):
    with engine.begin() as conn:
        store.insert_survey(conn, new_upload(engine), survey_frame(["a", "b", "c"]))
    with engine.begin() as conn:
        store.check_response_block(conn, first_id=1, count=3)  # all there: no complaint
        with pytest.raises(SenimError, match="3 of 4"):
            store.check_response_block(conn, first_id=1, count=4)
        conn.execute(delete(trust_scores).where(trust_scores.c.response_id == 2))
        conn.execute(delete(responses).where(responses.c.id == 2))
        with pytest.raises(SenimError, match="2 of 3"):
            store.check_response_block(conn, first_id=1, count=3)


def with_council(n: int, wave: str) -> bytes:
    """``survey_rows`` plus an item beyond the contract's (trust_council: a long row each)."""
    rows = [f"{row},{i % 11}" for i, row in enumerate(survey_rows(n, wave=wave))]
    return survey_csv(rows, header=f"{SURVEY_HEADER},trust_council")


def test_rollbacks_leave_no_score_without_its_response(engine):
    first = ingest_bytes(engine, "survey", with_council(40, "2025-Q1"), "a.csv")
    second = ingest_bytes(engine, "survey", with_council(30, "2025-Q2"), "b.csv")
    rollback(engine, first.upload_id, by="tester")
    third = ingest_bytes(engine, "survey", with_council(20, "2025-Q3"), "c.csv")
    assert {r.status for r in (first, second, third)} == {"loaded"}
    orphans = select(func.count()).where(trust_scores.c.response_id.not_in(select(responses.c.id)))
    with engine.connect() as conn:
        assert conn.execute(orphans).scalar_one() == 0
        kept = conn.execute(select(func.count()).select_from(trust_scores)).scalar_one()
    assert kept == 30 + 20  # trust_council: one long row per respondent of the kept files
    # government and police are columns of the kept responses
    assert len(stored_scores(engine)) == 3 * (30 + 20)


def test_trust_scores_key_and_range_stay_without_the_per_row_foreign_key(engine):
    inspector = inspect(engine)
    assert inspector.get_foreign_keys("trust_scores") == []
    assert inspector.get_pk_constraint("trust_scores")["constrained_columns"] == [
        "response_id",
        "institution",
    ]
    assert [c["name"] for c in inspector.get_check_constraints("trust_scores")] == [
        "ck_trust_scores_score_range"
    ]


def test_the_contract_items_are_range_checked_columns_of_responses(engine):
    checks = {c["name"] for c in inspect(engine).get_check_constraints("responses")}
    assert {f"ck_responses_trust_{i}_range" for i in TRUST_INSTITUTIONS} <= checks
    upload_id = new_upload(engine)
    with engine.begin() as conn:
        store.insert_survey(conn, upload_id, survey_frame(["a"]))
    for bad in (11, -1):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(update(responses).values(trust_media=bad))
    with engine.begin() as conn:
        conn.execute(update(responses).values(trust_media=10))  # the ends are allowed


def test_responses_refer_to_their_upload_wave_and_region_per_row_on_sqlite_only(engine):
    keys = {k["referred_table"] for k in inspect(engine).get_foreign_keys("responses")}
    if engine.dialect.name == "sqlite":
        assert keys == {"uploads", "survey_waves", "regions"}
    else:  # migration 0011: checked once per load instead
        assert keys == set()


def test_a_load_whose_rows_refer_to_nothing_stores_nothing(engine):
    upload_id = new_upload(engine)
    nowhere = survey_frame(["a", "b"]).with_columns(region=pl.Series(["KZ-75", "KZ-00"]))
    regions = pytest.raises(SenimError, match=r"regions that do not exist \(KZ-00\)")
    with regions, engine.begin() as conn:
        store.insert_survey(conn, upload_id, nowhere)
    unknown = pytest.raises(SenimError, match=r"uploads that do not exist \(999\)")
    with unknown, engine.begin() as conn:
        store.insert_survey(conn, 999, survey_frame(["a"]))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == 0
    with engine.begin() as conn:  # the same rows with real references load
        assert store.insert_survey(conn, upload_id, survey_frame(["a", "b"])) == 2


def test_a_trust_column_that_is_not_a_plain_name_never_reaches_sql(sqlite_db_url):
    engine = make_engine(sqlite_db_url)
    frame = rated_frame().select("_row", "trust_zoo").rename({"_row": "id"})
    hostile = frame.rename({"trust_zoo": "trust_zoo INTEGER); DROP TABLE responses; --"})
    with engine.begin() as conn, pytest.raises(ValueError, match="not a trust item"):
        store.insert_scores(conn, hostile)
    assert "responses" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_sqlite_load_leaves_the_connection_pragmas_as_they_were(sqlite_db_url):
    engine = make_engine(sqlite_db_url)
    names = ("cache_size", "temp.cache_size", "synchronous", "foreign_keys", "journal_mode")

    def pragmas(conn) -> dict[str, object]:
        return {n: conn.exec_driver_sql(f"PRAGMA {n}").scalar() for n in names}

    upload_id = new_upload(engine)
    with engine.connect() as conn:
        before = pragmas(conn)
        conn.commit()  # reading them began a transaction
        raised: list[int] = []
        with conn.begin():
            store.insert_survey(
                conn,
                upload_id,
                survey_frame(["a", "b"]),
                lambda f, s: raised.append(conn.exec_driver_sql("PRAGMA cache_size").scalar()),
            )
        assert pragmas(conn) == before
        conn.commit()
    assert before["synchronous"] == 1 and before["foreign_keys"] == 1  # NORMAL, on: as db.py
    assert raised and all(size == -store.SQLITE_LOAD_CACHE_KIB for size in raised)
    engine.dispose()
