"""End-to-end fixtures: the real app served by `streamlit run`, driven by headless Chromium.

Debian's `chromium` package is launched by path (Playwright's own browser download cannot work
here). Screenshots go to ``test-artifacts/screenshots`` (printed at the end of the run).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from queries.db import make_engine
from tests.conftest import copy_database
from tests.e2e.server import ARTIFACTS, chromium, serve_app

SCREENSHOTS = ARTIFACTS / "screenshots"
STAFF = ("staff1", "staff-password-1")


@pytest.fixture(scope="session")
def e2e_database(demo_template: str, tmp_path_factory) -> str:
    """A copy of the session's demo database with a staff user, for the browser tests."""
    from queries.access.accounts import create_user

    url = copy_database(demo_template, tmp_path_factory.mktemp("e2e") / "senim.db")
    engine = make_engine(url)
    create_user(engine, *STAFF, role="staff")
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def app_url(e2e_database: str) -> Iterator[str]:
    with serve_app(
        e2e_database, log_name="streamlit-e2e.log", env={"SENIM_REQUIRE_LOGIN": "1"}
    ) as (url, _process):
        yield url


# Package scope: Playwright's sync API keeps an event loop running while the browser is open, so
# the browser must close when the browser tests end, before other tests that run their own loop.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        yield browser
    print(f"\nscreenshots saved in {SCREENSHOTS}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
