"""The Feedback and NGO pages' numbers for one filter change, from the survey rows (the
previous design: ``load_dataset`` then the metrics on its frames) and from the summary store
(issue 11: the snapshot, ``queries.summaries.pages``), in the same run on the same database.

A filter change is what the page computes for a selection it has not seen (the dashboard's
caches miss): Feedback = the register side, the latest wave, the survey side; NGO = the
year's densities and trust per region pooled over the year's waves. Random combinations of
regions, sexes, age groups and settlements (seeded), with the default (calibrated) weights and
with delivered ones. Printed: the one-off load per data version (time, RSS growth) and p50/p95
per page and path.

    .venv/bin/python bench/bench_feedback_ngo.py [--sizes 100000 1000000] [--changes 12]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from bench.common import demo_database, print_percentiles
from queries.db import engine_for, init_db
from queries.metrics.dataset import _ngo, _proposals, load_dataset
from queries.metrics.feedback import feedback_numbers
from queries.metrics.filters import Filters
from queries.metrics.ngo import ngo_year, trust_by_region
from queries.metrics.register import register_numbers
from queries.reference.regions import reference_regions
from queries.summaries import pages
from queries.summaries.memory import load_snapshot
from queries.summaries.read import register_frames
from queries.summaries.standing import latest_wave

SOURCE = "public_trust_council"
SEXES = ("male", "female")
AGES = ("18-29", "30-44", "45-59", "60+")
SETTLEMENTS = ("urban", "rural")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_filters(rng: random.Random, regions: list[str]) -> Filters:
    def some(values, most):
        return tuple(rng.sample(values, rng.randint(0, most)))

    return Filters(
        regions=some(regions, 3),
        sexes=some(list(SEXES), 1),
        age_groups=some(list(AGES), 2),
        settlements=some(list(SETTLEMENTS), 1),
        weights=rng.choice(("calibrated", "delivered")),
    )


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def rows_pages(data, filters: Filters) -> tuple:
    def feedback():
        register_numbers(data, filters)
        own = data.responses.filter(pl.col("source") == SOURCE)
        wave = latest_wave(own, filters, SOURCE)
        if wave is not None:
            feedback_numbers(data, filters, SOURCE, wave)

    def ngo():
        year = ngo_year(data, filters)
        if year is not None:
            trust_by_region(data, filters, SOURCE, year.year)

    return feedback, ngo


def summary_pages(snapshot, frames, filters: Filters) -> tuple:
    def feedback():
        register_numbers(frames, filters)
        wave = latest_wave(snapshot.strata, filters, SOURCE)
        if wave is not None:
            pages.feedback_numbers(snapshot, filters, SOURCE, wave)

    def ngo():
        year = ngo_year(frames, filters)
        if year is not None:
            pages.trust_by_region(snapshot, filters, SOURCE, year.year)

    return feedback, ngo


def register_of(engine) -> pages.Frames:
    """The register as the app reads it (its summary); its rows when this database was
    stamped past the register summaries' migration without their tables (a bench database
    made while that migration was a placeholder)."""
    try:
        return pages.Frames(*register_frames(engine))
    except Exception as exc:  # any database's "no such table"
        print(f"  (no register summary: {str(exc).splitlines()[0]}; its rows instead)")
        return pages.Frames(_proposals(engine), _ngo(engine))


def run(size: int, changes: int) -> None:
    url = demo_database(size)
    engine = engine_for(url)
    init_db(engine)
    before = rss_mb()
    started = time.perf_counter()
    snapshot = load_snapshot(engine)
    frames = register_of(engine)
    load_summaries = time.perf_counter() - started
    grown_summaries = rss_mb() - before
    before = rss_mb()
    started = time.perf_counter()
    data = load_dataset(engine)
    load_rows = time.perf_counter() - started
    grown_rows = rss_mb() - before
    print(f"\n{size:,} responses ({url})")
    print(f"  one-off per data version: rows {load_rows:6.2f} s (+{grown_rows:.0f} MB peak RSS), "
          f"summaries {load_summaries:6.2f} s (+{grown_summaries:.0f} MB)")  # fmt: skip
    regions = reference_regions().get_column("code").to_list()
    rng = random.Random(size)
    chosen = [Filters(), replace(Filters(), weights="delivered")]
    chosen += [random_filters(rng, regions) for _ in range(changes)]
    for work in (*rows_pages(data, Filters()), *summary_pages(snapshot, frames, Filters())):
        work()  # first calls (imports, lazily built parts) are not a filter change
    times: dict[str, list[float]] = {}
    for filters in chosen:
        for path, made in (("rows", rows_pages(data, filters)),
                           ("summaries", summary_pages(snapshot, frames, filters))):  # fmt: skip
            for page, work in zip(("feedback", "ngo"), made, strict=True):
                times.setdefault(f"{page:<8} {filters.weights:<10} {path}", []).append(timed(work))
    print_percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--changes", type=int, default=12)
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.changes)


if __name__ == "__main__":
    main()
