"""Ingest speed: a 1,000,000-row survey CSV (contract format, demo generator) into a fresh SQLite
file and into PostgreSQL (SENIM_BENCH_POSTGRES_URL, or a throwaway local server when installed).
Prints rows/second, seconds per stage (the time up to each progress report is charged to the
stage it names), the time load_dataset takes to read the rows back, and peak memory.
Usage: python bench/bench_ingest.py [ROWS]"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import peak_rss_mb
from queries.db import init_db, make_engine
from queries.demo.survey import generate_survey_frame
from queries.ingest.pipeline import ingest_bytes
from queries.metrics.dataset import load_dataset


def run(url: str, content: bytes, rows: int) -> None:
    engine = make_engine(url)
    init_db(engine)
    stages: dict[str, float] = {}
    last = [time.perf_counter(), "start"]

    def progress(fraction: float, stage: str) -> None:
        now = time.perf_counter()
        stages[stage] = stages.get(stage, 0.0) + now - last[0]
        last[:] = [now, stage]

    started = time.perf_counter()
    report = ingest_bytes(engine, "survey", content, "bench.csv", progress=progress)
    total = time.perf_counter() - started
    assert report.status == "loaded" and report.rows_loaded == rows, report.message
    print(
        f"  {engine.dialect.name:<10} {rows:,} rows in {total:.1f} s = {rows / total:,.0f} rows/s"
    )
    print("    " + ", ".join(f"{k} {v:.1f}s" for k, v in stages.items()))
    started = time.perf_counter()
    data = load_dataset(engine)
    seconds = time.perf_counter() - started
    print(f"    load_dataset: {data.responses.height:,} wide rows in {seconds:.1f} s")
    engine.dispose()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    started = time.perf_counter()
    frame = generate_survey_frame(rows, seed=7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "survey.csv"
        frame.write_csv(path)
        del frame
        content = path.read_bytes()
        print(
            f"survey file: {rows:,} rows, {len(content) / 1e6:,.0f} MB "
            f"(generated in {time.perf_counter() - started:.1f} s)"
        )
        run(f"sqlite:///{Path(folder) / 'bench.db'}", content, rows)
        if os.environ.get("SENIM_BENCH_POSTGRES_URL"):
            run(os.environ["SENIM_BENCH_POSTGRES_URL"], content, rows)
        elif shutil.which("pg_ctl") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
            from tests.pgserver import TempPostgres

            server = TempPostgres()
            try:
                run(server.start(), content, rows)
            finally:
                server.stop()
    print(f"peak memory (RSS) of the process: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
