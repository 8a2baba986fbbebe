"""The Drivers page's server work per filter change, in process, this tree beside an earlier
checkout (issue 11), on a demo database; each design in its own process (memory apart).

before (``--against DIR``, e.g. ``git worktree add /tmp/h6-before 739216b``): any earlier
checkout with ``queries.summaries.rows``; 739216b fits each model with numpy's SVD rank test and
the raking projection (margins' indicators, cross shares, n-long residuals) made per model;
c8405ed read the chosen respondents from the database per filter change (``wave_design``).
now: the wave read once (``wave_answers``), the filters cut in memory, the raked weights and
their ``rake_projection`` kept with the wave, the rake-aware SEs from stratum × cell sums; the
model's columns kept with the wave as arrays (``driver_columns``), a filter change a numpy mask
and a design matrix (no polars pass over the wave's rows); since session 10 the model is fitted
from sums per pattern (``queries.survey.patterns``: tens of thousands of patterns instead of
hundreds of thousands of rows), made with an outcome's columns.

Both as ``dashboard.data`` keeps them: the snapshot's strata, one kept frame per wave, glibc's freed
pages returned after each model. Filter changes not seen before (a cache hit costs nothing on both):
the default selection, then random regions, sexes, age groups, settlements, outcomes and weights
(seeded), on the latest wave and one earlier. Printed: the first model (reads the wave), p50/p95/max
of the later ones, their CPU time, p50/p95 of those on a wave already kept (the fit alone) and their
CPU p50/p95 (process time, polars' threads included; also of the misses whose wave, outcome and
weights were modelled before: what a wave keeps is made), the process's RSS after the snapshot,
after all models (its growth: what the page adds to a server; scipy, which every page with intervals
imports, loaded before), and the peak. polars allocates through its own jemalloc, which keeps freed
pages for a while: ``_RJEM_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0`` in the environment
(passed to both designs) shows the growth without them. polars and OpenBLAS run on one thread
each, as the server runs them (``SERVER_THREADS``; the environment's setting wins).

    .venv/bin/python bench/bench_drivers.py --against /tmp/h6-before [--sizes 1000000 10000000]
        [--db /tmp/copy-of-demo.db ...] [--changes 24]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "public_trust_council"
REGIONS = ("KZ-75", "KZ-71", "KZ-15", "KZ-10", "KZ-63", "KZ-11", "KZ-35")
SEXES = ("male", "female")
AGE_GROUPS = ("18-29", "30-44", "45-59", "60+")
SETTLEMENTS = ("urban", "rural")
OUTCOMES = ("trust_government", "composite_trust")
# as dashboard/serve.py runs a server (the environment's own setting wins): with polars' and
# OpenBLAS's threads on both cores, the CPU figures counted both (a p95 of ~450 ms against ~70)
SERVER_THREADS = {"POLARS_MAX_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def changes(count: int, seed: int = 7) -> list[tuple[dict, str]]:
    """The default selection, then ``count`` random filter changes (filters as keyword
    arguments, outcome); one in four on an earlier wave."""
    rng = random.Random(seed)

    def some(values):
        return tuple(rng.sample(values, rng.randint(0, 2)))

    out = [({}, OUTCOMES[0])]
    for i in range(count):
        kwargs = {
            "regions": some(REGIONS),
            "sexes": some(SEXES),
            "age_groups": some(AGE_GROUPS),
            "settlements": some(SETTLEMENTS),
            "weights": rng.choice(("calibrated", "delivered")),
        }
        if i % 4 == 3:
            kwargs["wave_to"] = "2024-Q4"
        out.append((kwargs, rng.choice(OUTCOMES)))
    return out


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def trim() -> None:
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # as dashboard.data._release_freed


def run(url: str, count: int) -> dict:
    """In a child whose sys.path starts with the checkout to measure."""
    import resource

    from queries.db import engine_for
    from queries.metrics.filters import Filters
    from queries.summaries import rows
    from queries.summaries.memory import load_snapshot
    from queries.summaries.standing import latest_wave

    engine = engine_for(url)
    snapshot = load_snapshot(engine)
    # the model's libraries (other pages import them too) before the baseline: growth is data
    import scipy.sparse
    import scipy.stats  # noqa: F401

    trim()
    base = rss_mb()
    kept: dict[str, object] = {}
    now = hasattr(rows, "wave_answers")

    def model(filters, outcome):
        wave = latest_wave(snapshot.strata, filters, SOURCE)
        if wave not in kept:  # as dashboard.data keeps it per (version, source, wave)
            if now:
                kept[wave] = rows.wave_answers(
                    engine, source=SOURCE, wave=wave, institutions=snapshot.institutions,
                    population=snapshot.population,
                )  # fmt: skip
            else:
                kept[wave] = rows.wave_design(engine, source=SOURCE, wave=wave)
            trim()
        given = {"answers" if now else "design": kept[wave]}
        made = rows.drivers_from_store(
            engine, filters, SOURCE, outcome, strata=snapshot.strata,
            institutions=snapshot.institutions, population=snapshot.population, **given,
        )  # fmt: skip
        trim()
        return made

    times, cpu, models, read, seen, warm = [], [], [], [], set(), []
    for kwargs, outcome in changes(count):
        read.append(latest_wave(snapshot.strata, Filters(**kwargs), SOURCE) not in kept)
        # a wave, outcome and weights modelled before: what the wave keeps is made
        choice = (latest_wave(snapshot.strata, Filters(**kwargs), SOURCE), outcome,
                  kwargs.get("weights"))  # fmt: skip
        warm.append(choice in seen)
        seen.add(choice)
        t0, c0 = time.perf_counter(), time.process_time()
        made = model(Filters(**kwargs), outcome)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        models.append(
            [
                made.n,
                made.reason,
                made.weights,
                *(made.terms[c].to_list() for c in ("estimate", "se")),
            ]
        )
    return {
        "times": times,
        "read": read,
        "warm": warm,
        "cpu": cpu,
        "models": models,
        "base_mb": base,
        "end_mb": rss_mb(),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--changes", type=int, default=24, help="filter changes after the first")
    parser.add_argument("--against", type=Path, help="an earlier checkout, measured first")
    parser.add_argument("--db", type=Path, nargs="+", help="SQLite files instead of --sizes' demos")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child[0], int(args.child[1]))))
        return
    sys.path.insert(0, str(ROOT))
    from bench.common import demo_database, percentile

    trees = {"before": args.against, "now": ROOT} if args.against else {"now": ROOT}
    # a demo file of an older schema: copy it and upgrade the copy (queries.db.init_db)
    urls = {p.name: f"sqlite:///{p.resolve()}" for p in args.db or ()}
    for size in urls or args.sizes:
        url = urls.get(size) or demo_database(size)
        found = {}
        for name, tree in trees.items():
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, str(args.changes)], cwd=tree,
                env={**SERVER_THREADS, **os.environ, "PYTHONPATH": str(tree)},
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            found[name] = json.loads(out.splitlines()[-1])
        if len(found) == 2:  # the same models (estimates and SEs to 1e-9 relative)
            for old, new in zip(found["before"]["models"], found["now"]["models"], strict=True):
                assert old[:3] == new[:3], (old, new)
                assert all(
                    abs(a - b) <= 1e-9 * max(1.0, abs(a))
                    for a, b in zip(old[3] + old[4], new[3] + new[4], strict=True)
                ), (old, new)
        for name, got in found.items():
            later = [t * 1000 for t in got["times"][1:]]
            # the same on a wave already kept: the fit alone, which the filters drive
            fit = [t * 1000 for t, r in zip(got["times"], got["read"], strict=True) if not r]
            cpu = [t * 1000 for t in got["cpu"][1:]]
            # CPU per miss on a kept wave: what a filter change costs a server (threads included)
            miss = [t * 1000 for t, r in zip(got["cpu"], got["read"], strict=True) if not r]
            warm = [t * 1000 for t, r in zip(got["cpu"], got["warm"], strict=True) if r]
            print(
                f"{size:>10} {name:<6} first {got['times'][0] * 1000:6.0f} ms | filter change "
                f"p50 {percentile(later, 50):5.0f} p95 {percentile(later, 95):5.0f} "
                f"max {max(later):5.0f} ms, CPU p50 {percentile(cpu, 50):5.0f} ms; on a kept "
                f"wave p50 {percentile(fit, 50):4.0f} p95 {percentile(fit, 95):4.0f} ms, CPU "
                f"p50 {percentile(miss, 50):5.1f} p95 {percentile(miss, 95):5.1f} ms (its choice "
                f"of outcome and weights seen: p50 {percentile(warm, 50):5.1f} p95 "
                f"{percentile(warm, 95):5.1f} ms) | RSS "
                f"{got['base_mb']:4.0f} -> {got['end_mb']:4.0f} MB "
                f"(+{got['end_mb'] - got['base_mb']:3.0f}), peak {got['peak_mb']:4.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
