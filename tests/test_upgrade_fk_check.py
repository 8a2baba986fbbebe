"""SQLite's foreign-key check after a schema upgrade (queries.db.upgrade) runs only when a
migration ran: it reads every row of every table with a foreign key, and every app process and
command calls upgrade on start (at 10M responses it cost seconds, minutes with a cold cache)."""

from __future__ import annotations

from sqlalchemy import event

from queries.db import init_db, make_engine, upgrade


def _statements(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_the_check_runs_when_a_migration_ran_and_not_at_head(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'senim.db'}")
    seen = _statements(engine)
    init_db(engine)  # an empty file: every migration runs, then the check
    assert any("foreign_key_check" in s for s in seen)
    seen.clear()
    upgrade(engine)  # already at head: nothing migrated, nothing to check
    assert not any("foreign_key_check" in s for s in seen)
    assert seen, "the listener saw the upgrade's own statements"
    engine.dispose()
