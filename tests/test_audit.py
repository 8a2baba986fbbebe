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
