"""The audit log on both databases: events written inside a caller's transaction (and rolled
back with it), filters, times in UTC, details as JSON."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from queries.access import audit
from queries.access.audit import list_events, record

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def test_record_and_list_latest_first_with_json_detail(engine):
    record(engine, actor="staff1", action="upload", target="wave.csv", detail={"rows": 40}, at=T0)
    record(
        engine,
        actor="admin",
        action="rollback",
        target="upload 3",
        detail={"when": dt.date(2026, 3, 2), "name": "Шымкент"},
        at=T0 + dt.timedelta(hours=1),
    )
    events = list_events(engine)
    assert events.columns == list(audit.EVENT_COLUMNS)
    assert events.get_column("action").to_list() == ["rollback", "upload"]
    assert events.item(1, "at") == T0.replace(tzinfo=None)
    assert json.loads(events.item(0, "detail")) == {"when": "2026-03-02", "name": "Шымкент"}
    assert json.loads(events.item(1, "detail")) == {"rows": 40}


def test_filters_by_action_actor_target_and_time(engine):
    for hour, (actor, action) in enumerate(
        [("a", "sign_in"), ("b", "sign_in_failed"), ("a", "upload"), ("b", "sign_in")]
    ):
        record(
            engine, actor=actor, action=action, target=f"t{hour}", at=T0 + dt.timedelta(hours=hour)
        )
    assert list_events(engine, action="sign_in").get_column("actor").to_list() == ["b", "a"]
    both = list_events(engine, actions=("sign_in", "upload"), actor="a")
    assert both.get_column("target").to_list() == ["t2", "t0"]
    assert list_events(engine, target="t1").get_column("action").to_list() == ["sign_in_failed"]
    window = list_events(engine, since=T0 + dt.timedelta(hours=1), until=T0 + dt.timedelta(hours=3))
    assert window.get_column("target").to_list() == ["t2", "t1"]
    # A window given in another time zone means the same instants.
    almaty = dt.timezone(dt.timedelta(hours=5))
    same = list_events(engine, since=(T0 + dt.timedelta(hours=1)).astimezone(almaty))
    assert same.get_column("target").to_list() == ["t3", "t2", "t1"]
    assert list_events(engine, limit=2).height == 2
    assert list_events(engine, actor="nobody").is_empty()


def test_an_event_written_in_a_transaction_is_undone_with_it(engine):
    with pytest.raises(RuntimeError), engine.begin() as conn:
        record(actor="staff1", action="upload", target="x.csv", conn=conn)
        raise RuntimeError("the load failed")
    assert list_events(engine).is_empty()
    with engine.begin() as conn:
        record(actor="staff1", action="upload", target="y.csv", conn=conn)
    assert list_events(engine).get_column("target").to_list() == ["y.csv"]


def test_bad_calls_say_what_is_wrong(engine):
    with pytest.raises(ValueError, match="engine or a connection"):
        record(actor="a", action="upload")
    with pytest.raises(ValueError, match="longer than 32"):
        record(engine, actor="a", action="x" * 33)
    record(engine, actor="", action="sign_in")
    assert list_events(engine).item(0, "actor") == "unknown"


# --- issue 13, finding 10: append-only log, an INSERT-only app role, the events that were missing


def test_the_audit_log_cannot_be_edited_or_emptied(engine):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    record(engine, actor="boss", action="role_changed", target="dana", at=T0)
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert list_events(engine).item(0, "actor") == "boss"


@pytest.fixture
def postgres_url(postgres_admin_url, postgres_template) -> str:
    from tests.conftest import new_postgres_url

    return new_postgres_url(postgres_admin_url, postgres_template)


def test_the_app_role_may_only_read_and_append_the_audit_log(postgres_url):
    import secrets

    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ProgrammingError

    from queries.access.roles import grant_app_role
    from queries.db import make_engine

    role, password = f"senim_app_{secrets.token_hex(4)}", secrets.token_hex(16)
    owner = make_engine(postgres_url)
    with owner.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        grant_app_role(conn, role=role)
    app_url = make_url(postgres_url).set(username=role, password=password)
    app = make_engine(app_url.render_as_string(hide_password=False))
    try:
        record(app, actor="staff1", action="upload", target="wave.csv")
        assert list_events(app).item(0, "target") == "wave.csv"
        for statement in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
        ):
            with pytest.raises(ProgrammingError), app.begin() as conn:
                conn.execute(text(statement))
        with app.begin() as conn:  # the rest of the data stays writable for the app
            conn.execute(text("UPDATE users SET role = role"))
    finally:
        app.dispose()
        with owner.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        owner.dispose()


def test_identical_interrupted_and_refused_uploads_are_logged(engine):
    from queries.ingest.pipeline import ingest_bytes
    from tests.uploads_helpers import survey_csv, survey_rows

    content = survey_csv(survey_rows(30))
    assert ingest_bytes(engine, "survey", content, "w.csv", uploaded_by="staff1").status == "loaded"
    again = ingest_bytes(engine, "survey", content, "w-copy.csv", uploaded_by="staff2")
    event = list_events(engine, action="upload_unchanged").row(0, named=True)
    assert (event["actor"], event["target"]) == ("staff2", f"upload {again.upload_id}")
    assert '"file_name": "w-copy.csv"' in event["detail"]

    def explode(fraction: float, stage: str) -> None:
        if stage == "trust scores":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        ingest_bytes(
            engine, "survey", survey_csv(survey_rows(5, start=900)), "x.csv",
            uploaded_by="staff3", progress=explode,
        )  # fmt: skip
    event = list_events(engine, action="upload_interrupted").row(0, named=True)
    assert event["actor"] == "staff3" and "disk full" in event["detail"]


def test_a_busy_refusal_is_logged_once_the_database_is_free(tmp_path):
    """SQLite (one writer): while another writer holds the database even the audit row must
    wait; it is written with the next event. (PostgreSQL locks per kind and waits instead of
    refusing, see test_faults.py.)"""
    from sqlalchemy import event

    from queries.db import init_db, make_engine
    from queries.ingest.pipeline import ingest_bytes
    from tests.uploads_helpers import NGO_HEADER, csv

    db_url = f"sqlite:///{tmp_path / 'senim.db'}"
    engine, holder = make_engine(db_url), make_engine(db_url)
    init_db(engine)
    event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=200"))
    engine.dispose()  # reconnect with the short busy timeout
    try:
        with holder.connect().execution_options(immediate=True) as conn, conn.begin():
            report = ingest_bytes(
                engine, "ngo", csv(NGO_HEADER, ["KZ-75,2024,10,5,1,100"]), "n.csv",
                uploaded_by="staff1",
            )  # fmt: skip
        assert report.status == "rejected" and "Try again" in report.message
        record(engine, actor="boss", action="sign_in")  # the next event of this process
        busy = list_events(engine, action="upload_busy").row(0, named=True)
        assert busy["actor"] == "staff1"
        assert list_events(engine).get_column("action").to_list()[:2] == ["sign_in", "upload_busy"]
    finally:
        engine.dispose()
        holder.dispose()


def test_an_event_kept_for_one_database_is_never_written_into_another(tmp_path):
    """A process that writes to two databases (tests, the CLI beside a server) keeps an event
    that could not be written for its own database: the other's next write does not take it."""
    from sqlalchemy import text

    from queries.db import init_db, make_engine
    from queries.schema.access import audit_log

    first, second = (make_engine(f"sqlite:///{tmp_path / n}") for n in ("a.db", "b.db"))
    for engine in (first, second):
        init_db(engine)
    try:
        with first.begin() as conn:  # the table gone: the event cannot be written now
            conn.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
        audit.record_best_effort(first, actor="staff1", action="upload_busy", target="a.csv")
        record(second, actor="boss", action="sign_in")
        assert list_events(second).get_column("action").to_list() == ["sign_in"]
        with first.begin() as conn:
            conn.execute(text("DROP TABLE audit_log_away"))
        audit_log.create(first)
        record(first, actor="boss", action="sign_in")  # the first database's next write
        assert list_events(first).get_column("action").to_list() == ["sign_in", "upload_busy"]
    finally:
        first.dispose()
        second.dispose()


def test_downloads_are_logged(engine):
    audit.record_download(engine, actor="analyst1", what="senim-feedback.csv", rows=1234)
    event = list_events(engine, action="download").row(0, named=True)
    assert (event["actor"], event["target"], json.loads(event["detail"])) == (
        "analyst1",
        "senim-feedback.csv",
        {"rows": 1234},
    )
