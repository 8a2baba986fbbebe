"""Ingest speed, previous design beside today's: a survey CSV of ROWS rows (contract format, demo
generator, default 1,000,000) loaded, validated, stored and summarised into a fresh SQLite file
and a fresh PostgreSQL database (SENIM_BENCH_POSTGRES_URL, a superuser URL, or a throwaway local
server when PostgreSQL is installed). Each load runs in its own process so its peak memory is its
own. Prints seconds per stage (the time up to each progress report is charged to the stage it
names; "finishing" is the summary store, the upload log and the audit row), total (until the
upload's report), the write-ahead log's checkpoint that a tree runs after the report in a thread
("checkpoint after it"; a tree without one checkpoints in its commit), rows/second and peak RSS,
and the previous/new ratio.

Three designs side by side: "previous" is bench/legacy_ingest.py on the schema before migration
0006; "before" is the tree of commit BEFORE (exported with ``git archive`` into var/bench/), the
state before the latest ingest speed work (session 6: the bulk path of queries/summaries/bulk.py,
foreign keys checked once per load on SQLite), or the commit ``--before`` names; "new" is this
tree. ``--designs`` picks some of
them. Then ``summaries rebuild`` of the loaded database (1 load's worth of waves) by "before"
and "new": time, CPU, peak RSS.

``--repeat N`` loads the file N times with each design, the designs in turn (A B B A ...), each
load into a fresh database, and prints each figure's median over the N loads, every load's total
and the median of the before/new ratios pair by pair: this machine's speed drifts up to twofold
within minutes, so one load says little and a ratio of neighbours holds better than a time.
Usage: python bench/bench_ingest.py [ROWS] [--only sqlite|postgresql] [--no-rebuild]
                                   [--designs previous,before,new] [--before COMMIT] [--repeat N]"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest_table import median_of_loads, print_side_by_side  # noqa: E402

DESIGNS = ("previous", "before", "new")
BEFORE = "9ef86cc"  # the tree before session 6's ingest work (dfc4af4 was before migration 0010)
# design -> the design its tree runs (the tree: this one, or the BEFORE commit's for "before")
RUNS = {"previous": "previous", "before": "new", "new": "new"}
REBUILDS = ("before", "new")


def valid_survey_csv(rows: int, path: Path) -> None:
    """A demo survey file of exactly ``rows`` rows that passes validation: the generator's rows
    that today's rules refuse (if any) are dropped, and more are generated to make up for them."""
    import polars as pl

    from queries.db import init_db, make_engine
    from queries.demo.survey import generate_survey_frame
    from queries.ingest.pipeline import check_bytes

    frame = generate_survey_frame(int(rows * 1.1) + 100, seed=7)
    frame.write_csv(path)
    engine = make_engine(f"sqlite:///{path.with_suffix('.check.db')}")
    init_db(engine)
    report = check_bytes(engine, "survey", path.read_bytes(), path.name)
    engine.dispose()
    bad = report.errors.get_column("row").unique().implode()
    frame = frame.with_row_index("_line", offset=1).filter(~pl.col("_line").is_in(bad))
    if frame.height < rows:
        raise SystemExit(f"only {frame.height:,} valid demo rows; the validator refuses many")
    frame.head(rows).drop("_line").write_csv(path)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB. Not getrusage: Linux carries the
    parent's peak over fork and exec into ru_maxrss, and the parent made the file."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_load(design: str, url: str, file: Path) -> dict:
    """Load ``file`` into the fresh database ``url`` with one design (in this process)."""
    from queries import db
    from queries.db import init_db, make_engine
    from queries.ingest import store
    from queries.ingest.pipeline import ingest_bytes

    engine = make_engine(url)
    init_db(engine)
    if design == "previous":
        from bench import legacy_ingest

        _downgrade(engine, legacy_ingest.SCHEMA_BEFORE)
        store.insert_survey = legacy_ingest.insert_survey
        _summaries_without_later_tables()
    content = file.read_bytes()
    stages: dict[str, float] = {}
    cpus: dict[str, float] = {}  # this process's CPU per stage: steadier than wall on a busy host
    peaks: dict[str, float] = {}
    last = [time.perf_counter(), time.process_time()]

    def progress(fraction: float, stage: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        stages[stage] = stages.get(stage, 0.0) + now - last[0]
        cpus[stage] = cpus.get(stage, 0.0) + cpu - last[1]
        peaks[stage] = peak_rss_mb()  # the peak so far: which stage raised it
        last[0], last[1] = now, cpu

    server_cpu = _server_cpu() if engine.dialect.name == "postgresql" else lambda: 0.0
    started, cpu, server = time.perf_counter(), time.process_time(), server_cpu()
    report = ingest_bytes(engine, "survey", content, file.name, progress=progress)
    total = time.perf_counter() - started
    if report.status != "loaded":
        raise SystemExit(f"{design}: {report.status}: {report.message}")
    # the checkpoint a tree runs after the report (queries.db.checkpoint_after), timed apart
    waiting = time.perf_counter()
    getattr(db, "checkpoints_finished", lambda: True)()
    after = time.perf_counter() - waiting
    engine.dispose()
    return {
        "rows": report.rows_loaded,
        "stages": stages,
        "stage_cpu": cpus,
        "total": total,
        "after": after,
        "cpu": time.process_time() - cpu,
        "server_cpu": server_cpu() - server,
        "peak_mb": peak_rss_mb(),
        "peaks": peaks,
    }


def _summaries_without_later_tables() -> None:
    """The previous design's schema (SCHEMA_BEFORE) has only the first summary tables: its
    loads delete a wave's summaries from those alone (later migrations added caches beside)."""
    from sqlalchemy import delete

    from queries.schema.summaries import summary_cells, summary_strata, summary_variables
    from queries.summaries import store as summary_store

    def delete_waves(conn, waves) -> None:
        for source, wave in waves:
            for table in (summary_cells, summary_strata, summary_variables):
                conn.execute(delete(table).where(table.c.source == source, table.c.wave == wave))

    summary_store.delete_waves = delete_waves


def _server_cpu():
    """CPU seconds used so far by the local PostgreSQL server (the postmaster, its finished
    children and its live ones), read from /proc: under a loaded machine, CPU time says more
    than wall time. Zero when the server is not a local TempPostgres (BENCH_PG_DATA unset)."""
    data = os.environ.get("BENCH_PG_DATA")
    if not data:
        return lambda: 0.0
    postmaster = int((Path(data) / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")

    def fields(pid: int) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    def total() -> float:
        main = fields(postmaster)
        seconds = sum(int(x) for x in main[11:15])  # utime stime cutime cstime
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = fields(int(entry.name))
                except OSError:
                    continue
                if int(stat[1]) == postmaster:
                    seconds += int(stat[11]) + int(stat[12])
        return seconds / tick

    return total


def _downgrade(engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from queries.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _tree(design: str, before: str) -> Path:
    """The source tree a design runs in: the ``before`` commit's for "before"."""
    return ROOT / "var" / "bench" / f"tree-{before}" if design == "before" else ROOT


def _child(design: str, url: str, file: Path, before: str) -> dict:
    tree = _tree(design, before)
    command = [sys.executable, __file__, "--tree", str(tree), "--run", RUNS[design], url, str(file)]
    return _json_of(command, f"{design} load", tree)


def _loads(designs: list[str], urls, file: Path, before: str, repeat: int) -> dict[str, dict]:
    """Each design loaded ``repeat`` times, the designs in turn, the order reversed every other
    time (A B B A ...: the second of two loads meets the first's writes still being flushed),
    ``urls(design, i)`` a fresh database for each load; per design each figure's median."""
    runs: dict[str, list[dict]] = {d: [] for d in designs}
    for i in range(repeat):
        for design in designs if i % 2 == 0 else designs[::-1]:
            runs[design].append(_child(design, urls(design, i), file, before))
    return {design: median_of_loads(found) for design, found in runs.items()}


def _json_of(command: list[str], what: str, tree: Path = ROOT) -> dict:
    """The last line a child prints, as JSON; the child runs in ``tree``: a process it starts
    with ``python -m`` (the summing helper) imports from its working folder first."""
    done = subprocess.run(command, capture_output=True, text=True, cwd=tree)
    if done.returncode:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _export_before(before: str) -> None:
    """The ``before`` commit's tree under var/bench/ (git archive), once."""
    tree = _tree("before", before)
    if (tree / "queries").is_dir():
        return
    tree.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", before], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)


def one_rebuild(url: str) -> dict:
    """``summaries rebuild`` of the database ``url`` (in this process), as the command line
    runs it: one transaction under the writer locks."""
    from queries.db import make_engine
    from queries.ingest.uploads import lock
    from queries.summaries.rebuild import rebuild
    from queries.vocab import UploadKind

    engine = make_engine(url)
    started, cpu = time.perf_counter(), time.process_time()
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        lock(conn, UploadKind.SURVEY)
        waves = rebuild(conn)
    engine.dispose()
    return {
        "waves": waves,
        "total": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "peak_mb": peak_rss_mb(),
    }


def print_rebuilds(backend: str, urls: dict[str, str], before: str) -> None:
    """Rebuild the summaries of the databases just loaded, "before" then "new", each design its
    own database (a tree reads the schema it wrote: 0010 moved the trust scores)."""
    results = {}
    for design in REBUILDS:
        tree = _tree(design, before)
        command = [sys.executable, __file__, "--tree", str(tree), "--rebuild", urls[design]]
        results[design] = _json_of(command, f"{design} rebuild", tree)
    old, new = results["before"], results["new"]
    print(f"\n{backend}: summaries rebuild, {new['waves']} waves      before      new  before/new")
    for name, key in (("time", "total"), ("CPU, this process", "cpu")):
        a, b = old[key], new[key]
        print(f"  {name:<30} {a:>8.1f} s {b:>8.1f} s {a / b:>8.1f}x")
    print(f"  {'peak RSS':<30} {old['peak_mb']:>7,.0f} MB {new['peak_mb']:>7,.0f} MB")


def _postgres_databases(admin_url: str, names: list[str]) -> list[str]:
    """Fresh, empty databases on the server of ``admin_url``; their URLs."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    base = make_url(admin_url)
    return [base.set(database=name).render_as_string(hide_password=False) for name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--no-rebuild", action="store_true", help="skip the rebuild figures")
    parser.add_argument(
        "--designs",
        default=",".join(DESIGNS),
        help="the designs to load, in order (comma-separated; default all three)",
    )
    parser.add_argument("--before", default=BEFORE, help=f"the commit of 'before' ({BEFORE})")
    parser.add_argument(
        "--repeat", type=int, default=1, help="loads per design, in turn; medians printed"
    )
    parser.add_argument("--run", nargs=3, metavar=("DESIGN", "URL", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--rebuild", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)  # the source tree a child runs
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, args.tree)
    if args.run:
        design, url, file = args.run
        print(json.dumps(one_load(design, url, Path(file))))
        return
    if args.rebuild:
        print(json.dumps(one_rebuild(args.rebuild)))
        return
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if unknown := set(designs) - set(DESIGNS):
        parser.error(f"unknown designs: {', '.join(sorted(unknown))}")
    if "before" in designs:
        _export_before(args.before)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        file = Path(folder) / "survey.csv"
        valid_survey_csv(args.rows, file)
        print(
            f"survey file: {args.rows:,} rows, {file.stat().st_size / 1e6:,.0f} MB "
            f"(made in {time.perf_counter() - started:.1f} s); load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures taken under that load)"
        )
        if args.only != "postgresql":

            def url(design: str, i: int) -> str:
                return f"sqlite:///{Path(folder) / f'{design}-{i}.db'}"

            loads = _loads(designs, url, file, args.before, args.repeat)
            print_side_by_side("sqlite", loads)
            if not args.no_rebuild and set(REBUILDS) <= set(designs):
                print_rebuilds("sqlite", {d: url(d, 0) for d in designs}, args.before)
        if args.only != "sqlite":
            _run_postgres(file, designs, args.before, rebuild=not args.no_rebuild,
                          repeat=args.repeat)  # fmt: skip
    print(f"\nload average now {os.getloadavg()[0]:.1f}")


def _run_postgres(file: Path, designs: list[str], before: str, *, rebuild: bool, repeat: int):
    if os.environ.get("SENIM_BENCH_POSTGRES_URL"):
        admin = os.environ["SENIM_BENCH_POSTGRES_URL"]
        _postgres_side_by_side(admin, designs, file, before, rebuild, repeat)
        return
    if not (shutil.which("pg_ctl") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))):
        print("\npostgresql: not installed here (set SENIM_BENCH_POSTGRES_URL)")
        return
    from tests.pgserver import TempPostgres

    server = TempPostgres()
    try:
        url = server.start()
        os.environ["BENCH_PG_DATA"] = str(server.dir / "data")  # for the children's CPU figure
        _postgres_side_by_side(url, designs, file, before, rebuild, repeat)
    finally:
        server.stop()


def _postgres_side_by_side(admin_url, designs: list[str], file: Path, before: str, rebuild,
                           repeat: int) -> None:  # fmt: skip
    def name(design: str, i: int) -> str:
        return f"bench_ingest_{design}_{i}"

    names = [name(d, i) for i in range(repeat) for d in designs]
    urls = dict(zip(names, _postgres_databases(admin_url, names), strict=True))
    results = _loads(designs, lambda d, i: urls[name(d, i)], file, before, repeat)
    print_side_by_side("postgresql", results)
    if rebuild and set(REBUILDS) <= set(results):
        print_rebuilds("postgresql", {d: urls[name(d, 0)] for d in designs}, before)


if __name__ == "__main__":
    main()
