"""Every figure of issue 11, today's design beside the previous design's (``make bench``).

Per design and size (the previous design at ``--before-size``, default 1M; today's at each of
``--sizes``): in Chromium, server launch -> signed in -> Overview drawn, and with the server warm
sign-in -> first chart (bench_browser.py); the server time of filter changes on every page and the
server's memory after every page in kk, ru and en (bench_page.py); the websocket load
(bench_ws_load.py). Then the demo build and the ingest of a 1M-row file, each design beside the
other (bench_ingest.py). A size whose database is missing is built by bench/common.py, except 10M,
which is skipped with a note (its build takes long; `python -c "from bench.common import
demo_database; demo_database(10_000_000)"`).

``--backend postgresql`` measures today's design on the bench's own PostgreSQL server
(bench/postgres.py, kept under var/bench/pg; its demo databases are built on first use, 10M
included) and keeps those figures apart (``now-postgresql``).

Each figure is kept in var/bench/results/figures.json with the load average at the time (the
machine's 2 cores are shared) and the table at the end shows the newest of each, so parts can be
run separately (``--only``) and the table still comes out whole; ``--table`` prints it alone.

    .venv/bin/python bench/figures.py                        # make bench
    .venv/bin/python bench/figures.py --sizes 100000 --before-size 100000 --load-seconds 20 \\
        --sessions 10 --skip ingest demo                     # make bench-quick
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import bench_browser, bench_page, bench_ws_load
from bench.common import BENCH_DIR, ROOT, demo_database, percentile
from bench.serving import BEFORE_TREE, NOW, PAGES, PREVIOUS, previous_design_database
from tests.e2e.server import chromium

RESULTS = BENCH_DIR / "results" / "figures.json"
TEN_MILLION = 10_000_000
PARTS = ("browser", "pages", "load", "demo", "ingest")
BUILD_TIMED = """
import sys, time
import bench.common as common
common.BENCH_DIR = common.Path(sys.argv[2])  # a fresh folder: the build is timed, not reused
started = time.perf_counter()
common.demo_database(int(sys.argv[1]))
print("SECONDS", time.perf_counter() - started, "PEAK", common.peak_rss_mb())
"""


def _load() -> float:
    return os.getloadavg()[0]


def _stored() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {}


def _store(design: str, size: int, part: str, value: object) -> None:
    """Keep one measured part (with the time and the load average) in the results file."""
    results = _stored()
    results.setdefault(f"{design}-{size}", {})[part] = {
        "value": value, "load": round(_load(), 1), "at": time.strftime("%H:%M UTC", time.gmtime()),
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))


def _database(design: str, size: int, backend: str = "sqlite") -> str | None:
    if design == "before":
        return previous_design_database(size)[0]
    if backend == "postgresql":  # the bench's own server, kept under var/bench/pg
        from bench.postgres import postgres_demo_database

        return postgres_demo_database(size)
    if size >= TEN_MILLION and not (BENCH_DIR / f"demo-{size}.db").exists():
        print(f"  (skipped: var/bench/demo-{size}.db does not exist yet)", flush=True)
        return None
    return demo_database(size)


def measure_design(design: str, size: int, parts: set[str], args) -> None:
    """The server-side parts for one design and size, each stored as soon as it is measured."""
    if not parts & {"browser", "pages", "load"}:
        return
    backend = "" if design == "before" else f" on {args.backend}"
    at = time.strftime("%H:%M UTC", time.gmtime())
    print(f"\n== {design} design{backend}, {size:,} responses ({at}, load {_load():.1f})",
          flush=True)  # fmt: skip
    url = _database(design, size, args.backend)
    if url is None:
        return
    served = PREVIOUS if design == "before" else NOW
    steps = [
        ("browser", lambda: _browser(served, url, args.repeats)),
        ("pages", lambda: bench_page.measure(served, url, steps=args.steps)),
        (
            "load",
            lambda: bench_ws_load.measure(
                served,
                url,
                sessions=args.sessions,
                seconds=args.load_seconds,
                processes=args.load_processes if design == "now" else 1,
            ),
        ),
    ]
    for part, run in steps:
        if part not in parts:
            continue
        try:
            result = run()
        except Exception as exc:  # a part that fails is reported and the rest still run
            print(f"  {part}: failed: {type(exc).__name__}: {exc}", flush=True)
            _store(design, size, part, {"failed": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        for line in result.lines():
            print(f"  {line}", flush=True)
        _store(design if args.backend == "sqlite" else f"{design}-{args.backend}", size, part,
               asdict(result))  # fmt: skip


def _browser(design, url: str, repeats: int):
    with chromium() as browser:
        return bench_browser.first_page(browser, design, url, repeats=repeats)


def measure_demo(size: int) -> None:
    """Both designs' demo build of ``size`` responses, each into a fresh folder, timed."""
    for design, tree in (("before", BEFORE_TREE), ("now", ROOT)):
        with tempfile.TemporaryDirectory(prefix="senim-demo-build-", dir=BENCH_DIR) as folder:
            done = subprocess.run([sys.executable, "-c", BUILD_TIMED, str(size), folder],
                                  cwd=tree, capture_output=True, text=True)  # fmt: skip
        found = re.search(r"SECONDS (\S+) PEAK (\S+)", done.stdout)
        if not found:
            print(f"  demo build ({design}) failed: {done.stderr[-500:]}", flush=True)
            continue
        seconds, peak = float(found[1]), float(found[2])
        print(f"  demo build, {design} design, {size:,} responses: {seconds:.1f} s, peak RSS "
              f"{peak:,.0f} MB (load {_load():.1f})", flush=True)  # fmt: skip
        _store(design, size, "demo", {"seconds": seconds, "peak_mb": peak})


def logged_build() -> None:
    """The 10M demo build's own figures, from the log bench/common.py wrote while building it."""
    log = BENCH_DIR / f"demo-{TEN_MILLION}.log"
    built = re.search(r"built \S+ in (\S+) s, peak RSS (\S+) MB", log.read_text()) if (
        log.exists()) else None  # fmt: skip
    if built:
        print(f"  demo build at 10M (its log): {built[1]} s, peak RSS {built[2]} MB", flush=True)
        _store("now", TEN_MILLION, "demo", {"seconds": float(built[1]),
                                            "peak_mb": float(built[2])})  # fmt: skip


def measure_ingest(rows: int, repeat: int) -> None:
    """bench_ingest.py as it is (its own side-by-side table, which H5 owns); the first design's
    (the previous one) and the last's (this tree) totals and peaks kept for the table: medians
    of ``repeat`` loads each, the designs in turn."""
    command = [sys.executable, "bench/bench_ingest.py", str(rows), "--repeat", str(repeat)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    print(done.stdout, done.stderr[-2000:] if done.returncode else "", flush=True)
    backend = None
    for line in done.stdout.splitlines():
        if line.startswith(("sqlite", "postgresql")):  # a table's head; not the rebuild tables
            head = re.match(r"(sqlite|postgresql): (?!summaries)", line)
            backend = head[1] if head else None
        for label, key, unit in (("total", "seconds", "s"), ("peak RSS", "peak_mb", "MB")):
            if backend and line.strip().startswith(label):
                values = re.findall(rf"([\d,.]+) {unit}", line)
                if len(values) >= 2:
                    for design, value in (("before", values[0]), ("now", values[-1])):
                        _store(design, rows, f"ingest-{backend}-{key}",
                               float(value.replace(",", "")))  # fmt: skip


def _cell(entry: dict | None, pick) -> str:
    """A figure with the load average it was taken under ('-' when not measured)."""
    if entry is None:
        return "-"
    value = entry["value"]
    if isinstance(value, dict) and "failed" in value:
        return "failed"
    with contextlib.suppress(KeyError, TypeError, IndexError):
        shown = pick(value)
        return "-" if shown is None else f"{shown} (L{entry['load']:g})"
    return "-"


def _page(name: str):
    def pick(value: dict) -> str | None:
        (page,) = [p for p in value["pages"] if p["page"] == name]
        if not page["changes_s"]:  # no such page in the design, or no run finished in time
            return f"timed out ({page['timeouts']} languages)" if page.get("timeouts") else None
        wall, cpu = page["changes_s"], page.get("cpu_s")

        def ms(times: list[float]) -> str:
            return f"{percentile(times, 50) * 1000:,.0f} / {percentile(times, 95) * 1000:,.0f}"

        late = f", timed out in {page['timeouts']} languages" if page.get("timeouts") else ""
        return f"{ms(wall)} ms" + (f" (CPU {ms(cpu)})" if cpu else "") + late

    return pick


def _s(key: str):
    return lambda v: None if v[key] is None else f"{v[key]:.1f} s"


ROWS = [  # (figure, part, how to show it, goal)
    ("launch -> signed in -> Overview drawn (Chromium)", "browser", _s("launch_s"),
     "< 8 s at 10M; 100k/1M within 20%"),
    ("warm server: sign-in -> first chart", "browser", _s("warm_first_chart_s"), "< 2 s"),
    ("warm server: sign-in -> map drawn", "browser", _s("warm_map_drawn_s"), ""),
    *[(f"filter change, {p}: server time p50 / p95 (server CPU)", "pages", _page(p),
       "p95 < 150 ms, flat")
      for p in PAGES],
    ("server RSS after every page in kk/ru/en", "pages",
     lambda v: f"{v['rss_after_mb']:,.0f} MB", "< 500 MB at 10M"),
    ("server RSS peak over those visits", "pages", lambda v: f"{v['rss_peak_mb']:,.0f} MB", ""),
    ("websocket load: sessions x seconds, reruns", "load",
     lambda v: f"{v['sessions']}x{v['seconds']:.0f}s, {v['reruns']}", "50 x 180 s at 10M"),
    ("websocket load: rerun p50 / p95", "load",
     lambda v: f"{v['p50_s'] * 1000:,.0f} / {v['p95_s'] * 1000:,.0f} ms", "p95 < 1 s"),
    ("websocket load: server CPU per rerun", "load",
     lambda v: f"{v['server_cpu_s'] / max(v['reruns'], 1) * 1000:,.0f} ms", ""),
    ("websocket load: errors", "load", lambda v: str(
        v["exceptions"] + v["timeouts"] + v["disconnects"] + v.get("failed_opens", 0)), "0"),
    ("websocket load: server RSS peak (with children)", "load",
     lambda v: f"{v['rss_peak_mb']:,.0f} MB", "printed"),
    ("demo build", "demo", lambda v: f"{v['seconds']:.0f} s, {v['peak_mb']:,.0f} MB",
     "< 10 min at 10M"),
    ("ingest 1M rows, SQLite", "ingest-sqlite-seconds", lambda v: f"{v:.1f} s", "< 9 s"),
    ("ingest 1M rows, SQLite, peak RSS", "ingest-sqlite-peak_mb", lambda v: f"{v:,.0f} MB", ""),
    ("ingest 1M rows, PostgreSQL", "ingest-postgresql-seconds", lambda v: f"{v:.1f} s", "< 20 s"),
    ("ingest 1M rows, PostgreSQL, peak RSS", "ingest-postgresql-peak_mb",
     lambda v: f"{v:,.0f} MB", ""),
]  # fmt: skip


def print_table(before_size: int, sizes: list[int]) -> None:
    """The newest stored figure of each (design, size), one column each, as a Markdown table."""
    results = _stored()
    columns = [("before", before_size), *(("now", s) for s in sizes)]
    heads = [f"previous design {before_size:,}", *(f"now {s:,}" for s in sizes)]
    print("\n| figure | " + " | ".join(heads) + " | goal |")
    print("|---" * (len(heads) + 2) + "|")
    for label, part, pick, goal in ROWS:
        cells = [_cell(results.get(f"{d}-{s}", {}).get(part), pick) for d, s in columns]
        print(f"| {label} | " + " | ".join(cells) + f" | {goal} |")
    print("(Lx.x: the 1-minute load average when the figure was taken; 2 cores shared)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, TEN_MILLION])
    parser.add_argument("--before-size", type=int, default=1_000_000)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--skip", nargs="+", choices=PARTS, default=[])
    parser.add_argument(
        "--designs", nargs="+", choices=("before", "now"), default=["before", "now"]
    )
    parser.add_argument("--repeats", type=int, default=3, help="warm-server browser visits")
    parser.add_argument("--steps", type=int, default=6, help="filter changes per page and language")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument(
        "--load-processes",
        type=int,
        default=1,
        help="app processes serving today's design in the load (sticky)",
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="today's design on SQLite files or on the bench's PostgreSQL (bench/postgres.py)",
    )
    parser.add_argument("--ingest-rows", type=int, default=1_000_000)
    parser.add_argument("--ingest-repeat", type=int, default=3, help="loads per design (medians)")
    parser.add_argument("--demo-size", type=int, default=1_000_000)
    parser.add_argument("--table", action="store_true", help="print the stored table only")
    args = parser.parse_args()
    parts = set(args.only) - set(args.skip)
    started = time.perf_counter()
    if not args.table:
        if "before" in args.designs:
            measure_design("before", args.before_size, parts, args)
        if "now" in args.designs:
            for size in args.sizes:
                measure_design("now", size, parts, args)
        if "demo" in parts:
            print(f"\n== demo build ({args.demo_size:,} responses)", flush=True)
            measure_demo(args.demo_size)
            logged_build()
        if "ingest" in parts:
            print(f"\n== ingest ({args.ingest_rows:,} rows; bench/bench_ingest.py)", flush=True)
            measure_ingest(args.ingest_rows, args.ingest_repeat)
        print(f"\n(this run took {(time.perf_counter() - started) / 60:.1f} min)")
    print_table(args.before_size, args.sizes)


if __name__ == "__main__":
    main()
