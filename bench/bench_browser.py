"""The browser's share (issue 11), in headless Chromium.

Default (``make bench``): for a design (today's tree, or the previous design's with
``--design before``) and each size, the time from launching the server to the Overview drawn
after signing in (a fresh browser: page opened, form filled, map drawn, last run finished),
then with that server warm, REPEATS fresh browsers: sign-in -> first chart and -> map drawn
(medians).

With ``--variants`` (100k): the map's delivery compared inside today's tree, four variants:

  before  the old behaviour, re-created in the bench only (a wrapper script patches the map
          before running dashboard/app.py): the geokz file thinned ring by ring (the replaced
          geo.py code, copied below) sent inline in every redraw, full plotly_white template;
  inline  today's tree with ``--server.enableStaticServing false`` (simplified boundaries and
          slim template, but the geometry still inline in every redraw);
  url-np  the geometry fetched once from app/static/, without the sign-in page's preload;
  url     today's tree as configured (fetched once, and preloaded on the sign-in page with the
          chart code).

The servers run side by side and are visited in turn (the machine is shared: a change in
its load falls on all alike): one round to warm them, then REPEATS rounds, each a fresh
browser (cold HTTP cache) and a second tab in it (a returning visitor); medians printed.
Usage: python bench/bench_browser.py [--sizes N ...] [--repeats 3] [--design now|before]
       python bench/bench_browser.py --variants [--sizes 100000] [--repeats 3]"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.common import ROOT, demo_database
from bench.serving import (
    NOW,
    PREVIOUS,
    USER,
    Design,
    add_bench_user,
    load_average,
    previous_design_database,
)
from bench.serving import serve as serve_design
from dashboard.i18n import translate
from queries.access.accounts import create_user
from queries.db import make_engine
from tests.e2e.server import ARTIFACTS, chromium, free_port, streamlit_command, wait_healthy

MAIN = ROOT / "dashboard" / "app.py"

# Times (performance.now) of the sign-in click, the first Plotly chart in the page, and the
# first frame after the map's MapLibre instance has loaded its sources (geometry drawn).
PROBE = """
(() => {
  const b = window.__bench = {armed: false, click: null, scriptDone: null, firstChart: null,
                               mapDrawn: null};
  // served through serve.py the sign-in moves to a cookie and the page loads again: the click
  // is carried over (epoch ms in sessionStorage) and read back relative to the new page
  const carried = sessionStorage.getItem('__benchClick');
  if (carried !== null) b.click = Number(carried) - performance.timeOrigin;
  const attr = 'data-test-script-state';  // the end of the last script run after the click
  new MutationObserver(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (b.click !== null && app && app.getAttribute(attr) === 'notRunning') {
      b.scriptDone = performance.now();
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: [attr]});
  document.addEventListener('click', () => {
    if (b.armed && b.click === null) {
      b.click = performance.now();
      sessionStorage.setItem('__benchClick', performance.timeOrigin + b.click);
    }
  }, true);
  const tick = () => {
    if (b.click !== null) {
      // The sign-in page's off-screen preload map is not a chart of the Overview.
      const charts = [...document.querySelectorAll('.js-plotly-plot')]
        .filter(gd => !gd.closest('.st-key-senim_map_preload'));
      if (b.firstChart === null && charts.some(gd => gd.querySelector('.main-svg'))) {
        b.firstChart = performance.now();
      }
      if (b.mapDrawn === null) {
        for (const gd of charts) {
          const sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
          if (sub && sub.map && sub.map.loaded() && gd.querySelector('.maplibregl-canvas')) {
            b.mapDrawn = performance.now();
          }
        }
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

CHART_SIZES = """[...document.querySelectorAll('.js-plotly-plot')]
  .map(gd => JSON.stringify({data: gd.data, layout: gd.layout}).length)"""


@dataclass(frozen=True)
class Visit:
    """One sign-in: seconds to the first chart and to the map, bytes received after it."""

    script_done_s: float  # the last script run after the click finished (server side done)
    first_chart_s: float
    map_drawn_s: float
    websocket_bytes: int
    static_bytes: int
    chart_bytes: tuple[int, ...]  # each chart's figure (data + layout) as JSON, page order
    ended: float  # time.perf_counter() when the map was drawn and the last run had finished


@contextlib.contextmanager
def serve(script: Path, url: str, *, static: bool, log_name: str) -> Iterator[str]:
    """``streamlit run script`` (the project's .streamlit config) against ``url``."""
    port = free_port()
    command = streamlit_command(script, port)
    if not static:
        command += ["--server.enableStaticServing", "false"]
    env = {**os.environ, "SENIM_DATABASE_URL": url, "SENIM_REQUIRE_LOGIN": "1"}
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / log_name).open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        try:
            app = f"http://127.0.0.1:{port}"
            wait_healthy(app, process)
            yield app
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def visit(context, app: str) -> Visit | None:
    """Open the sign-in page in a new tab of ``context``, sign in, wait until the map is drawn."""
    page = context.new_page()
    page.set_default_timeout(180_000)  # the machine is shared: waits, not measurements
    page.add_init_script(PROBE)
    received = {"ws": 0, "static": 0}

    def on_socket(socket) -> None:
        socket.on("framereceived", lambda payload: received.__setitem__(
            "ws", received["ws"] + len(payload)))  # fmt: skip

    def on_response(response) -> None:
        if "/app/static/" in response.url and response.status == 200:
            received["static"] += len(response.body())

    page.on("websocket", on_socket)
    page.on("response", on_response)
    page.goto(app)
    page.get_by_label(translate("auth.username", "kk")).fill(USER[0])
    page.get_by_label(translate("auth.password", "kk"), exact=True).fill(USER[1])
    received.update(ws=0, static=0)
    page.evaluate("window.__bench.armed = true")
    page.get_by_role("button", name=translate("auth.sign_in", "kk")).click()
    try:
        page.wait_for_function("window.__bench.mapDrawn !== null", timeout=180_000)
    except PlaywrightTimeout:
        shot = ARTIFACTS / f"bench-browser-timeout-{int(time.time())}.png"
        page.screenshot(path=str(shot))
        print(f"  (a visit of {app} did not draw the map in 180 s: {shot})", flush=True)
        page.close()
        return None
    # The run may still be drawing the rest of the page: its end is the last one recorded.
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    ended = time.perf_counter()
    times = page.evaluate("window.__bench")
    charts = page.evaluate(CHART_SIZES)
    page.close()
    return Visit(
        script_done_s=(times["scriptDone"] - times["click"]) / 1000,
        first_chart_s=(times["firstChart"] - times["click"]) / 1000,
        map_drawn_s=(times["mapDrawn"] - times["click"]) / 1000,
        websocket_bytes=received["ws"],
        static_bytes=received["static"],
        chart_bytes=tuple(charts),
        ended=ended,
    )


@dataclass(frozen=True)
class Variant:
    """One way of serving the app: the script to run and whether static files are served."""

    name: str
    script: Path
    static: bool


def measure(browser, url: str, variants: list[Variant], *, repeats: int) -> None:
    """All variants served at once and visited in turn, round after round, so a change in the
    machine's load (it is shared) falls on every variant alike. Per variant and round: a fresh
    browser (cold HTTP cache) and a second tab in it (a returning visitor). Round 0 only warms
    the servers."""
    runs: dict[tuple[str, str], list[Visit]] = {}
    with contextlib.ExitStack() as stack:
        apps = {
            v.name: stack.enter_context(
                serve(v.script, url, static=v.static, log_name=f"bench-browser-{v.name}.log")
            )
            for v in variants
        }
        for repeat in range(repeats + 1):
            for name, app in apps.items():
                context = browser.new_context(viewport={"width": 1440, "height": 1000})
                cold, warm = visit(context, app), visit(context, app)
                context.close()
                if repeat:  # a visit that timed out (None) is reported above and left out
                    runs.setdefault((name, "cold"), []).extend(v for v in [cold] if v)
                    runs.setdefault((name, "warm"), []).extend(v for v in [warm] if v)
    for (name, cache_state), visits in runs.items():
        if not visits:
            print(f"  {name:<7} {cache_state} browser: no visit drew the map", flush=True)
            continue
        done = statistics.median(v.script_done_s for v in visits)
        first = statistics.median(v.first_chart_s for v in visits)
        drawn = statistics.median(v.map_drawn_s for v in visits)
        ws = statistics.median(v.websocket_bytes for v in visits) / 1000
        static_kb = statistics.median(v.static_bytes for v in visits) / 1000
        print(f"  {name:<7} {cache_state} browser: run done {done:5.2f} s, first chart "
              f"{first:5.2f} s, map drawn {drawn:5.2f} s; received: websocket {ws:6.1f} KB, "
              f"app/static {static_kb:5.1f} KB", flush=True)  # fmt: skip
        if cache_state == "warm":
            sizes = ", ".join(f"{b / 1000:.1f}" for b in visits[-1].chart_bytes)
            print(f"          each chart's figure JSON on the Overview (KB): {sizes}", flush=True)


WRAPPER = """import sys
sys.path.insert(0, {root!r})
from bench.bench_browser import {patch}
{patch}()
import runpy
runpy.run_path({app!r}, run_name="__main__")
"""


def install_no_preload() -> None:
    """Inside the served process: today's map by URL, without the sign-in page's preload."""
    from dashboard.components import regionmap

    regionmap.preload_map = lambda: None


def install_old_map() -> None:
    """Inside the served process: the map and charts as they were before this change."""
    from dashboard.components import regionmap, theme

    regionmap.map_geometry = lambda vintage: _old_boundaries()
    theme.WHITE = "plotly_white"


@cache
def _old_boundaries() -> dict:
    """The replaced queries/reference/geo.py boundaries(): every ring thinned on its own."""
    import json

    from queries.reference.regions import reference_regions
    from queries.reference.simplify import SOURCE

    def thin(coords):
        if isinstance(coords[0], (int, float)):
            return [round(coords[0], 2), round(coords[1], 2)]
        rounded = [thin(c) for c in coords]
        if rounded and isinstance(rounded[0][0], float):  # a ring: keep points ~3 km apart
            ring = [rounded[0]]
            for point in rounded[1:-1]:
                if abs(point[0] - ring[-1][0]) + abs(point[1] - ring[-1][1]) >= 0.04:
                    ring.append(point)
            ring.append(rounded[-1])
            return ring if len(ring) >= 4 else rounded
        return rounded

    raw = json.loads(SOURCE.read_text(encoding="utf-8"))
    by_kato = {str(k): c for k, c in reference_regions().select("kato", "code").iter_rows()}
    features = []
    for feature in raw["features"]:
        code = by_kato.get(str(feature["properties"]["KATO"])[:2])
        if code is not None:
            geometry = feature["geometry"]
            thinned = {"type": geometry["type"], "coordinates": thin(geometry["coordinates"])}
            features.append(
                {"type": "Feature", "id": code, "properties": {"code": code}, "geometry": thinned}
            )
    return {"type": "FeatureCollection", "features": features}


@dataclass(frozen=True)
class FirstPage:
    """Launch -> signed in -> Overview drawn, then sign-in -> first chart with the server warm."""

    launch_s: float | None  # None: the first visit did not draw the map in time
    warm_first_chart_s: float | None
    warm_map_drawn_s: float | None
    load: str

    def lines(self) -> list[str]:
        def s(value: float | None) -> str:
            return "did not draw" if value is None else f"{value:.2f} s"

        return [
            f"server launch -> signed in -> Overview drawn (map included): {s(self.launch_s)}",
            f"warm server, sign-in -> first chart {s(self.warm_first_chart_s)}, "
            f"-> map drawn {s(self.warm_map_drawn_s)}; {self.load}",
        ]


@dataclass(frozen=True)
class Entry(Design):
    """A design served the way ``make run`` serves it: its ``dashboard/serve.py`` when it has
    one (the session-cookie routes, the allocator limits and, today, the warm-up at start),
    else ``dashboard/app.py``."""

    @property
    def app(self) -> Path:
        serve = self.tree / "dashboard" / "serve.py"
        return serve if serve.exists() else self.tree / "dashboard" / "app.py"


def first_page(browser, design: Design, url: str, *, repeats: int) -> FirstPage:
    """Launch ``design`` (through its serve.py, ``Entry``) on ``url``; the first visit from the
    launch, then ``repeats`` visits in fresh browsers (cold HTTP cache) with the server warm."""
    add_bench_user(design, url)
    entry = Entry(design.name, design.tree)
    with serve_design(entry, url, log_name=f"bench-browser-{design.name}.log") as served:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        first = visit(context, served.url)
        context.close()
        warm = []
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            warm.extend(v for v in [visit(context, served.url)] if v)
            context.close()
    return FirstPage(
        launch_s=None if first is None else first.ended - served.launched,
        warm_first_chart_s=statistics.median(v.first_chart_s for v in warm) if warm else None,
        warm_map_drawn_s=statistics.median(v.map_drawn_s for v in warm) if warm else None,
        load=load_average(),
    )


def compare_variants(responses: int, repeats: int) -> None:
    """The four ways of delivering the map (module docstring), inside today's tree."""
    source = Path(demo_database(responses).removeprefix("sqlite:///"))
    with tempfile.TemporaryDirectory(prefix="senim-bench-browser-") as folder:
        copy = Path(folder) / "senim.db"
        shutil.copyfile(source, copy)  # the bench user goes into a copy, not the shared file
        url = f"sqlite:///{copy}"
        engine = make_engine(url)
        create_user(engine, *USER, role="staff")
        engine.dispose()
        print(f"{responses:,} responses; sign-in -> Overview, warm server, median of {repeats}:")
        # Streamlit serves app/static/ from the main script's folder: the wrappers' gets a link.
        (Path(folder) / "static").symlink_to(MAIN.parent / "static")
        wrappers = {}
        for patch in ("install_old_map", "install_no_preload"):
            wrappers[patch] = Path(folder) / f"{patch}.py"
            wrappers[patch].write_text(
                WRAPPER.format(root=str(ROOT), app=str(MAIN), patch=patch), encoding="utf-8"
            )
        variants = [
            Variant("before", wrappers["install_old_map"], static=False),
            Variant("inline", MAIN, static=False),
            Variant("url-np", wrappers["install_no_preload"], static=True),
            Variant("url", MAIN, static=True),
        ]
        with chromium() as browser:
            measure(browser, url, variants, repeats=repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--design", choices=("now", "before"), default="now")
    parser.add_argument("--variants", action="store_true", help="the map delivery variants")
    args = parser.parse_args()
    if args.variants:
        for size in args.sizes:
            compare_variants(size, args.repeats)
        return
    with chromium() as browser:
        for size in args.sizes:
            if args.design == "before":
                design, (url, _built) = PREVIOUS, previous_design_database(size)
            else:
                design, url = NOW, demo_database(size)
            result = first_page(browser, design, url, repeats=args.repeats)
            print(f"{size:,} responses, {design.name} design, in Chromium:")
            for line in result.lines():
                print(f"  {line}", flush=True)


if __name__ == "__main__":
    main()
