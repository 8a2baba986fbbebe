"""In-process server CPU of a filter-change rerun of the Overview and Regions pages (issue 11):
the whole script (sidebar, auth check, figures, tables, i18n) through AppTest on a demo
database, alternating between two filter selections. Prints the median and p95 CPU time
(``time.process_time``) per page; ``--profile`` prints cProfile's top functions for one rerun.

``--entry`` runs the entry point (dashboard/app.py) on each page instead of the view alone,
signed in through a real session row: the session check, the sidebar and the garbage pass the
server makes after each run (AppTest's own runner skips it) count too. ``--misses`` (with
``--entry``): the changes walk the four filters as the websocket load does (bench/walk.py,
seeded), so nearly every run computes numbers the caches have not seen, instead of switching
between two selections (cache hits after the first two runs). ``--against DIR`` first
runs the same measurement on another checkout of this repository (``git worktree add DIR
COMMIT``; its own dashboard and queries, in a process of its own), so an earlier commit prints
above this tree in one run.

    .venv/bin/python bench/bench_rerun.py --db var/bench/demo-100000.db [--runs 20] [--profile]
    .venv/bin/python bench/bench_rerun.py --entry --pages overview regions feedback ngo drivers \
        --against /tmp/earlier-tree [--misses]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pstats
import sys
import time
from pathlib import Path

# the tree measured: this one, or the --against checkout (set for its own process)
ROOT = Path(os.environ.get("SENIM_BENCH_TREE") or Path(__file__).resolve().parents[1]).resolve()
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.common import percentile  # noqa: E402

USER = {"username": "bench-staff", "role": "staff", "expires_at": 4_102_444_800}
# Two selections a user switches between: the sidebar's region filter on and off.
SELECTIONS = ([], ["KZ-75"])
# --dump: selections that reach every branch of the figures (a region split by the 2022 reform
# draws the reform line; few responses leave dots out), the charts' JSON written per selection.
DUMP_SELECTIONS = ([], ["KZ-75"], ["KZ-10"], ["KZ-75", "KZ-11", "KZ-10"])


def _script(name: str) -> None:
    """The script AppTest runs (its source only): one view, profiled into the file named by
    SENIM_RERUN_PROFILE when set (the script runs in its own thread, out of reach of a
    profiler started in the main one)."""
    import cProfile
    import importlib
    import os
    import sys

    sys.path.insert(0, os.getcwd())
    render = importlib.import_module(f"dashboard.views.{name}").render
    out = os.environ.pop("SENIM_RERUN_PROFILE", None)
    if not out:
        render()
        return
    prof = cProfile.Profile()
    try:
        prof.runcall(render)
    finally:
        prof.dump_stats(out)


def dump(page: str, *, lang: str) -> list:
    """What the page sends for each of DUMP_SELECTIONS: every chart's JSON and the other
    elements' values, to compare two trees' output."""
    at = AppTest.from_function(_script, args=(page,), default_timeout=300)
    at.session_state["lang"] = lang
    at.session_state["senim_user"] = dict(USER)
    at.run()
    shown = []
    for selection in DUMP_SELECTIONS:
        at.multiselect(key="f_region").set_value(selection)
        at.run()
        assert not at.exception, at.exception
        charts = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
        texts = [str(getattr(el, "value", "")) for el in at.main]
        shown.append({"selection": selection, "charts": charts, "texts": texts})
    return shown


def reruns(page: str, *, runs: int, lang: str, profile: bool) -> list[float]:
    """CPU seconds of ``runs`` filter changes on ``page`` (first two runs warm the caches)."""
    at = AppTest.from_function(_script, args=(page,), default_timeout=300)
    at.session_state["lang"] = lang
    at.session_state["senim_user"] = dict(USER)
    at.run()
    times = []
    for i in range(runs + 2):
        at.multiselect(key="f_region").set_value(SELECTIONS[i % 2])
        out = f"/tmp/senim-rerun-{page}.prof"
        if profile and i == runs + 1:
            os.environ["SENIM_RERUN_PROFILE"] = out
        start = time.process_time()
        at.run()
        elapsed = time.process_time() - start
        if profile and i == runs + 1:
            stats = pstats.Stats(out).sort_stats("cumulative")
            print(f"--- {page}: cumulative ---")
            stats.print_stats(45)
            print(f"--- {page}: own time ---")
            stats.sort_stats("tottime").print_stats(30)
        assert not at.exception, at.exception
        if i >= 2:
            times.append(elapsed)
    return times


def entry_reruns(page: str, *, runs: int, lang: str, misses: bool = False) -> list[float]:
    """CPU seconds of ``runs`` filter changes on ``page`` through dashboard/app.py, signed in
    with a real session (the first two runs warm the caches), each with the garbage pass the
    server makes after it; ``misses``: the load's walk over the filters instead of two
    selections."""
    from streamlit import config
    from streamlit.util import calc_hash

    from queries.access import sessions
    from queries.db import engine_for

    username = USER["username"]
    sid, _code = sessions.open_session(engine_for(os.environ["SENIM_DATABASE_URL"]),
                                       username=username, method="password")  # fmt: skip
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
    at.session_state["lang"] = lang
    at.session_state["senim_user"] = {**USER, "sid": sid, "expires_at": time.time() + 3600}
    at._page_hash = calc_hash("" if page == "overview" else page)  # st.Page: its url_path
    at.run()
    assert not at.exception and "senim_user" in at.session_state, (at.exception, at.title)
    # The server collects garbage over the whole heap after every run when runner.postScriptGC
    # is on (off in .streamlit/config.toml);
    # AppTest's runner does not, so the bench does it where the server would.
    collect = config.get_option("runner.postScriptGC")
    times = []
    for i, chosen in enumerate(_changes(runs + 2, misses=misses)):
        for key, values in chosen.items():
            at.multiselect(key=key).set_value(list(values))
        start = time.process_time()
        at.run()
        if collect:
            gc.collect(2)
        elapsed = time.process_time() - start
        assert not at.exception, at.exception
        assert "senim_user" in at.session_state, "the bench user was signed out"
        if i >= 2:
            times.append(elapsed)
    return times


def _changes(count: int, *, misses: bool) -> list[dict[str, tuple[str, ...]]]:
    """Each run's multiselect values: the two selections in turn, or the load's walk."""
    if not misses:
        return [{"f_region": tuple(SELECTIONS[i % 2])} for i in range(count)]
    from bench.walk import selections
    from queries.reference.regions import reference_regions

    regions = reference_regions().get_column("code").to_list()
    keys = {"regions": "f_region", "sexes": "f_sex", "age_groups": "f_age",
            "settlements": "f_settlement"}  # fmt: skip
    return [{keys[k]: v for k, v in chosen.items()}
            for chosen in selections(regions, count, seed=5)]  # fmt: skip


def _bench_account(url: str) -> None:
    """The bench user's account (staff) in the database, created once, with the password the
    websocket benches sign in with (bench/serving.py)."""
    from bench.serving import USER as ACCOUNT
    from queries.access.accounts import create_user, get_user
    from queries.db import engine_for

    if get_user(engine_for(url), ACCOUNT[0]) is None:
        create_user(engine_for(url), *ACCOUNT, role=USER["role"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(ROOT / "var/bench/demo-100000.db"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pages", nargs="+", default=["overview", "regions"])
    parser.add_argument("--lang", default="ru")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--dump", help="write the pages' output (JSON) to this file and stop")
    parser.add_argument("--entry", action="store_true", help="through app.py, real session")
    parser.add_argument("--misses", action="store_true", help="--entry: the load's filter walk")
    parser.add_argument("--against", type=Path, help="an earlier checkout, measured first")
    args = parser.parse_args()
    if args.against:
        import subprocess

        argv = [a for a in sys.argv[1:] if a not in ("--against", str(args.against))]
        argv += [] if "--db" in argv else ["--db", args.db]
        print(f"--- {args.against} ---", flush=True)
        subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv],
                       env={**os.environ, "SENIM_BENCH_TREE": str(args.against.resolve())},
                       check=True)  # fmt: skip
        print(f"--- {ROOT} ---", flush=True)
    os.environ["SENIM_DATABASE_URL"] = f"sqlite:///{Path(args.db).resolve()}"
    os.environ["SENIM_REQUIRE_LOGIN"] = "1"
    os.chdir(ROOT)
    if args.entry:
        _bench_account(os.environ["SENIM_DATABASE_URL"])
        for page in args.pages:
            times = entry_reruns(page, runs=args.runs, lang=args.lang, misses=args.misses)
            print(
                f"{page:10s} filter change CPU through app.py{' (misses)' if args.misses else ''}: "
                f"median "
                f"{percentile(times, 50) * 1000:6.1f} ms, p95 {percentile(times, 95) * 1000:6.1f}"
                f" ms over {len(times)} reruns",
                flush=True,
            )
        return
    if args.dump:
        out = {f"{p}/{lang}": dump(p, lang=lang) for p in args.pages for lang in ("ru", "en")}
        Path(args.dump).write_text(json.dumps(out, ensure_ascii=False, sort_keys=True))
        return
    for page in args.pages:
        times = reruns(page, runs=args.runs, lang=args.lang, profile=args.profile)
        print(
            f"{page:10s} filter change CPU: median {percentile(times, 50) * 1000:6.1f} ms, "
            f"p95 {percentile(times, 95) * 1000:6.1f} ms over {len(times)} reruns"
        )


if __name__ == "__main__":
    main()
