"""Server time of a Regions filter change alone (issue 11), through Streamlit's own protocol:
``bench_page``'s sessions and seeded filter changes, on the Regions page only, so a change to
that page is measured in a few minutes (more changes, less waiting on the other pages). One
signed-in session per language (kk, ru, en) on one server; per change the wall time from
sending the rerun to ``script_finished`` and the server's CPU time. ``--against``: an earlier
checkout served on the same database first, printed above this tree. ``--spy SECONDS``: py-spy
records this tree's server (raw stacks in artifacts/) while the changes run.

    .venv/bin/python bench/bench_regions.py [--sizes 1000000 10000000] [--steps 20]
        [--against /tmp/tree-of-an-earlier-commit] [--spy 60] [--db /tmp/copy.db]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_page import PagesResult, PageTimes, _one_page, _signed_in, _Tally
from bench.common import demo_database
from bench.serving import ARTIFACTS, LANGUAGES, NOW, Design, add_bench_user, load_average, serve

PAGE = "regions"


def measure(design: Design, url: str, *, steps: int, spy: int, seed: int = 11) -> PagesResult:
    """Serve ``design`` and make ``steps`` Regions filter changes in each language."""
    add_bench_user(design, url)
    with serve(design, url, log_name=f"bench-regions-{design.name}.log") as served:
        pid = served.process.pid
        spying = None
        if spy:
            out = ARTIFACTS / f"spy-regions-{design.name}.txt"
            spying = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record",
                                       "-p", str(pid), "-d", str(spy), "-r", "200", "-f", "raw",
                                       "-o", str(out)], stdout=subprocess.DEVNULL)  # fmt: skip
        rng, tally = random.Random(seed), _Tally()
        for lang in LANGUAGES:
            with _signed_in(served.url, lang) as session:
                _one_page(session, PAGE, lang, steps=steps, pid=pid, rng=rng, tally=tally)
        if spying is not None:
            spying.wait()
        after = served.rss.now()
        peak = max(served.rss.peak, after)
    times = PageTimes(PAGE, tally.first.get(PAGE), tuple(tally.changes[PAGE]),
                      tuple(tally.cpu[PAGE]), tally.exceptions[PAGE])  # fmt: skip
    return PagesResult((times,), after, peak, load_average())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--steps", type=int, default=20, help="filter changes per language")
    parser.add_argument("--against", type=Path, help="an earlier checkout, served first")
    parser.add_argument("--spy", type=int, default=0, help="py-spy this tree's server (s)")
    parser.add_argument(
        "--db",
        type=Path,
        nargs="+",
        default=[],
        help="these SQLite files instead of --sizes (a copy at today's schema)",
    )
    args = parser.parse_args()
    for size in args.db or args.sizes:
        url = f"sqlite:///{size.resolve()}" if isinstance(size, Path) else demo_database(size)
        earlier = [Design(args.against.name, args.against)] if args.against else []
        for design in (*earlier, NOW):
            spy = args.spy if design is NOW else 0
            result = measure(design, url, steps=args.steps, spy=spy)
            name = size.name if isinstance(size, Path) else f"{size:,} responses"
            print(f"{name}, {design.name} design, Regions in {', '.join(LANGUAGES)}:")
            for line in result.lines():
                print(f"  {line}", flush=True)


if __name__ == "__main__":
    main()
