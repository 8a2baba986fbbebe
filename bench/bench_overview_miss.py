"""CPU per cache miss of the Overview's numbers (issue 11): ``overview_from_summaries`` for a
Filters not seen before, from the in-memory snapshot, this tree beside an earlier one.

The Overview page and the Regions page's region profile both call it; under the 50-session
load nearly every rerun is a miss. The filters change as the websocket load makes them
(``bench.walk.selections``: a random one of regions, sexes, age groups, settlements gets one
more option, or is cleared at three; seeded), the walk once with each weights. Every tree runs
in its own process (its own imports, its own snapshot and register frames, warmed by one call
per weights: the per-version layout is not a miss); the numbers are asserted equal between the
trees (1e-9 relative) and the CPU time (``time.process_time``) per call printed as p50 / p95.

    .venv/bin/python bench/bench_overview_miss.py [--sizes 100000 1000000 10000000]
        [--changes 60] [--against var/bench/tree-9ef86cc]
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
WEIGHTS = ("calibrated", "delivered")
FRAMES = ("trend", "cards", "by_region", "funnel", "moved")  # OverviewNumbers' frames


def child(root: str, url: str, plan: Path, out: Path) -> None:
    """In a tree's own process: warm up, then time each selection's miss (both weights)."""
    sys.path.insert(0, root)
    from sqlalchemy import create_engine

    from queries.metrics.filters import Filters
    from queries.summaries.memory import load_snapshot, overview_from_summaries
    from queries.summaries.read import register_frames

    engine = create_engine(url)
    snapshot = load_snapshot(engine)
    proposals, ngo = register_frames(engine)

    def miss(filters: Filters) -> object:
        return overview_from_summaries(engine, filters, SOURCE, snapshot=snapshot,
                                       proposals=proposals, ngo=ngo)  # fmt: skip

    for weights in WEIGHTS:  # the per-version layout: made once, not a miss
        miss(Filters(weights=weights))
    chosen = pickle.loads(plan.read_bytes())
    cpu: dict[str, list[float]] = {w: [] for w in WEIGHTS}
    numbers = []
    for weights in WEIGHTS:  # each weights its own walk, as one session's reruns
        for selection in chosen:
            filters = Filters(weights=weights, **selection)
            started = time.process_time()
            made = miss(filters)
            cpu[weights].append(time.process_time() - started)
            numbers.append({name: getattr(made, name) for name in FRAMES}
                           | {"rest": (made.latest_wave, made.comparable_units, made.weights,
                                       made.uncalibrated_waves)})  # fmt: skip
    out.write_bytes(pickle.dumps((cpu, numbers)))


def run_tree(root: Path, url: str, plan: Path) -> tuple[dict[str, list[float]], list[dict]]:
    """``child`` in a subprocess for the tree at ``root``."""
    with tempfile.NamedTemporaryFile(suffix=".pickle") as out:
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from bench.bench_overview_miss import child; "
            "child(sys.argv[2], sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]))"
        )
        subprocess.run([sys.executable, "-c", code, str(ROOT), str(root), url, str(plan),
                        out.name], check=True)  # fmt: skip
        return pickle.loads(Path(out.name).read_bytes())


def assert_same(before: list[dict], after: list[dict]) -> None:
    """Every miss's numbers equal between the trees (floats to 1e-9 relative)."""
    from polars.testing import assert_frame_equal

    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        assert old["rest"] == new["rest"], (old["rest"], new["rest"])
        for name in FRAMES:
            assert_frame_equal(old[name], new[name], check_exact=False, rel_tol=1e-9,
                               abs_tol=1e-12)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--changes", type=int, default=60, help="filter changes per size")
    parser.add_argument("--against", type=Path, default=ROOT / "var/bench/tree-9ef86cc")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.common import demo_database, percentile
    from queries.reference.regions import reference_regions

    regions = reference_regions().get_column("code").to_list()
    chosen = selections(regions, args.changes, args.seed)
    with tempfile.NamedTemporaryFile(suffix=".pickle") as plan:
        Path(plan.name).write_bytes(pickle.dumps(chosen))
        for size in args.sizes:
            url = demo_database(size)
            print(f"{size:,} responses, {len(chosen)} misses per weights, CPU per miss:")
            found = {}
            for name, root in ((args.against.name, args.against), ("this tree", ROOT)):
                cpu, numbers = run_tree(root, url, Path(plan.name))
                found[name] = numbers
                for weights, times in cpu.items():
                    print(f"  {name:<14} {weights:<10} p50 {percentile(times, 50) * 1e3:6.1f} ms"
                          f"   p95 {percentile(times, 95) * 1e3:6.1f} ms", flush=True)  # fmt: skip
            assert_same(*found.values())
            print("  numbers equal in both trees", flush=True)


if __name__ == "__main__":
    main()
