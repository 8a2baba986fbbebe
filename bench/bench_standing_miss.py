"""CPU per cache miss of the Regions page's standing and cross-tabs and of the Feedback / NGO
pages' survey side (issue 11), from the in-memory snapshot, this tree beside an earlier one.

A miss is what ``dashboard.data`` computes for a Filters it has not seen: ``regions_standing``
(``standing_from_summaries``), ``regions_groups`` per ``by`` (``groups_from_summaries``) and
``page_numbers`` (``pages.feedback_numbers``, ``pages.trust_by_region``). The filters change as
the websocket load makes them (bench/bench_ws_load.py: a random one of regions, sexes, age
groups, settlements gets one more option, or is cleared at three; seeded), each selection with
delivered weights, calibrated ones (the page's latest wave has no margins in the demo data:
delivered numbers, the path the load takes) and calibrated on the latest wave with margins
(``wave_to``; NGO year 2024: the raked paths). Every tree runs in its own process (its own
imports, its own snapshot, warmed by one call per setting first: per-version work is not a
miss); the numbers are asserted equal between the trees (1e-12 of each column's scale) and
the CPU time (``time.process_time``) per call printed as p50 / p95.

    .venv/bin/python bench/bench_standing_miss.py [--sizes 100000 1000000 10000000]
        [--changes 30] [--against var/bench/tree-9ef86cc]
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.walk import selections  # noqa: E402  (plain Python: imported before a tree's queries)

SOURCE = "public_trust_council"
BY = ("sex", "age_group", "settlement")
# the latest wave (and year) with population margins in the demo data: the default page's
# latest wave has none, so "calibrated" there is the delivered path; "raked" rakes
RAKED_WAVE, RAKED_YEAR = "2024-Q4", 2024
VARIANTS = {
    "delivered": ({"weights": "delivered"}, None),
    "calibrated": ({"weights": "calibrated"}, None),
    "raked": ({"weights": "calibrated", "wave_to": RAKED_WAVE}, RAKED_YEAR),
}


def _work(snapshot, ngo_frames, filters, year=None):
    """The misses of one Filters: name -> a function computing it."""
    from queries.metrics.ngo import ngo_year
    from queries.summaries import pages
    from queries.summaries.standing import (
        groups_from_summaries,
        latest_wave,
        standing_from_summaries,
    )

    wave = latest_wave(snapshot.strata, filters, SOURCE)
    latest = ngo_year(ngo_frames, filters, year)
    work = {}
    if wave is not None:
        work["standing"] = lambda: standing_from_summaries(snapshot, filters, SOURCE, wave)
        for by in BY:
            work[f"groups {by}"] = lambda by=by: groups_from_summaries(
                snapshot, filters, SOURCE, wave, by
            )
        work["feedback"] = lambda: pages.feedback_numbers(snapshot, filters, SOURCE, wave)
    if latest is not None:
        work["ngo"] = lambda: pages.trust_by_region(snapshot, filters, SOURCE, latest.year)
    return work


def worker(tree: Path, size: int, changes: int, out: Path) -> None:
    """In this process: ``tree``'s code over the demo database of ``size``; writes
    {(selection index, weights, name): (cpu seconds, result)} to ``out``."""
    sys.path.insert(0, str(tree))
    from queries.db import engine_for
    from queries.metrics.filters import Filters
    from queries.reference.regions import reference_regions
    from queries.summaries.memory import load_snapshot
    from queries.summaries.pages import Frames
    from queries.summaries.read import register_frames

    engine = engine_for(f"sqlite:///{ROOT / 'var' / 'bench' / f'demo-{size}.db'}")
    started = time.perf_counter()
    snapshot = load_snapshot(engine)
    frames = Frames(*register_frames(engine))
    loaded = time.perf_counter() - started
    regions = reference_regions().get_column("code").to_list()
    warmed = time.perf_counter()
    for chosen, year in VARIANTS.values():  # per-version work (raking, layouts): not a miss
        for call in _work(snapshot, frames, Filters(**chosen), year).values():
            call()
    warm = time.perf_counter() - warmed
    results = {}
    for i, chosen in enumerate(selections(regions, changes, seed=size)):
        for variant, (fixed, year) in VARIANTS.items():
            filters = Filters(**chosen, **fixed)
            for name, call in _work(snapshot, frames, filters, year).items():
                started = time.process_time()
                made = call()
                results[(i, variant, name)] = (time.process_time() - started, made)
    out.write_bytes(pickle.dumps({"load": loaded, "warm": warm, "results": results}))


def _run(tree: Path, size: int, changes: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".pickle") as handle:
        command = [sys.executable, __file__, "--worker", str(tree), "--sizes", str(size),
                   "--changes", str(changes), "--out", handle.name]  # fmt: skip
        subprocess.run(command, check=True)
        # the pickles hold the trees' own classes: read them with this tree's (same fields)
        sys.path.insert(0, str(ROOT))
        return pickle.loads(Path(handle.name).read_bytes())


def _frames(made) -> list:
    """The frames and plain values of a result (Standing or WeightedEstimates)."""
    import dataclasses

    return [getattr(made, f.name) for f in dataclasses.fields(made)]


def assert_same(before, after, where: str) -> float:
    """``after`` equals ``before``: every float column to 1e-12 of its largest value (a
    difference of two estimates carries their rounding, not its own scale), every other
    column and field exactly. Returns the largest deviation relative to the column's scale."""
    import polars as pl
    from polars.testing import assert_frame_equal

    worst = 0.0
    for old, new in zip(_frames(before), _frames(after), strict=True):
        if not isinstance(old, pl.DataFrame):
            if isinstance(old, float):
                assert abs(old - new) <= 1e-12 * abs(old), (where, old, new)
            else:
                assert old == new, (where, old, new)
            continue
        assert_frame_equal(old, new, check_exact=False, rel_tol=1, abs_tol=float("inf"))
        for name, column in old.schema.items():
            a, b = old.get_column(name), new.get_column(name)
            if not column.is_float():
                assert a.equals(b), (where, name)
                continue
            assert a.is_null().equals(b.is_null()), (where, name)
            x, y = a.drop_nulls().to_numpy(), b.drop_nulls().to_numpy()
            scale = max(float(abs(x).max()) if len(x) else 0.0, 1e-300)
            gap = float(abs(x - y).max()) / scale if len(x) else 0.0
            assert gap <= 1e-12, (where, name, gap)
            worst = max(worst, gap)
    return worst


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def compare(size: int, changes: int, against: Path) -> None:
    """Both trees over one database: numbers asserted equal, CPU per miss printed."""
    runs = {"before": _run(against, size, changes), "after": _run(ROOT, size, changes)}
    before, after = runs["before"]["results"], runs["after"]["results"]
    assert before.keys() == after.keys()
    worst = max(assert_same(before[k][1], after[k][1], str(k)) for k in before)
    print(f"\n{size:,} responses, {changes} selections x {len(VARIANTS)}; numbers equal "
          f"({len(before)} results, largest gap {worst:.1e} of a column's scale). "
          "Load + warm-up: " + ", ".join(
              f"{n} {r['load']:.1f} + {r['warm']:.2f} s" for n, r in runs.items()))  # fmt: skip
    names = sorted({(k[1], k[2]) for k in before})
    totals: dict[str, dict[tuple[int, str], float]] = {"before": {}, "after": {}}
    for weights, name in names:
        line = f"  {weights:<10} {name:<20}"
        for label, results in (("before", before), ("after", after)):
            cpu = [v[0] for k, v in results.items() if k[1:] == (weights, name)]
            for k, v in results.items():
                if k[1:] == (weights, name):
                    totals[label][k[:2]] = totals[label].get(k[:2], 0.0) + v[0]
            line += f"  {label} p50 {_p(cpu, 50) * 1e3:6.1f} p95 {_p(cpu, 95) * 1e3:6.1f} ms"
        print(line)
    for weights in VARIANTS:
        line = f"  {weights:<10} {'all of one change':<20}"
        for label in ("before", "after"):
            cpu = [v for k, v in totals[label].items() if k[1] == weights]
            line += f"  {label} p50 {_p(cpu, 50) * 1e3:6.1f} p95 {_p(cpu, 95) * 1e3:6.1f} ms"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--changes", type=int, default=30, help="selections per size")
    parser.add_argument("--against", type=Path, default=ROOT / "var" / "bench" / "tree-9ef86cc")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker.resolve(), args.sizes[0], args.changes, args.out)
        return
    for size in args.sizes:
        compare(size, args.changes, args.against.resolve())


if __name__ == "__main__":
    main()
