"""Register summaries (issue 11): the Feedback page's and the Overview's register part from the
proposals rows (before) and from the summaries (after), in the same run, and what the summary
write adds to a proposals upload (the same upload with the write switched off, interleaved).

Works on a copy of a demo database (the shared one under var/bench/ is never written), then
optionally again after adding ``--synthetic N`` generated proposals (a register of e-appeals at
scale). Usage: python bench/bench_register.py [--responses 1000000] [--synthetic 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import polars as pl

import queries.summaries.register as stored_register
from bench.common import BENCH_DIR
from queries.contract import PROPOSALS
from queries.db import init_db, make_engine
from queries.demo.proposals import TOPICS, generate_proposals
from queries.ingest.pipeline import ingest_bytes
from queries.ingest.store import bulk_insert
from queries.metrics.dataset import _ngo, _proposals
from queries.metrics.filters import Filters
from queries.metrics.overview import overview_from_sums
from queries.metrics.register import numbers_of, register_rows
from queries.reference.regions import reference_regions
from queries.schema.data import proposals, uploads
from queries.vocab import ProposalSource, ProposalStatus, UploadKind, UploadStatus

PROPOSALS_HEADER = ",".join(c.name for c in PROPOSALS.columns)
NO_SUMS = pl.DataFrame()  # the register part only: no survey sums
FILTERS = (
    Filters(),
    Filters(regions=("KZ-75",)),
    Filters(sources=("eotinish",)),
    Filters(regions=("KZ-11", "KZ-71"), sources=("kurultai", "other")),
)


def timed(work: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time in ms over ``repeats`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), out


def copy_of(responses: int, folder: Path) -> str:
    source = sqlite3.connect(BENCH_DIR / f"demo-{responses}.db")
    target = sqlite3.connect(folder / "copy.db")
    source.backup(target)
    target.close()
    source.close()
    return f"sqlite:///{folder / 'copy.db'}"


def pages(engine, repeats: int) -> None:
    """Per data version (the frames read) and per filter change (the numbers computed)."""
    ngo = _ngo(engine)
    read_raw, raw = timed(lambda: _proposals(engine), repeats)
    read_sum, summary = timed(lambda: stored_register.read_register(engine), repeats)
    print(f"  proposals {raw.height:,}; summaries: {summary.counts.height:,} count rows, "
          f"{summary.days.height:,} histogram rows")  # fmt: skip
    print(f"  read per data version      rows {read_raw:8.1f} ms   summaries {read_sum:8.1f} ms")

    def feedback(register):
        return [numbers_of(register, f) for f in FILTERS]

    def overview(register):
        return [
            overview_from_sums(pl.DataFrame(), register_rows(register, f), ngo) for f in FILTERS
        ]

    for name, work in (("Feedback register part", feedback), ("Overview register part", overview)):
        before, _ = timed(lambda w=work: w(raw), repeats)
        after, _ = timed(lambda w=work: w(summary), repeats)
        per = len(FILTERS)
        print(f"  {name:26} rows {before / per:8.1f} ms   summaries {after / per:8.1f} ms"
              "   (per filter change)")  # fmt: skip


def month_file(i: int, n: int = 300) -> bytes:
    """``n`` new proposals submitted in one month (a monthly export), half answered."""
    rng = np.random.default_rng(i)
    codes = reference_regions().get_column("code").to_list()
    lines = [PROPOSALS_HEADER]
    for k in range(n):
        submitted = dt.date(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 31)))
        answered = submitted + dt.timedelta(days=int(rng.integers(1, 40)))
        status, on = ("answered", answered) if rng.random() < 0.5 else ("received", "")
        lines.append(f"M{i}-{k},eotinish,{rng.choice(codes)},roads,{submitted},{status},{on},")
    return ("\n".join(lines) + "\n").encode()


UPLOADS_MADE = itertools.count()  # every upload's content differs, across calls too
SCENARIOS = {
    "whole register again (~9k rows, all days)": lambda i: (
        generate_proposals(1000 + i).write_csv().encode()
    ),
    "one month of new proposals (300 rows)": month_file,
}


def upload_cost(engine, repeats: int) -> None:
    """Proposals uploads with and without the summary write (alternating, so both see the same
    load on the machine; every upload's content differs, so none is skipped as unchanged)."""
    real = stored_register.refresh_register
    for scenario, make in SCENARIOS.items():
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(repeats):
            for write in (True, False) if i % 2 else (False, True):
                stored_register.refresh_register = real if write else (lambda conn, **_: None)
                n = next(UPLOADS_MADE)
                content = make(n)
                started = time.perf_counter()
                report = ingest_bytes(engine, "proposals", content, f"p{n}.csv")
                times[write].append(time.perf_counter() - started)
                if report.status != UploadStatus.LOADED:
                    print(f"  upload {n}: {report.status}: {report.message}")
            stored_register.refresh_register = real
            with engine.begin() as conn:  # summaries right again after a switched-off upload
                stored_register.refresh_register(conn)
        a, b = statistics.median(times[False]), statistics.median(times[True])
        print(f"  upload, {scenario:42} without summaries {a * 1000:7.0f} ms, "
              f"with {b * 1000:7.0f} ms")  # fmt: skip
    refresh, _ = timed(lambda: _refresh_rolled_back(engine), max(1, repeats // 2))
    print(f"  the whole-register rewrite alone (rollback, rebuild): {refresh:7.0f} ms")


def _refresh_rolled_back(engine) -> None:
    with engine.connect() as conn, conn.begin() as transaction:
        stored_register.refresh_register(conn)
        transaction.rollback()


def add_synthetic(engine, n: int, seed: int = 7) -> None:
    """``n`` generated proposals (current region codes, demo topics, log-normal delays)."""
    rng = np.random.default_rng(seed)
    codes = reference_regions().get_column("code").to_list()
    start = dt.date(2019, 1, 1)
    submitted = rng.integers(0, 2557, n)
    delay = np.maximum(1, np.rint(25 * np.exp(rng.normal(0, 0.8, n)))).astype(np.int64)
    answered = rng.random(n) < 0.9
    status = np.where(
        answered,
        rng.choice(["answered", "accepted", "rejected", "implemented"], n),
        rng.choice(["received", "in_review"], n),
    )
    implemented = status == ProposalStatus.IMPLEMENTED
    region = rng.choice([*codes, None], n)
    frame = pl.DataFrame(
        {
            "proposal_id": [f"SYN-{i}" for i in range(n)],
            "source": rng.choice(list(ProposalSource), n),
            "region": region,
            "topic": rng.choice(TOPICS, n),
            "submitted_on": [start + dt.timedelta(days=int(d)) for d in submitted],
            "status": status,
            "answered_on": [
                start + dt.timedelta(days=int(s + d)) if a else None
                for s, d, a in zip(submitted, delay, answered, strict=True)
            ],
            "implemented_on": [
                start + dt.timedelta(days=int(s + d + 120)) if m else None
                for s, d, m in zip(submitted, delay, implemented, strict=True)
            ],
        }
    )
    with engine.begin() as conn:
        upload_id = conn.execute(
            uploads.insert().values(
                kind=UploadKind.PROPOSALS,
                file_name="synthetic",
                sha256="0" * 64,
                uploaded_by="bench",
                uploaded_at=dt.datetime.now(dt.UTC),
                status=UploadStatus.LOADED,
            )
        ).inserted_primary_key[0]
        bulk_insert(conn, proposals, frame.with_columns(upload_id=pl.lit(upload_id)))
        stored_register.refresh_register(conn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--synthetic", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(copy_of(args.responses, Path(folder)))
        started = time.perf_counter()
        init_db(engine)  # migration 0007 fills the summaries from the stored proposals
        print(f"demo-{args.responses}: upgraded in {time.perf_counter() - started:.1f} s")
        pages(engine, args.repeats)
        upload_cost(engine, args.repeats)
        if args.synthetic:
            started = time.perf_counter()
            add_synthetic(engine, args.synthetic)
            print(
                f"+{args.synthetic:,} synthetic proposals in {time.perf_counter() - started:.1f} s"
            )
            pages(engine, args.repeats)
            upload_cost(engine, 3)
        engine.dispose()


if __name__ == "__main__":
    main()
