"""End-to-end fixtures: the real app served by `streamlit run`, driven by headless Chromium.

Debian's `chromium` package is launched by path (Playwright's own browser download cannot work
here). Screenshots go to ``test-artifacts/screenshots`` (printed at the end of the run).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from queries.db import init_db, make_engine

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SENIM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, deadline_s: float = 90) -> None:
    """Poll Streamlit's health endpoint until it answers (the server is then ready)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling interval of a readiness probe, not synchronisation
    raise RuntimeError("streamlit did not become healthy in time")


@pytest.fixture(scope="session")
def e2e_database(tmp_path_factory) -> str:
    """A SQLite database with a small demo data set and a staff user for the browser tests."""
    from queries.auth import create_user

    from queries.demo import load_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'senim.db'}"
    engine = make_engine(url)
    init_db(engine)
    load_demo(engine, responses=8_000)
    create_user(engine, "staff1", "staff-password-1", role="staff")
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def app_url(e2e_database: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "SENIM_DATABASE_URL": e2e_database, "SENIM_REQUIRE_LOGIN": "1"}
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = open(ROOT / "test-artifacts" / "streamlit-e2e.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    print(f"\nscreenshots saved in {SCREENSHOTS}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def wait_for_app(page: Page) -> None:
    """Wait until Streamlit is connected and has finished running the script."""
    page.wait_for_selector('[data-testid="stApp"]')
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=60_000)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=60_000)
