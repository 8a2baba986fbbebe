"""The Overview at scale, summary store vs the previous design, side by side in one run.

For each demo size (SQLite): the first Overview numbers of a fresh process (time, peak RSS) and
the time of a filter change, once from the survey rows (``load_dataset`` + ``overview_numbers``)
and once from the summary store (``catalog`` + ``load_snapshot`` + ``overview_from_summaries``).
Each design runs in its own child process, so its peak memory is its own.

    .venv/bin/python bench/bench_scale.py [--sizes 100000 1000000] [--weights delivered]

Both designs use the Overview's default weights (calibrated to the population margins of each
wave's year, issue 12) unless ``--weights delivered``: the same numbers, timed both ways.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, demo_database, peak_rss_mb
from bench.serving import ensure_summaries

FILTERS = (  # the filter changes timed after the first page (Filters keyword arguments)
    {"sexes": ("female",)},
    {"age_groups": ("18-29", "30-44")},
    {"regions": ("KZ-75",)},
    {"settlements": ("rural",), "sexes": ("male",)},
    {"regions": ("KZ-71", "KZ-19"), "age_groups": ("60+",)},
    {"institutions": ("government", "police")},  # a composite the store does not hold
    {"institutions": ("government", "police"), "sexes": ("male",)},  # that composite again
)


def _child(design: str, url: str, weights: str | None) -> dict:
    """Runs in the child process: the first Overview, then each filter change."""
    from queries.db import make_engine
    from queries.metrics.filters import Filters

    engine = make_engine(url)
    started = time.perf_counter()
    if design == "rows":
        from queries.metrics.dataset import load_dataset
        from queries.metrics.overview import overview_numbers

        data = load_dataset(engine)
        source = "public_trust_council"

        def page(filters):
            return overview_numbers(data, filters, source)
    else:
        from queries.summaries.memory import load_snapshot, overview_from_summaries
        from queries.summaries.read import catalog, register_frames

        catalog(engine)  # what the sidebar needs
        # kept per data version by the dashboard, as the dataset was
        snapshot = load_snapshot(engine)
        proposals, ngo = register_frames(engine)
        source = "public_trust_council"

        def page(filters):
            return overview_from_summaries(
                engine, filters, source, snapshot=snapshot, proposals=proposals, ngo=ngo
            )

    chosen = {} if weights is None else {"weights": weights}  # None: the Filters default
    first = page(Filters(**chosen))
    first_s = time.perf_counter() - started
    first_mb = peak_rss_mb()  # the peak up to the first page (before any filter change)
    assert first.latest_wave is not None
    changes = {}
    for kwargs in FILTERS:
        t0 = time.perf_counter()
        page(Filters(**chosen, **kwargs))
        changes[json.dumps(kwargs)] = time.perf_counter() - t0
    return {"first_s": first_s, "first_mb": first_mb, "peak_mb": peak_rss_mb(), "changes": changes,
            "weights": first.weights, "uncalibrated": len(first.uncalibrated_waves)}  # fmt: skip


def _run(design: str, url: str, weights: str | None) -> dict:
    extra = [] if weights is None else ["--weights", weights]
    out = subprocess.run(
        [sys.executable, __file__, "--child", design, "--url", url, *extra],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", choices=("rows", "summaries"))
    parser.add_argument("--url")
    parser.add_argument("--weights", choices=("calibrated", "delivered"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.url, args.weights)))
        return
    print("Overview at scale (SQLite, demo data): previous design (rows) vs summary store")
    for size in args.sizes:
        url = demo_database(size)
        ensure_summaries(url)
        rows, summaries = _run("rows", url, args.weights), _run("summaries", url, args.weights)
        print(f"\n{size:,} responses")
        for name, got in (("rows", rows), ("summaries", summaries)):
            print(f"  {name}: weights {got['weights']}, {got['uncalibrated']} wave(s) delivered")
        print(f"  {'':<44}{'rows':>12}{'summaries':>12}{'ratio':>8}")
        for label, key, unit in (
            ("first Overview numbers (fresh process)", "first_s", "s"),
            ("peak RSS up to the first Overview", "first_mb", "MB"),
            ("peak RSS after the filter changes below", "peak_mb", "MB"),
        ):
            a, b = rows[key], summaries[key]
            print(f"  {label:<44}{a:>10.2f} {unit:<1}{b:>10.2f} {unit:<1}{a / b:>7.1f}x")
        for name, a in rows["changes"].items():
            b = summaries["changes"][name]
            print(f"  filter change {name:<30}{a * 1000:>9.0f} ms{b * 1000:>9.0f} ms{a / b:>7.1f}x")
        a = statistics.median(rows["changes"].values())
        b = statistics.median(summaries["changes"].values())
        label = "filter change, median"
        print(f"  {label:<44}{a * 1000:>9.0f} ms{b * 1000:>9.0f} ms{a / b:>7.1f}x")


if __name__ == "__main__":
    main()
