"""Serving the app for the server-side benches: today's tree or the previous design's (the tree at
``BEFORE``, before the summary store), each on its own database, with a signed-in bench user, and
the server's resident memory (the process and its children) sampled while it runs.

The previous design cannot open today's databases (columns were renamed since), so it gets a demo
database built by its own generator (``previous_design_database``, kept under its tree)."""

from __future__ import annotations

import contextlib
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.server import ARTIFACTS, free_port, streamlit_command, wait_healthy  # noqa: E402

BEFORE = "d4cac11"  # main before the summary store (issue 11)
BEFORE_TREE = ROOT / "var" / "bench" / f"tree-{BEFORE}"
USER = ("bench-staff", "bench-password-1")
PAGES = ("overview", "regions", "feedback", "ngo", "drivers")  # the pages with the filters
LANGUAGES = ("kk", "ru", "en")


def page_path(page: str) -> str:
    """The page's address (``page_name`` of a rerun): the Overview is the root."""
    return "" if page == "overview" else page


ADD_USER = """
import sys
from sqlalchemy import text
from queries.access.accounts import create_user
from queries.db import make_engine
engine = make_engine(sys.argv[1])
with engine.connect() as conn:  # plain SQL: the schema's module moved between designs
    known = conn.execute(text("SELECT id FROM users WHERE username = :u"), {"u": sys.argv[2]})
    known = known.first()
if known is None:
    create_user(engine, sys.argv[2], sys.argv[3], role="staff")
engine.dispose()
"""
BUILD_BEFORE = """
import sys, time
from bench.common import demo_database
started = time.perf_counter()
print(demo_database(int(sys.argv[1])))
print(time.perf_counter() - started)
"""


@dataclass(frozen=True)
class Design:
    """Which tree serves the app: ``now`` (this working tree) or ``before``."""

    name: str
    tree: Path

    @property
    def app(self) -> Path:
        return self.tree / "dashboard" / "app.py"


NOW = Design("now", ROOT)
PREVIOUS = Design("before", BEFORE_TREE)


def previous_design_database(responses: int) -> tuple[str, float | None]:
    """The previous design's demo database of ``responses`` (its URL, and the seconds its build
    took when it had to be built now; None when it existed)."""
    if not PREVIOUS.app.exists():
        raise SystemExit(f"{BEFORE_TREE} is missing: export it with `git archive {BEFORE}`")
    path = BEFORE_TREE / "var" / "bench" / f"demo-{responses}.db"
    existed = path.exists()
    out = subprocess.run(
        [sys.executable, "-c", BUILD_BEFORE, str(responses)],
        cwd=BEFORE_TREE, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    return out[-2], None if existed else float(out[-1])


def ensure_summaries(url: str) -> None:
    """Today's schema and a complete summary store in a bench database before anything is timed
    (a database built before a migration or a stored variable was added is brought up to date
    here, timed and printed, rather than inside a measured launch)."""
    from sqlalchemy import inspect

    from queries.db import init_db, make_engine
    from queries.summaries.read import catalog

    engine = make_engine(url)
    columns = {c["name"] for c in inspect(engine).get_columns("summary_cells")}
    if "sy" not in columns:  # added to migration 0003 in place; filled by the rebuild below
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE summary_cells ADD COLUMN sy FLOAT NOT NULL DEFAULT 0")
    init_db(engine)
    complete = "sy" in columns and catalog(engine).complete
    engine.dispose()
    if complete:
        return
    started = time.perf_counter()
    print("  (summary store incomplete: `summaries rebuild` ...)", flush=True)
    subprocess.run([sys.executable, "-m", "queries", "summaries", "rebuild", "--db", url],
                   check=True, cwd=ROOT, capture_output=True)  # fmt: skip
    print(f"  summaries rebuilt in {time.perf_counter() - started:.1f} s", flush=True)


def add_bench_user(design: Design, url: str) -> None:
    """The bench's staff account in ``url`` (created once, by the design's own code); today's
    databases are first brought up to date (``ensure_summaries``)."""
    if design.tree == ROOT:
        ensure_summaries(url)
    subprocess.run([sys.executable, "-c", ADD_USER, url, *USER], cwd=design.tree, check=True)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB (0 once it has exited)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far (10 ms resolution): a rerun's CPU time
    grows far less with the machine's load than its wall time does."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class RssSampler:
    """The server's memory (process tree) every ``every`` seconds while it runs: now and peak."""

    pid: int
    every: float = 0.25
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def now(self) -> float:
        return tree_rss_mb(self.pid)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.now())

    def stop(self) -> None:
        self._stop.set()


@dataclass(frozen=True)
class Served:
    """A running app: its address, process, when it was launched and its memory sampler."""

    url: str
    process: subprocess.Popen
    launched: float  # time.perf_counter() just before the process started
    rss: RssSampler


def server_settings(tree: Path) -> dict[str, str]:
    """The allocator and thread settings ``tree``'s dashboard/serve.py gives its server (read
    from its text: importing it would apply them here), as environment variables."""
    found = {"MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1"}
    serve_py = tree / "dashboard" / "serve.py"
    text = serve_py.read_text() if serve_py.exists() else ""
    threshold = re.search(r"^MMAP_THRESHOLD = ([\d *]+?)\s+#", text, re.MULTILINE)
    if threshold:  # a product of integers, e.g. 64 * 1024
        found["MALLOC_MMAP_THRESHOLD_"] = str(math.prod(int(f) for f in threshold[1].split("*")))
    jemalloc = re.search(r'"(dirty_decay_ms:\d+,muzzy_decay_ms:\d+)"', text)
    if jemalloc:
        found["_RJEM_MALLOC_CONF"] = jemalloc[1]
    if "POLARS_MAX_THREADS" in text:  # from 8cfb6c7 on
        found["POLARS_MAX_THREADS"] = "1"
    return found


@contextlib.contextmanager
def serve(design: Design, database_url: str, *, log_name: str,
          extra: tuple[str, ...] = ()) -> Iterator[Served]:  # fmt: skip
    """``streamlit run`` the design's app (sign-in required) on a free loopback port."""
    port = free_port()
    env = {**os.environ, "SENIM_DATABASE_URL": database_url, "SENIM_REQUIRE_LOGIN": "1"}
    # the allocator and thread limits the design's dashboard/serve.py sets for `make run` (the
    # bench serves app.py, which cannot sign in through serve.py's routes here)
    for variable, value in server_settings(design.tree).items():
        env.setdefault(variable, value)
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / log_name).open("w") as log:
        launched = time.perf_counter()
        process = subprocess.Popen([*streamlit_command(design.app, port), *extra],
                                   cwd=design.tree, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        sampler = RssSampler(process.pid)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process, deadline_s=180)
            yield Served(url, process, launched, sampler)
        finally:
            sampler.stop()
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def load_average() -> str:
    """The machine's 1-minute load average (printed beside each figure: the cores are shared)."""
    return f"load {os.getloadavg()[0]:.1f}"
