"""Issue 12 in a real browser: the Regions page states how its ranks were simulated and tested,
and the region profile gives a rank with its 95% interval and group, never a bare rank."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.i18n import fmt_number, translate
from queries.db import init_db, make_engine
from queries.metrics.dataset import load_dataset
from queries.metrics.inference import region_standing
from tests.e2e.server import prepare, serve_app, submit_sign_in, wait_for_app

pytestmark = pytest.mark.e2e
USER = ("analyst12", "analyst-password-12")
SOURCE = "public_trust_council"  # the source the Regions page compares by default


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    from queries.access.accounts import create_user
    from queries.demo import load_demo

    folder = tmp_path_factory.mktemp("ranks")
    url = f"sqlite:///{folder / 'senim.db'}"
    engine = make_engine(url)
    init_db(engine)
    # 24,000 responses: most regions clear 30 respondents in the latest wave, so they rank
    load_demo(engine, responses=24_000, folder=folder / "files")
    create_user(engine, *USER, role="analyst")
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def app_url(database: str) -> Iterator[str]:
    env = {"SENIM_REQUIRE_LOGIN": "1"}
    with serve_app(database, log_name="streamlit-ranks.log", env=env) as (app, _process):
        yield app


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    prepare(page)
    yield page
    context.close()


def test_regions_show_rank_intervals_and_groups(page: Page, app_url: str, database: str):
    data = load_dataset(make_engine(database))
    own = data.responses.filter(pl.col("source") == SOURCE)
    latest = own.filter(pl.col("wave") == own.sort("period_start")["wave"].last())
    standing = region_standing(latest.with_columns(in_domain=pl.lit(True)))
    ranked = standing.regions.filter(pl.col("rank").is_not_null())
    assert ranked.height >= 10

    page.goto(f"{app_url}/regions?lang=en")
    wait_for_app(page)
    submit_sign_in(page, USER, "en", title_key="regions.title")

    method = translate(
        "regions.standing_caption", "en", national=fmt_number(standing.national, 2, "en"),
        tested=standing.tested, draws=fmt_number(standing.draws, 0, "en"),
    )  # fmt: skip
    # the first run of a fresh server computes everything: more than expect's default 5 s
    expect(page.get_by_text(method, exact=True)).to_be_visible(timeout=60_000)
    first = ranked.row(0, named=True)
    profile = translate(
        "regions.rank_interval", "en", rank=first["rank"], low=first["rank_low"],
        high=first["rank_high"], ranked=ranked.height,
        group=translate(f"regions.group_{first['group']}", "en"),
    )  # fmt: skip
    expect(page.get_by_text(profile, exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text(f"{first['rank']} / ")).to_have_count(0)  # no bare "k / 20"
    page.screenshot(path="test-artifacts/screenshots/regions-rank-intervals.png", full_page=True)
