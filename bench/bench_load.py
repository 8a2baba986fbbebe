"""Load test: N concurrent browser sessions (headless Chromium, one context each) change
filters on the Overview for a fixed time against a database of RESPONSES survey responses.
Reports p50/p95 page-update time, errors (timeouts or exceptions on the page) and the
server's peak memory. Loopback only; bounded in time. Usage:
python bench/bench_load.py [RESPONSES] [SESSIONS] [SECONDS]"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.async_api import async_playwright

from bench.common import demo_database, percentile
from queries.reference.regions import reference_regions
from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, PAINTED, RUN_COUNTER, serve_app

LIGHT = os.environ.get("SENIM_LOAD_LIGHT", "1") == "1"  # SENIM_LOAD_LIGHT=0: full rendering


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def session(browser, app: str, names: list[str], clock: dict, out: dict, seed: int):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.add_init_script(RUN_COUNTER)
    rng = random.Random(seed)
    try:
        await page.goto(f"{app}/?lang=en", timeout=600_000)
        await page.wait_for_function("window.__senimRuns >= 1", timeout=600_000)
        clock["loaded"] += 1
        if clock["loaded"] == clock["sessions"]:  # the measured minute starts when all are in
            clock["until"] = time.monotonic() + clock["seconds"]
            clock["go"].set()
        await clock["go"].wait()
        while time.monotonic() < clock["until"]:
            name = rng.choice(names)
            try:
                await page.locator(".st-key-f_region input").click(timeout=30_000)
                await page.keyboard.type(name)
                before = await page.evaluate("window.__senimRuns")
                clicked = await page.evaluate("performance.now()")
                await page.get_by_role("option", name=name, exact=True).click(timeout=30_000)
                await page.wait_for_function(f"window.__senimRuns > {before}", timeout=60_000)
                painted = await page.evaluate(PAINTED)
                await page.keyboard.press("Escape")
                out["times"].append((painted - clicked) / 1000)
                if await page.locator('[data-testid="stException"]').count():
                    out["errors"] += 1
                    out["exceptions"] += 1
                if rng.random() < 0.3:  # sometimes clear the filter, as people do
                    await page.locator(".st-key-f_region [aria-label='Clear all']").click(
                        timeout=10_000
                    )
                    await page.wait_for_function(
                        f"window.__senimRuns > {before + 1}", timeout=60_000
                    )
            except Exception as exc:  # a timeout is an error of the run, counted
                out["errors"] += 1
                out["messages"].append(type(exc).__name__)
    finally:
        await context.close()


async def run(app: str, sessions: int, seconds: float) -> dict:
    names = reference_regions().get_column("name_en").to_list()
    out = {"times": [], "errors": 0, "exceptions": 0, "messages": []}
    async with async_playwright() as playwright:
        # Twenty software-rendered WebGL maps would swamp the two cores this generator shares with
        # the server; without WebGL the map alone is left blank and everything else is drawn.
        args = CHROMIUM_ARGS + (["--disable-webgl", "--disable-3d-apis"] if LIGHT else [])
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        clock = {
            "loaded": 0,
            "sessions": sessions,
            "seconds": seconds,
            "until": 0.0,
            "go": asyncio.Event(),
        }
        await asyncio.gather(
            *(session(browser, app, names, clock, out, i) for i in range(sessions))
        )
        await browser.close()
    return out


def main() -> None:
    responses = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    url = demo_database(responses)
    with serve_app(url, log_name="bench-load.log", env={"SENIM_REQUIRE_LOGIN": "0"}) as (
        app,
        process,
    ):
        peak = [rss_mb(process.pid)]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                peak.append(rss_mb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started, cpu_before = time.monotonic(), cpu_seconds(process.pid)
        out = asyncio.run(run(app, sessions, seconds))
        done.set()
        elapsed = time.monotonic() - started
        server_cpu = cpu_seconds(process.pid) - cpu_before
    times = out["times"]
    print(
        f"{sessions} browser sessions for {elapsed:.0f} s (incl. first load), "
        f"{responses:,} responses; {len(times)} filter changes"
    )
    if times:
        print(
            f"  page update p50 {percentile(times, 50):.2f} s, p95 {percentile(times, 95):.2f} s,"
            f" max {max(times):.2f} s"
        )
    print(
        f"  errors: {out['errors']} (exceptions shown by the app: {out['exceptions']}; "
        f"client-side waits that timed out: {out['errors'] - out['exceptions']} "
        f"{sorted(set(out['messages']))})"
    )
    print(
        f"  server memory: peak {max(peak):,.0f} MB RSS; server CPU {server_cpu:,.0f} s in "
        f"{elapsed:,.0f} s of wall time on {os.cpu_count()} cores (the browsers use the rest)"
    )


if __name__ == "__main__":
    main()
