"""What the benchmarks share: a database of a given size, built once and kept under var/bench/."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queries.db import init_db, make_engine  # noqa: E402
from queries.demo import load_demo  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"


def demo_database(responses: int, seed: int = 2025) -> str:
    """A SQLite URL holding demo data with ``responses`` survey responses (built on first use)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"demo-{responses}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        started = time.perf_counter()
        print(f"building {path.name} ({responses:,} responses) ...", flush=True)
        tmp = path.with_suffix(".building.db")
        tmp.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{tmp}")
        init_db(engine)
        load_demo(engine, responses=responses, seed=seed)
        engine.dispose()
        tmp.rename(path)
        print(f"built in {time.perf_counter() - started:.1f} s", flush=True)
    return url


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
