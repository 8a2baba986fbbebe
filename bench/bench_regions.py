"""The Regions page's numbers for one filter change, from the survey rows (the previous design:
``load_dataset`` then the metrics on its frames) and from the summary store (issue 11: the
snapshot, ``queries.summaries.standing`` and the summary Overview), in the same run on the same
database.

A filter change is what the page computes for a selection it has not seen (the dashboard's
caches miss): the wave shown, the regions' standing (estimates, rank intervals, Holm groups,
the rake-aware contrasts when calibrated), the three cross-tabs and the profile of one region
(the Overview's numbers for it). Random combinations of regions, sexes, age groups and
settlements (seeded), up to 2024-Q4 (the demo's last wave with margins, so the calibrated
weights really rake) and over every wave, with calibrated and delivered weights. Printed: the
one-off load per data version and p50/p95 per weights and path.

    .venv/bin/python bench/bench_regions.py [--sizes 100000 1000000] [--changes 8]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_feedback_ngo import SETTLEMENTS, SEXES, SOURCE, register_of, rss_mb, timed
from bench.common import demo_database, print_percentiles
from queries.db import engine_for, init_db
from queries.metrics.dataset import load_dataset
from queries.metrics.filters import Filters
from queries.metrics.inference import weighted_by_group, weighted_standing
from queries.metrics.overview import overview_numbers
from queries.reference.regions import reference_regions
from queries.summaries.memory import load_snapshot, overview_from_summaries
from queries.summaries.standing import (
    groups_from_summaries,
    latest_wave,
    standing_from_summaries,
)

AGES = ("18-29", "30-44", "45-59", "60+")
BY = ("sex", "age_group", "settlement")
LAST_RAKED = "2024-Q4"  # the demo's last wave with population margins (2024 region totals)


def random_filters(rng: random.Random, regions: list[str], weights: str) -> Filters:
    def some(values, most):
        return tuple(rng.sample(list(values), rng.randint(0, most)))

    chosen = some(regions, 4)
    return Filters(
        wave_to=rng.choice((None, LAST_RAKED)),
        regions=chosen if len(chosen) != 1 else (),  # one region: nothing to rank
        sexes=some(SEXES, 1),
        age_groups=some(AGES, 2),
        settlements=some(SETTLEMENTS, 1),
        weights=weights,
    )


def profile_of(filters: Filters) -> str:
    """The region whose profile the page opens (one of the filtered ones)."""
    return filters.regions[0] if filters.regions else "KZ-75"


def rows_page(data, filters: Filters):
    profile = profile_of(filters)

    def page() -> None:
        wave = latest_wave(data.responses, filters, SOURCE)
        weighted_standing(data, filters, SOURCE, wave)
        for by in BY:
            weighted_by_group(data, filters, SOURCE, wave, by)
        overview_numbers(data, replace(filters, regions=(profile,)), SOURCE)

    return page


def summary_page(engine, snapshot, frames, filters: Filters):
    profile = profile_of(filters)

    def page() -> None:
        wave = latest_wave(snapshot.strata, filters, SOURCE)
        standing_from_summaries(snapshot, filters, SOURCE, wave)
        for by in BY:
            groups_from_summaries(snapshot, filters, SOURCE, wave, by)
        overview_from_summaries(engine, replace(filters, regions=(profile,)), SOURCE,
                                snapshot=snapshot, proposals=frames.proposals,
                                ngo=frames.ngo)  # fmt: skip

    return page


def run(size: int, changes: int) -> None:
    url = demo_database(size)
    engine = engine_for(url)
    init_db(engine)
    before, started = rss_mb(), time.perf_counter()
    snapshot, frames = load_snapshot(engine), register_of(engine)
    load_summaries, grown_summaries = time.perf_counter() - started, rss_mb() - before
    before, started = rss_mb(), time.perf_counter()
    data = load_dataset(engine)
    load_rows, grown_rows = time.perf_counter() - started, rss_mb() - before
    print(f"\n{size:,} responses ({url})")
    print(f"  one-off per data version: rows {load_rows:6.2f} s (+{grown_rows:.0f} MB peak RSS), "
          f"summaries {load_summaries:6.2f} s (+{grown_summaries:.0f} MB)")  # fmt: skip
    regions = reference_regions().get_column("code").to_list()
    rng = random.Random(size)
    rows_page(data, Filters())()  # first calls (imports, lazy parts): not a change
    summary_page(engine, snapshot, frames, Filters())()
    times: dict[str, list[float]] = {}
    for weights in ("calibrated", "delivered"):
        chosen = [Filters(wave_to=LAST_RAKED, weights=weights)]
        chosen += [random_filters(rng, regions, weights) for _ in range(changes)]
        for filters in chosen:
            paths = {"rows": rows_page(data, filters),
                     "summaries": summary_page(engine, snapshot, frames, filters)}  # fmt: skip
            for path, work in paths.items():
                times.setdefault(f"regions  {weights:<10} {path}", []).append(timed(work))
    print_percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--changes", type=int, default=8)
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.changes)


if __name__ == "__main__":
    main()
