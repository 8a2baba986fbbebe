"""Peak memory of the app server under the load of issue 13, before and after the hardening.

Two phases against a real ``streamlit run dashboard/app.py``, driven through Streamlit's own
protocol (tests/streamlit_ws.py), while a sampler reads the server's resident memory
(/proc/<pid>/status) every 20 ms:

1. ``--clients`` signed-out sessions (sitting on the sign-in page) each PUT a ``--upload-mb``
   file to Streamlit's upload endpoint at the same time;
2. ``--sign-ins`` local sign-ins arrive at once (argon2 at 64 MiB each);
3. one staff user checks a valid ``--check-mb`` survey file on the Upload page (through the
   same PUT + uploader state + rerun as a browser) and keeps the tab open.

"before" runs the tree of ``--before`` (default: the commit before issue 13's work, exported
with ``git archive`` into var/bench/), "after" the working tree; same venv, same settings.

    .venv/bin/python -m bench.bench_access            # both, prints one table
    .venv/bin/python -m bench.bench_access --only after
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.server import free_port, streamlit_command, wait_healthy  # noqa: E402
from tests.streamlit_ws import StreamlitSession  # noqa: E402

BEFORE_COMMIT = "d4cac11"  # main before issue 13's access work
BENCH_DIR = ROOT / "var" / "bench"
PASSWORD = "bench-password-1"
MAKE_DB = """
import sys
from queries.db import init_db, make_engine
from queries.access.accounts import create_user
engine = make_engine(sys.argv[1])
init_db(engine)
for i in range(int(sys.argv[2])):
    create_user(engine, f"user{i:02d}", sys.argv[3], role="viewer")
create_user(engine, "staff", sys.argv[3], role="staff")
engine.dispose()
"""


@dataclass(frozen=True)
class Outcome:
    variant: str
    baseline_mb: float
    upload_peak_mb: float
    uploads_accepted: int
    held_mb: float  # 5 s after the uploads ended
    upload_s: float
    signin_peak_mb: float
    sign_ins_ok: int
    signin_s: float
    check_peak_mb: float
    check_held_mb: float  # 5 s after the check, the tab still open


class RssSampler:
    """The highest resident memory of one process seen since the last ``reset``."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> float:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, self.now())
            except OSError:
                return

    def reset(self) -> None:
        self.peak = self.now()

    def stop(self) -> None:
        self._stop.set()


def tree_at(commit: str) -> Path:
    """The project as of ``commit``, exported once into var/bench/ (read-only use)."""
    target = BENCH_DIR / f"tree-{commit}"
    if not (target / "dashboard" / "app.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
        ).stdout
        import io

        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target


def run_variant(variant: str, tree: Path, args) -> Outcome:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db = BENCH_DIR / f"access-{variant}.db"
    for stale in BENCH_DIR.glob(f"access-{variant}.db*"):
        stale.unlink()
    url = f"sqlite:///{db}"
    subprocess.run(
        [sys.executable, "-c", MAKE_DB, url, str(args.sign_ins), PASSWORD], cwd=tree, check=True
    )
    port = free_port()
    env = {
        **os.environ,
        "SENIM_DATABASE_URL": url,
        "SENIM_REQUIRE_LOGIN": "1",
        "SENIM_MAX_UPLOAD_MB": str(args.upload_mb),
        "PYTHONPATH": str(tree),
    }
    log = (BENCH_DIR / f"access-{variant}.log").open("w")
    server = subprocess.Popen(
        streamlit_command(tree / "dashboard" / "app.py", port),
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server)
        with StreamlitSession(base) as warm:  # one run, so the app's modules are imported
            warm.run(query_string="lang=en")
        sampler = RssSampler(server.pid)
        time.sleep(1.0)  # let the warm-up settle before the baseline (a measurement, not sync)
        baseline = sampler.now()
        upload_peak, accepted, held, upload_s = _uploads(base, sampler, args)
        signin_peak, ok, signin_s = _sign_ins(base, sampler, args)
        check_peak, check_held = _app_check(base, sampler, args)
        sampler.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return Outcome(
        variant,
        baseline,
        upload_peak,
        accepted,
        held,
        upload_s,
        signin_peak,
        ok,
        signin_s,
        check_peak,
        check_held,
    )


def _uploads(base: str, sampler: RssSampler, args) -> tuple[float, int, float, float]:
    data = b"respondent_id,region\n" + b"R0000001,KZ-75\n" * (args.upload_mb * 1_000_000 // 15)
    data = data[: args.upload_mb * 1_000_000 - 1_000]
    sessions = [StreamlitSession(base, timeout=600) for _ in range(args.clients)]
    for session in sessions:
        session.run(query_string="lang=en")  # sitting on the sign-in page
    sampler.reset()
    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        statuses = list(pool.map(lambda s: s.upload("big.csv", data)[0], sessions))
    elapsed = time.perf_counter() - started
    peak = sampler.peak
    time.sleep(5.0)  # what the server still holds a while later (a measurement)
    held = sampler.now()
    for session in sessions:
        session.close()
    return peak, statuses.count(204), held, elapsed


def _sign_ins(base: str, sampler: RssSampler, args) -> tuple[float, int, float]:
    def one(i: int) -> bool:
        with StreamlitSession(base, timeout=600) as session:
            result = session.sign_in(f"user{i:02d}", PASSWORD)
            return not [e for e in result.of_kind("text_input") if e.label == "Password"]

    sampler.reset()
    started = time.perf_counter()
    with ThreadPoolExecutor(args.sign_ins) as pool:
        ok = sum(pool.map(one, range(args.sign_ins)))
    return sampler.peak, ok, time.perf_counter() - started


def _app_check(base: str, sampler: RssSampler, args) -> tuple[float, float]:
    from tests.uploads_helpers import survey_csv, survey_rows

    row_bytes = len(survey_rows(1)[0].encode()) + 1
    content = survey_csv(survey_rows(args.check_mb * 1_000_000 // row_bytes))
    with StreamlitSession(base, timeout=900) as staff:
        staff.sign_in("staff", PASSWORD)
        page = staff.run(query_string="lang=en", page_name="upload")
        (uploader,) = page.of_kind("file_uploader")
        sampler.reset()
        _status, file_id = staff.upload("wave.csv", content)
        staff.set_file(uploader.widget_id, file_id=file_id, name="wave.csv", size=len(content))
        staff.run(query_string="lang=en", page_name="upload")  # the page checks the file
        peak = sampler.peak
        time.sleep(5.0)  # what the open tab keeps (a measurement)
        held = sampler.now()
    return peak, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE_COMMIT, help="commit of the 'before' tree")
    parser.add_argument("--only", choices=("before", "after"))
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--upload-mb", type=int, default=200)
    parser.add_argument("--sign-ins", type=int, default=40)
    parser.add_argument("--check-mb", type=int, default=100)
    args = parser.parse_args()
    variants = {"before": tree_at(args.before), "after": ROOT}
    outcomes = [
        run_variant(name, tree, args)
        for name, tree in variants.items()
        if args.only in (None, name)
    ]
    print(
        f"\n{args.clients} signed-out clients x {args.upload_mb} MB uploads, then "
        f"{args.sign_ins} sign-ins at once, then a staff check of a {args.check_mb} MB file on the"
        " Upload page; server RSS in MB"
    )
    print(
        "| variant | idle | uploads: peak | accepted | held 5 s later | s | sign-ins: peak"
        " | signed in | s | check: peak | held, tab open |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for o in outcomes:
        print(
            f"| {o.variant} | {o.baseline_mb:.0f} | {o.upload_peak_mb:.0f} | "
            f"{o.uploads_accepted}/{args.clients} | {o.held_mb:.0f} | {o.upload_s:.1f} | "
            f"{o.signin_peak_mb:.0f} | {o.sign_ins_ok}/{args.sign_ins} | {o.signin_s:.1f} | "
            f"{o.check_peak_mb:.0f} | {o.check_held_mb:.0f} |"
        )


if __name__ == "__main__":
    main()
