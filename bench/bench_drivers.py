"""The Drivers page's server work per filter change, before and after it stopped loading the
dataset (issue 11), on a demo database; each design in its own process (peak RSS apart).

before: ``load_dataset`` once (every survey row), then ``drivers_numbers`` per filter change.
after: the snapshot's strata (the pages share it) and, per wave, ``wave_design`` once (kept as the
dashboard keeps it), then ``drivers_from_store`` per filter change: the selection's rows read
with the filters pushed down to SQL. Filter changes not seen before (a cache hit costs nothing
on both designs); the first is the default selection.

    .venv/bin/python bench/bench_drivers.py [--sizes 100000 1000000] [--designs before after]

At 10M run ``--designs after`` alone: the dataset of the previous design does not fit here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import demo_database, peak_rss_mb, percentile

SOURCE = "public_trust_council"
CHANGES = (  # (filters as keyword arguments, outcome)
    ({}, "trust_government"),
    ({"sexes": ("female",)}, "trust_government"),
    ({"sexes": ("female",)}, "composite_trust"),
    ({"regions": ("KZ-75", "KZ-71")}, "trust_government"),
    ({"age_groups": ("30-44", "45-59")}, "trust_government"),
    ({"settlements": ("rural",), "weights": "delivered"}, "trust_government"),
    ({"wave_to": "2024-Q4"}, "trust_government"),  # an earlier wave: its design read once
    ({"wave_to": "2024-Q4", "sexes": ("male",)}, "composite_trust"),
)


def run(url: str, design: str) -> dict:
    from queries.db import engine_for
    from queries.metrics.filters import Filters

    engine = engine_for(url)
    started = time.perf_counter()
    if design == "before":
        from queries.metrics.dataset import load_dataset
        from queries.metrics.drivers import drivers_numbers

        data = load_dataset(engine)

        def model(filters, outcome):
            return drivers_numbers(data, filters, SOURCE, outcome)
    else:
        from queries.summaries.memory import load_snapshot
        from queries.summaries.rows import drivers_from_store, wave_design
        from queries.summaries.standing import latest_wave

        snapshot = load_snapshot(engine)
        designs: dict[str, object] = {}

        def model(filters, outcome):
            wave = latest_wave(snapshot.strata, filters, SOURCE)
            if wave not in designs:  # as dashboard.data keeps it per (version, wave)
                designs[wave] = wave_design(engine, source=SOURCE, wave=wave)
            return drivers_from_store(
                engine, filters, SOURCE, outcome, strata=snapshot.strata,
                institutions=snapshot.institutions, population=snapshot.population,
                design=designs[wave],
            )  # fmt: skip

    load_s = time.perf_counter() - started
    times, ns = [], []
    for kwargs, outcome in CHANGES:
        t0 = time.perf_counter()
        made = model(Filters(**kwargs), outcome)
        times.append(time.perf_counter() - t0)
        ns.append(made.n)
    return {"load_s": load_s, "changes_s": times, "n": ns, "peak_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--designs", nargs="+", choices=("before", "after"),
                        default=["before", "after"])  # fmt: skip
    parser.add_argument("--child", nargs=2, metavar=("URL", "DESIGN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(*args.child)))
        return
    for size in args.sizes:
        url = demo_database(size)
        found = {}
        for design in args.designs:
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, design],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            found[design] = json.loads(out.splitlines()[-1])
        if len(found) == 2:
            assert found["before"]["n"] == found["after"]["n"], found  # the same models
        for design, got in found.items():
            changes = [t * 1000 for t in got["changes_s"]]
            print(
                f"{size:>10,} {design:<6} load {got['load_s']:6.1f} s | first model "
                f"{changes[0]:7.0f} ms | filter change p50 {percentile(changes[1:], 50):6.0f} ms "
                f"max {max(changes[1:]):6.0f} ms | peak RSS {got['peak_mb']:5.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
