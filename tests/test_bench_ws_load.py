"""The websocket load generator (bench/bench_ws_load.py) against the real app on a small demo
database: its sessions sign in through the form, their filter changes reach the app, and every
rerun is counted. No timing is asserted (issue 11's figures are printed by ``make bench``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bench.bench_ws_load import LoadSession, run_load
from bench.serving import USER
from queries.db import init_db, make_engine
from tests.e2e.server import serve_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    from queries.access.accounts import create_user
    from queries.demo import load_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('ws-load') / 'senim.db'}"
    engine = make_engine(url)
    init_db(engine)
    load_demo(engine, responses=1_500)
    create_user(engine, *USER, role="staff")
    engine.dispose()
    with serve_app(url, log_name="streamlit-ws-load.log", env={"SENIM_REQUIRE_LOGIN": "1"}) as (
        served,
        _process,
    ):
        yield served


def test_a_filter_change_reaches_the_app(app_url):
    async def one_change() -> tuple[dict[str, list[str]], list[str]]:
        user = LoadSession(app_url, "overview", seed=3, timeout=120)
        try:
            await user.open(asyncio.Semaphore(1))
            result = await user.change()
        finally:
            await user.close()
        return user.chosen, result.texts()

    chosen, texts = asyncio.run(one_change())
    ((_key, values),) = chosen.items()
    assert values
    # The caption under the title names the active filters (dashboard.components.filters.describe)
    assert any(all(v in text for v in values) for text in texts), (values, texts)


def test_sessions_sign_in_change_filters_and_every_rerun_is_counted(app_url):
    tally = asyncio.run(
        run_load(app_url, sessions=2, seconds=4, every=0.5, pages=("overview", "regions"))
    )
    assert tally.errors == 0
    assert set(tally.by_page) == {"overview", "regions"}
    assert len(tally.times) == sum(len(t) for t in tally.by_page.values()) >= 2
