"""At most SENIM_PAGE_RUNS page runs compute at once per process (dashboard/runs.py, issue 11):
further runs wait for a slot and take it when one is given back, a slot is given back however
the run ends and only once, and the app holds one for every page but the upload page."""

from __future__ import annotations

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

import dashboard.views.overview
import dashboard.views.upload
from dashboard import runs
from queries.access import accounts, sessions
from queries.db import engine_for
from tests.apptest_helpers import ROOT, TIMEOUT, use_database

WAIT = 60  # seconds; only so that a broken limit fails instead of hanging


@pytest.fixture
def two_slots(monkeypatch):
    monkeypatch.setenv("SENIM_PAGE_RUNS", "2")
    monkeypatch.setattr(runs, "_slots", None)  # read again from the setting


def test_a_third_run_waits_until_a_slot_is_given_back(two_slots):
    inside, leave = [threading.Event() for _ in range(3)], [threading.Event() for _ in range(3)]
    most = []

    def run(i: int) -> None:
        with runs.page_run():
            most.append(runs.active())
            inside[i].set()
            assert leave[i].wait(WAIT)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads[:2]:
        thread.start()
    assert inside[0].wait(WAIT) and inside[1].wait(WAIT)
    threads[2].start()
    assert not inside[2].is_set()  # both slots taken: it has not started computing
    assert runs.active() == 2
    leave[0].set()
    assert inside[2].wait(WAIT)  # it takes the slot given back
    leave[1].set()
    leave[2].set()
    for thread in threads:
        thread.join(WAIT)
    assert max(most) <= 2 and runs.active() == 0


def test_a_slot_is_given_back_once_however_the_run_ends(two_slots):
    with pytest.raises(RuntimeError), runs.page_run():
        raise RuntimeError("st.stop, st.rerun or a failure")
    with runs.page_run() as slot:
        slot.give_back()  # the upload page's way
        slot.give_back()  # and nothing more at the end of the block
        assert runs.active() == 0
    # every slot is free: two runs enter without waiting, a BoundedSemaphore was not overfilled
    with runs.page_run(), runs.page_run():
        assert runs.active() == 2


@pytest.mark.parametrize(("page", "module", "held"), [
    ("overview", dashboard.views.overview, 1),
    ("upload", dashboard.views.upload, 0),
])  # fmt: skip
def test_the_app_holds_a_slot_while_a_page_draws(page, module, held, demo_url, monkeypatch):
    use_database(monkeypatch, demo_url, require_login=True)
    engine = engine_for(demo_url)
    accounts.create_user(engine, "staff-sara", None, role="staff")
    sid, _code = sessions.open_session(engine, username="staff-sara", method="password")
    seen, drawn = [], module.render

    def render() -> None:
        seen.append(runs.active())
        drawn()

    monkeypatch.setattr(module, "render", render)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=TIMEOUT)
    at.session_state["senim_user"] = {"username": "staff-sara", "role": "staff", "sid": sid,
                                      "expires_at": time.time() + 3600}  # fmt: skip
    at._page_hash = calc_hash(page)  # a callable page: st.Page hashes its url_path
    at.run()
    assert not at.exception, at.exception
    assert seen == [held]
    assert runs.active() == 0  # given back when the run ended
