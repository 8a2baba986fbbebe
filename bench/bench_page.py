"""Filter change → page drawn, measured in the browser (headless Chromium), with 1,000,000
survey responses loaded. Each step adds a region to the Regions filter on the Overview and
times, inside the page, from the click to the first painted frame after the rerun finished.
Usage: python bench/bench_page.py [RESPONSES] [STEPS]"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import demo_database, percentile
from dashboard.i18n import translate
from queries.reference.regions import reference_regions
from tests.e2e.server import PAINTED, chromium, prepare, runs, serve_app, wait_for_app


def main() -> None:
    responses = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    url = demo_database(responses)
    names = reference_regions().sort("population", descending=True).get_column("name_en")
    with (
        serve_app(url, log_name="bench-page.log", env={"SENIM_REQUIRE_LOGIN": "0"}) as (
            app,
            _process,
        ),
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        prepare(page)
        started = time.perf_counter()
        page.goto(f"{app}/?lang=en")
        wait_for_app(page, timeout_ms=600_000)
        print(f"first page (loads the data once): {time.perf_counter() - started:.1f} s")
        timings = []
        for step in range(steps):
            page.locator(".st-key-f_region input").click()
            page.keyboard.type(names[step % len(names)])
            option = page.get_by_role("option", name=names[step % len(names)], exact=True)
            before = runs(page)
            clicked = page.evaluate("performance.now()")
            option.click()
            page.wait_for_function(f"window.__senimRuns > {before}", timeout=120_000)
            painted = page.evaluate(PAINTED)
            page.keyboard.press("Escape")
            timings.append((painted - clicked) / 1000)
        errors = page.locator('[data-testid="stException"]').count()
    print(
        f"{responses:,} responses; {steps} filter changes on the Overview "
        f"({translate('overview.title', 'en')}):"
    )
    print(
        f"  median {statistics.median(timings):.2f} s, p95 {percentile(timings, 95):.2f} s, "
        f"max {max(timings):.2f} s; errors on page: {errors}"
    )


if __name__ == "__main__":
    main()
