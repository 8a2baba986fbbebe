"""Start the real app (`streamlit run`) and headless Chromium: shared by e2e tests and bench/."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, expect, sync_playwright

from dashboard.i18n import translate

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("SENIM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, deadline_s: float = 90) -> None:
    """Poll Streamlit's health endpoint until it answers (the server is then ready)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)  # polling interval of a readiness probe, not synchronisation
    raise RuntimeError("streamlit did not become healthy in time")


def streamlit_command(script: Path, port: int) -> list[str]:
    """``streamlit run script`` headless on loopback ``port``, no usage statistics."""
    return [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.headless", "true",
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


@contextlib.contextmanager
def serve_app(
    database_url: str,
    *,
    log_name: str = "streamlit.log",
    env: dict[str, str] | None = None,
    script: str = "app.py",  # access tests: "serve.py" (st.App with the session-cookie routes)
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve dashboard/<script> on a free loopback port against ``database_url``."""
    port = free_port()
    full_env = {**os.environ, "SENIM_DATABASE_URL": database_url, **(env or {})}
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / log_name).open("w") as log:
        process = subprocess.Popen(
            streamlit_command(ROOT / "dashboard" / script, port),
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (its own download cannot work here)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Counts finished script runs in the page from Streamlit's own messages: every ForwardMsg the
# websocket brings is read for its ``script_finished`` field (number 6, a varint status; a run
# cut short by a newer rerun, status 2, does not count), so a test can wait for "the rerun my
# click caused has finished" without guessing a delay. (The DOM's data-test-script-state is not
# enough: a run fast enough goes running -> notRunning inside one React render and never shows.)
RUN_COUNTER = """
(() => {
  window.__senimRuns = 0;
  const FINISHED = 6, EARLY_FOR_RERUN = 2;
  const status = (bytes) => {  // the script_finished status of one ForwardMsg, or -1
    let i = 0;
    const varint = () => {
      let value = 0, shift = 0, byte;
      do { byte = bytes[i++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; }
      while (byte & 0x80 && i < bytes.length);
      return value;
    };
    while (i < bytes.length) {
      const key = varint(), field = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) { const value = varint(); if (field === FINISHED) return value; }
      else if (wire === 2) { const length = varint(); i += length; }  // not i += varint()
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else return -1;
    }
    return -1;
  };
  const count = (buffer) => {
    const found = status(new Uint8Array(buffer));
    if (found >= 0 && found !== EARLY_FOR_RERUN) {
      window.__senimRuns += 1;
      window.__senimLastRunEnd = performance.now();
    }
  };
  const Native = window.WebSocket;
  function Counted(url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener('message', (event) => {
      if (event.data instanceof ArrayBuffer) count(event.data);
      else if (event.data instanceof Blob) event.data.arrayBuffer().then(count);
    });
    return socket;
  }
  Counted.prototype = Native.prototype;
  for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Counted[name] = Native[name];
  window.WebSocket = Counted;
})();
"""


def prepare(page: Page) -> None:
    """Install the run counter; call once per page before the first goto."""
    page.add_init_script(RUN_COUNTER)


def wait_for_app(page: Page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit is connected and has finished running the script."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms
    )
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=timeout_ms)


# The time of the first frame painted after now (two animation frames: layout, then paint).
PAINTED = (
    "new Promise(r => requestAnimationFrame(() => requestAnimationFrame("
    "() => r(performance.now()))))"
)


def runs(page: Page) -> int:
    """How many script runs have finished in this page so far."""
    return int(page.evaluate("window.__senimRuns || 0"))


def wait_for_rerun(page: Page, before: int, timeout_ms: int = 60_000) -> None:
    """Wait until a script run after ``before`` finished runs has finished."""
    page.wait_for_function(f"(window.__senimRuns || 0) > {before}", timeout=timeout_ms)
    wait_for_app(page, timeout_ms)


def submit_sign_in(
    page: Page, user: tuple[str, str], lang: str, *, title_key: str | None = None
) -> None:
    """Fill the sign-in form as a person does and wait for the run it starts; with
    ``title_key``, also wait until that page's title shows."""
    from playwright.sync_api import expect

    page.get_by_label(translate("auth.username", lang)).fill(user[0])
    page.get_by_label(translate("auth.password", lang), exact=True).fill(user[1])
    before = runs(page)
    page.get_by_role("button", name=translate("auth.sign_in", lang)).click()
    wait_for_rerun(page, before)
    if title_key:
        expect(page.locator("h1").first).to_have_text(translate(title_key, lang))


def upload_new_wave(page: Page, tmp_path: Path, *, wave: str, prefix: str) -> None:
    """A staff member uploads a 240-row wave of ``wave`` through the Upload page (kk): open the
    page, check the file, load it."""
    rows = [
        f"{prefix}-{i},public_trust_council,{wave},{region},female,40,1,8,8,да,да"
        for i, region in enumerate(["Алматы", "Астана", "Шымкент", "ВКО"] * 60)
    ]
    csv_file = tmp_path / "new-wave.csv"
    csv_file.write_text(
        "respondent_id,source,wave,region,sex,age,weight,trust_government,"
        "trust_police,submitted_proposal,received_response\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    before = runs(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text(translate("nav.upload", "kk"), exact=True).click()
    wait_for_rerun(page, before)
    before = runs(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv_file))
    wait_for_rerun(page, before)
    expect(page.get_by_text(translate("upload.valid", "kk", rows=240))).to_be_visible()
    before = runs(page)
    page.get_by_role("button", name=translate("upload.load", "kk"), exact=True).click()
    wait_for_rerun(page, before)
