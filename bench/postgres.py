"""A PostgreSQL server for the benches, kept under var/bench/pg between runs (its demo databases
take minutes to load at 10M), on a fixed loopback port; started when it is not running.

Unlike the tests' throwaway server it keeps PostgreSQL's durable defaults (fsync on), as
production runs. ``postgres_demo_database(n)`` is ``bench.common.demo_database`` on it: built
once, file by file, into ``senim_demo_<n>_building`` and renamed when complete, so a build cut
short is never measured."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import BENCH_DIR, _print_loaded, peak_rss_mb
from queries.db import init_db, make_engine
from queries.demo import load_demo
from tests.pgserver import _bin_dir

PG_DIR = BENCH_DIR / "pg"
PORT = int(os.environ.get("SENIM_BENCH_PG_PORT", "55439"))
ADMIN_URL = f"postgresql+psycopg://senim@127.0.0.1:{PORT}/postgres"


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [str(_bin_dir() / args[0]), *args[1:]]
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as Debian's postgres user
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=check, capture_output=True, text=True)


def server_up() -> str:
    """The bench server's superuser URL, creating and starting the cluster as needed."""
    data = PG_DIR / "data"
    if not data.exists():
        PG_DIR.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(PG_DIR, "postgres")
        _run("initdb", "-D", str(data), "-U", "senim", "--auth=trust", "-E", "UTF8", "--locale=C")
    if _run("pg_ctl", "-D", str(data), "status", check=False).returncode != 0:
        options = f"-p {PORT} -c listen_addresses=127.0.0.1 -k {PG_DIR} -c max_connections=200"
        _run("pg_ctl", "-D", str(data), "-w", "-l", str(PG_DIR / "log"), "-o", options, "start")
    return ADMIN_URL


def server_down() -> None:
    """Stop the bench server (its data stay for the next run)."""
    if (PG_DIR / "data").exists():
        _run("pg_ctl", "-D", str(PG_DIR / "data"), "-m", "fast", "-w", "stop", check=False)


def _databases(admin) -> set[str]:
    with admin.connect() as conn:
        return set(conn.execute(text("SELECT datname FROM pg_database")).scalars())


def postgres_demo_database(responses: int, seed: int = 2025) -> str:
    """A PostgreSQL URL holding the same demo data as ``demo_database(responses)``."""
    admin = create_engine(server_up(), isolation_level="AUTOCOMMIT")
    name, building = f"senim_demo_{responses}", f"senim_demo_{responses}_building"
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    if name not in _databases(admin):
        started = time.perf_counter()
        print(f"building PostgreSQL {name} ({responses:,} responses) ...", flush=True)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{building}"'))
            conn.execute(text(f'CREATE DATABASE "{building}"'))
        engine = make_engine(ADMIN_URL.rsplit("/", 1)[0] + f"/{building}")
        init_db(engine)
        load_demo(engine, responses=responses, seed=seed, on_loaded=_print_loaded)
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
        print(f"built {name} in {time.perf_counter() - started:.1f} s, "
              f"peak RSS {peak_rss_mb():.0f} MB", flush=True)  # fmt: skip
    admin.dispose()
    return url


if __name__ == "__main__":  # python -m bench.postgres N: build (or find) the N-response database
    import sys

    print(postgres_demo_database(int(sys.argv[1])))
    print("server data:", Path(PG_DIR))
