"""What the benchmarks share: a database of a given size, built once and kept under var/bench/."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queries.db import checkpoints_finished, init_db, make_engine  # noqa: E402
from queries.demo import LoadedFile, load_demo  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"


def demo_database(responses: int, seed: int = 2025) -> str:
    """A SQLite URL holding demo data with ``responses`` survey responses (built on first use,
    one wave at a time; each file's time and the peak RSS so far are printed as it loads)."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"demo-{responses}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        started = time.perf_counter()
        print(f"building {path.name} ({responses:,} responses) ...", flush=True)
        tmp = path.with_suffix(".building.db")
        for leftover in tmp.parent.glob(f"{tmp.name}*"):  # with its -wal and -shm files
            leftover.unlink()
        engine = make_engine(f"sqlite:///{tmp}")
        init_db(engine)
        load_demo(engine, responses=responses, seed=seed, on_loaded=_print_loaded)
        checkpoints_finished()  # the last upload's log is in the file before it is renamed
        engine.dispose()
        tmp.rename(path)
        print(
            f"built {path.name} in {time.perf_counter() - started:.1f} s, "
            f"peak RSS {peak_rss_mb():.0f} MB",
            flush=True,
        )
    return url


def _print_loaded(loaded: LoadedFile) -> None:
    print(
        f"  {loaded.name:<40} {loaded.rows:>9,} rows {loaded.seconds:7.1f} s "
        f"peak RSS {peak_rss_mb():6.0f} MB",
        flush=True,
    )


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


def print_percentiles(times: dict[str, list[float]]) -> None:
    """One line per key: p50 and p95 of its timings (seconds) in ms, and how many."""
    for key, values in sorted(times.items()):
        print(f"  {key:<30} p50 {percentile(values, 50) * 1000:7.0f} ms   "
              f"p95 {percentile(values, 95) * 1000:7.0f} ms   ({len(values)} changes)")  # fmt: skip
