"""A sign-in survives a reload and a new tab, and sign-out ends it everywhere (issue 13, finding
11), in real Chromium against `streamlit run dashboard/serve.py` (st.App with the session-cookie
routes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from dashboard.i18n import translate
from queries.access import sessions
from queries.db import init_db, make_engine
from tests.e2e.server import prepare, serve_app, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
USER = ("leader1", "leader-password-1")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str]]:
    from queries.access.accounts import create_user

    url = f"sqlite:///{tmp_path_factory.mktemp('session') / 'senim.db'}"
    engine = make_engine(url)
    init_db(engine)
    create_user(engine, *USER, role="viewer")
    engine.dispose()
    env = {"SENIM_REQUIRE_LOGIN": "1"}
    with serve_app(url, log_name="streamlit-session.log", env=env, script="serve.py") as (
        app,
        _process,
    ):
        yield app, url


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def open_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.set_default_timeout(60_000)  # a busy test machine
    prepare(page)
    page.goto(url)
    wait_for_app(page)
    return page


def heading(page: Page):
    return page.locator("h1").first


def session_cookie(context: BrowserContext) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "senim_session"), None)


def test_reload_and_new_tab_stay_signed_in_and_sign_out_ends_it(served, context: BrowserContext):
    app, db_url = served
    page = open_page(context, f"{app}/regions?lang=en")
    expect(heading(page)).to_have_text(translate("auth.sign_in_title", "en"))
    page.get_by_label(translate("auth.username", "en")).fill(USER[0])
    page.get_by_label(translate("auth.password", "en"), exact=True).fill(USER[1])
    # The browser passes once through /senim/session and comes back to the linked page.
    with page.expect_response(lambda r: "/senim/session?" in r.url, timeout=90_000) as handoff:
        page.get_by_role("button", name=translate("auth.sign_in", "en")).click()
    assert handoff.value.status == 303
    page.wait_for_url(f"{app}/regions?lang=en", timeout=30_000)
    wait_for_app(page)
    expect(heading(page)).to_have_text(translate("regions.title", "en"))
    cookie = session_cookie(context)
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    assert page.evaluate("document.cookie").find("senim_session") == -1  # hidden from scripts

    page.reload()
    wait_for_app(page)
    expect(heading(page)).to_have_text(translate("regions.title", "en"))
    tab = open_page(context, f"{app}/methodology?lang=en")
    expect(heading(tab)).to_have_text(translate("methodology.title", "en"))

    token = cookie["value"]
    engine = make_engine(db_url)
    try:
        assert sessions.resume(engine, token=token) is not None
        with page.expect_response(lambda r: "/senim/signout" in r.url, timeout=90_000) as signout:
            page.locator('[data-testid="stSidebar"]').get_by_role(
                "button", name=translate("auth.sign_out", "en")
            ).click()
        assert signout.value.status == 303
        page.wait_for_url(f"{app}/regions?lang=en", timeout=30_000)
        wait_for_app(page)
        expect(heading(page)).to_have_text(translate("auth.sign_in_title", "en"))
        assert session_cookie(context) is None
        assert sessions.resume(engine, token=token) is None  # revoked server-side
    finally:
        engine.dispose()
    # The other tab is signed out at its next page load, and the old token is worthless.
    tab.reload()
    wait_for_app(tab)
    expect(heading(tab)).to_have_text(translate("auth.sign_in_title", "en"))
    context.add_cookies([{**cookie, "value": token}])
    replay = open_page(context, f"{app}/?lang=en")
    expect(heading(replay)).to_have_text(translate("auth.sign_in_title", "en"))
