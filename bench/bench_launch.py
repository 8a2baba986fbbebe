"""Where a launch's seconds go (issue 11): one server launch -> signed in -> Overview drawn in
Chromium, as a timeline of the server's and the browser's events, for each design's
``dashboard/serve.py`` (the ``make run`` entry) on its own copy of a demo database.

The served script is the design's serve.py with a line put first that wraps a few functions
(``install_timeline``) so each call's start and end are written to a file: the engine's schema
check (``init_db``), the password check, the snapshot read, the first raking, the Overview's
numbers. The browser records its navigations, the sign-in click and each script run's end.
Usage: python bench/bench_launch.py [--sizes 100000] [--launches 2] [--base DIR]
       [--trees now=. before=/tmp/h2-before]"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import demo_database
from bench.serving import ADD_USER, USER
from bench.timeline import TIMELINE_ENV
from dashboard.i18n import translate
from tests.e2e.server import ARTIFACTS, chromium, free_port, streamlit_command, wait_healthy

# the tree's own modules first; install_timeline loaded by path (nothing of this tree imported)
PREFIX = """import runpy, sys
sys.path.insert(0, {tree!r})
runpy.run_path({bench!r}, run_name="senim_bench_launch")["install_timeline"]()
"""

# Epoch milliseconds of the page's navigations, the sign-in click (kept in sessionStorage across
# the cookie hand-off's redirect), each script run's end, the first chart and the map drawn.
PROBE = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const page = sessionStorage.getItem('lc') ? 'Overview page' : 'sign-in page';
  const b = window.__launch = {start: performance.timeOrigin, firstChart: null, mapDrawn: null,
                               runs: JSON.parse(sessionStorage.getItem('lr') || '[]'),
                               click: Number(sessionStorage.getItem('lc')) || null};
  const note = (text, at) => { b.runs.push([text, at]); sessionStorage.setItem('lr', JSON.stringify(b.runs)); };
  note(`${page}: navigation starts`, performance.timeOrigin);
  document.addEventListener('DOMContentLoaded', () => note(`${page}: HTML and scripts parsed`, now()));
  document.addEventListener('click', () => {
    if (window.__armed && b.click === null) { b.click = now(); sessionStorage.setItem('lc', b.click); }
  }, true);
  // the page's main thread busy for 0.2 s or more at a time (parsing, drawing): one line each
  new PerformanceObserver((list) => list.getEntries().forEach((task) => {
    if (task.duration >= 200) note(`${page}: main thread busy ${(task.duration / 1000).toFixed(2)} s`, performance.timeOrigin + task.startTime);
  })).observe({type: 'longtask', buffered: true});
  let last = null;
  new MutationObserver(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    if (state && state !== last) { last = state; note(`${page}: script ${state}`, now()); }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
  const tick = () => {
    if (b.click !== null) {
      const charts = [...document.querySelectorAll('.js-plotly-plot')]
        .filter(gd => !gd.closest('.st-key-senim_map_preload'));
      if (b.firstChart === null && charts.some(gd => gd.querySelector('.main-svg'))) b.firstChart = now();
      for (const gd of charts) {
        const sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
        if (b.mapDrawn === null && sub && sub.map && sub.map.loaded()
            && gd.querySelector('.maplibregl-canvas')) b.mapDrawn = now();
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""  # noqa: E501


def wrapped_serve(tree: Path, folder: Path) -> Path:
    """The tree's serve.py with install_timeline() put first (its paths kept pointing at it)."""
    serve = tree / "dashboard" / "serve.py"
    text = serve.read_text(encoding="utf-8").replace("Path(__file__)", f"Path({str(serve)!r})")
    script = folder / f"serve-{tree.name}.py"
    future = "from __future__ import annotations\n"
    prefix = PREFIX.format(tree=str(tree), bench=str(Path(__file__).with_name("timeline.py")))
    script.write_text(text.replace(future, future + prefix, 1), encoding="utf-8")
    return script


def add_user(tree: Path, url: str) -> None:
    """The bench account (if missing), by the tree's own code, after its schema upgrade."""
    code = (
        "import sys; from queries.db import init_db, make_engine; init_db(make_engine(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", code + ADD_USER, url, *USER], cwd=tree, check=True)


def launch(browser, tree: Path, url: str, folder: Path) -> list[tuple[float, str]]:
    """One launch of ``tree``'s serve.py on ``url``; the timeline's events (epoch s, text)."""
    timeline = folder / f"timeline-{tree.name}.jsonl"
    timeline.unlink(missing_ok=True)
    port = free_port()
    env = {**os.environ, "SENIM_DATABASE_URL": url, "SENIM_REQUIRE_LOGIN": "1",
           TIMELINE_ENV: str(timeline)}  # fmt: skip
    events: list[tuple[float, str]] = []
    mark = lambda text: events.append((time.time(), text))  # noqa: E731
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / f"bench-launch-{tree.name}.log").open("w") as log:
        mark("server process started")
        command = streamlit_command(wrapped_serve(tree, folder), port)
        process = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            app = f"http://127.0.0.1:{port}"
            wait_healthy(app, process, deadline_s=180)
            mark("health URL answers")
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(180_000)
            page.add_init_script(PROBE)
            mark("browser tab opened")
            page.goto(app)
            page.get_by_label(translate("auth.username", "kk")).fill(USER[0])
            mark("sign-in form shown and filled")
            page.get_by_label(translate("auth.password", "kk"), exact=True).fill(USER[1])
            page.evaluate("window.__armed = true")
            page.get_by_role("button", name=translate("auth.sign_in", "kk")).click()
            page.wait_for_function("window.__launch && window.__launch.mapDrawn !== null")
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
            mark("Overview drawn, last run finished (the launch figure ends here)")
            probe = page.evaluate("window.__launch")
            context.close()
        finally:
            process.terminate()
            process.wait(timeout=20)
    events += [(probe["click"] / 1000, "sign-in clicked"),
               (probe["firstChart"] / 1000, "first Overview chart drawn"),
               (probe["mapDrawn"] / 1000, "map drawn")]  # fmt: skip
    events += [(t / 1000, text) for text, t in probe["runs"]]
    for line in timeline.read_text().splitlines():
        event = json.loads(line)
        where = f" [{event['thread']}]" if "thread" in event else ""
        if "end" in event:
            took = event["end"] - event["start"]
            events.append((event["start"], f"{event['name']}{where} starts ({took:.2f} s)"))
            events.append((event["end"], f"{event['name']}{where} ends"))
        else:
            events.append((event["start"], event["name"]))
    return sorted(events)


# The launch cut in four: (name, event it starts at, event it ends at); the last match of each.
SEGMENTS = (
    ("server start to health URL", "server process started", "health URL answers"),
    ("tab opened to sign-in form filled", "browser tab opened", "sign-in form shown and filled"),
    ("sign-in click to Overview run done", "sign-in clicked", "Overview page: script notRunning"),
    ("Overview run done to drawn", "Overview page: script notRunning", "Overview drawn"),
)


def segments(events: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds of each SEGMENT in one launch's timeline."""
    at = {}
    for when, text in events:
        for _, *marks in SEGMENTS:
            for mark in marks:
                if text.startswith(mark):
                    at[mark] = when
    return {name: at[end] - at[start] for name, start, end in SEGMENTS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--trees", nargs="+", default=["now=."], help="name=path pairs")
    parser.add_argument("--launches", type=int, default=2, help="per tree and size")
    parser.add_argument("--base", type=Path, help="folder of base-<size>.db files to copy from "
                        "(a schema every tree can open) instead of var/bench")  # fmt: skip
    args = parser.parse_args()
    trees = {k: Path(v).resolve() for k, v in (t.split("=", 1) for t in args.trees)}
    with chromium() as browser, tempfile.TemporaryDirectory(prefix="senim-launch-") as tmp:
        folder = Path(tmp)
        for size in args.sizes:
            source = (args.base / f"base-{size}.db" if args.base
                      else Path(demo_database(size).removeprefix("sqlite:///")))  # fmt: skip
            urls = {}
            for name, tree in trees.items():
                copy = folder / f"{name}-{size}.db"
                shutil.copyfile(source, copy)  # each design migrates its own copy
                urls[name] = f"sqlite:///{copy}"
                add_user(tree, urls[name])
            totals: dict[str, list[float]] = {name: [] for name in trees}
            parts: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            last = {}
            for number in range(1, args.launches + 1):  # the trees in turn: alike under load
                for name, tree in trees.items():
                    last[name] = launch(browser, tree, urls[name], folder)
                    total = last[name][-1][0] - last[name][0][0]
                    totals[name].append(total)
                    parts[name].append(segments(last[name]))
                    print(f"{size:,} responses, {name}, launch {number}: {total:.2f} s, "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
            for name, events in last.items():
                print(f"{size:,} responses, {name} ({trees[name]}), last launch's timeline:")
                for at, text in events:
                    print(f"  {at - events[0][0]:6.2f} s  {text}", flush=True)
            for name, times in totals.items():
                later = statistics.median(times[1:]) if len(times) > 1 else times[0]
                print(f"{size:,} responses, {name}: launches {', '.join(f'{t:.2f}' for t in times)}"
                      f" s; median after the first {later:.2f} s", flush=True)  # fmt: skip
                runs = parts[name][1:] or parts[name]
                for segment, *_ in SEGMENTS:
                    median = statistics.median(r[segment] for r in runs)
                    print(f"    {segment:<36} median {median:5.2f} s", flush=True)
            for name in trees:
                Path(urls[name].removeprefix("sqlite:///")).unlink()


if __name__ == "__main__":
    main()
