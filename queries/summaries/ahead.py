"""A large SQLite upload's summaries made in another process while this one writes its rows
(issue 11, ingest at speed): on a machine of two cores the sums and their ~670 thousand rows
per million respondents cost as much as the responses' own insert, and a thread cannot share
that work (the responses' executemany needs the interpreter lock between statements, and the
summing thread took it from them: 1M rows, responses 4.6 -> 17 s).

The new waves' rows (those no earlier upload has rows in) go to a private folder as Arrow IPC;
``python -m queries.summaries.ahead FOLDER`` sums them with ``write_sums``, the very code the
upload would run, into a scratch SQLite file there. Once the responses are written the upload's
transaction attaches that file and copies its rows with INSERT ... SELECT, at SQLite's own
speed, exactly as they were bound there. The upload stays all or nothing: the scratch file is
outside the database and only read. If the helper fails, the upload sums those waves itself.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, create_engine

from queries.schema.base import metadata
from queries.schema.summaries import summary_cells, summary_strata, summary_variables

# below this many new rows the helper's start (an interpreter importing polars, ~1 s) costs
# more than it saves
MIN_ROWS = 100_000
MIN_BYTES = 10_000_000  # a survey file this large is started a helper before it is read
SCHEMA = "senim_ahead"  # the scratch file's name while attached to the upload's connection
PYTHON = sys.executable
WAIT_SECONDS = 600  # a helper that has not finished by then is given up (the upload sums)
ROWS_FILE, SUMS_FILE = "rows.arrow", "sums.db"
DONE = "summed"  # the helper's one line on stdout once its scratch file is whole
PREFIX = "senim-sums-"  # then the upload's process id: a folder whose process is gone is swept
COPIED = (summary_strata, summary_cells, summary_variables)
Wave = tuple[str, str]


@dataclass(frozen=True)
class SummingAhead:
    """A helper process summing ``waves`` into ``folder``'s scratch file."""

    process: subprocess.Popen
    folder: Path
    waves: tuple[Wave, ...]

    def taking_back(self) -> Iterator[Wave]:
        """The waves the helper has not begun, from the last one, each claimed as the caller
        asks for the next (the helper claims them from the first): the caller, done with its
        rows, sums these itself meanwhile instead of waiting."""
        for at in reversed(range(len(self.waves))):
            if not _claim(self.folder, at):
                return
            yield self.waves[at]

    def copy_into(self, conn: Connection, *, taken: Iterable[Wave] = ()) -> tuple[Wave, ...]:
        """Inside the upload's transaction: wait for the helper, replace the summaries of its
        waves (all but those ``taken`` back) by the scratch file's rows; the waves copied
        (none if the helper failed)."""
        if not _said_done(self.process) or not (self.folder / SUMS_FILE).is_file():
            return ()
        from queries.summaries.store import delete_waves  # late: store imports this module

        back = set(taken)
        summed = tuple(wave for wave in self.waves if wave not in back)
        # ATTACH is allowed inside a transaction; DETACH only after it (scratch_detached)
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {SCHEMA}", (str(self.folder / SUMS_FILE),))
        delete_waves(conn, summed)
        for table in COPIED:
            columns = ", ".join(c.name for c in table.columns)
            conn.exec_driver_sql(
                f"INSERT INTO main.{table.name} ({columns}) "
                f"SELECT {columns} FROM {SCHEMA}.{table.name} ORDER BY rowid"
            )
        return summed


def sweep_stale(under: Path | None = None) -> list[Path]:
    """Remove the folders of uploads whose process is gone (killed before its ``finally``
    ran: ~100 MB of rows per million respondents would otherwise stay); the folders removed."""
    removed = []
    for folder in Path(under or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        owner = folder.name.removeprefix(PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: alive
        return True
    return True


def _claim(folder: Path, at: int) -> bool:
    """Whether this process is the first to claim wave number ``at`` (an exclusive create)."""
    try:
        os.close(os.open(folder / f"wave-{at}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    return True


def _said_done(process: subprocess.Popen) -> bool:
    """Whether the helper said it has written its scratch file, within ``WAIT_SECONDS`` (one
    that has not is killed). Its word rather than its exit: an interpreter's exit with polars
    loaded takes ~0.4 s, which the upload would wait for in its transaction."""
    out = process.stdout
    if out is None or not select.select([out], [], [], WAIT_SECONDS)[0]:
        process.kill()
        process.wait()  # at once after a kill: gone before the upload goes on
        return False
    return out.readline().strip() == DONE  # "" when it died first


def _start() -> subprocess.Popen:
    """A helper process, importing what it needs, then waiting for its folder on stdin."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [PYTHON, "-m", "queries.summaries.ahead"],
        # one polars thread: the other core is the upload's, writing the rows meanwhile
        env={**os.environ, "PYTHONPATH": path, "POLARS_MAX_THREADS": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _stop(process: subprocess.Popen) -> None:
    """Let a helper that was given nothing end, or stop one still working."""
    if process.poll() is None:
        with suppress(OSError):
            process.stdin.close()  # type: ignore[union-attr]
        process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


_waiting: ContextVar[subprocess.Popen | None] = ContextVar("summing_helper", default=None)


@contextmanager
def started_early(conn_dialect: str, kind: str, size: int) -> Iterator[None]:
    """Around a whole upload (reading and validating included): on SQLite, for a survey file
    of at least ``MIN_BYTES``, a helper started now so that its interpreter and imports (~0.6 s)
    are ready when ``summing_ahead`` needs it; stopped at the end if it was not used."""
    if conn_dialect != "sqlite" or kind != "survey" or size < MIN_BYTES:
        yield
        return
    process = _start()
    token = _waiting.set(process)
    try:
        yield
    finally:
        _waiting.reset(token)
        _stop(process)


@contextmanager
def summing_ahead(
    conn: Connection, rows: pl.DataFrame, waves: list[Wave]
) -> Iterator[SummingAhead | None]:
    """A helper summing ``waves`` of ``rows`` (in the shape ``write_sums`` reads) while the
    caller writes (the one ``started_early`` made, or a new one); None when not worth it
    (PostgreSQL, few rows, no new wave). The helper is stopped and its folder removed when the
    block ends, whatever happened."""
    if conn.dialect.name != "sqlite" or not waves:
        yield None
        return
    from queries.summaries.cells import ROW_COLUMNS, TRUST  # late: cells read the metrics

    # the columns the sums read (as a rebuild reads them: no respondent ids in the folder)
    rows = rows.select(c for c in rows.columns if c in ROW_COLUMNS or c.startswith(TRUST))
    if len(waves) < rows.n_unique(["source", "wave"]):  # only the new waves' rows
        keep = pl.DataFrame(waves, schema={"source": pl.String, "wave": pl.String}, orient="row")
        rows = rows.join(keep, on=["source", "wave"], how="semi", maintain_order="left")
    if rows.height < MIN_ROWS:
        yield None
        return
    sweep_stale()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    try:
        process = _waiting.get() or _start()
        _waiting.set(None)  # one upload, one helper
        handing = threading.Thread(target=_hand_over, args=(process, rows, folder))
        handing.start()
        try:
            yield SummingAhead(process, folder, tuple(sorted(waves)))
        finally:
            handing.join()
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # an attached file may go: Linux keeps it


def _hand_over(process: subprocess.Popen, rows: pl.DataFrame, folder: Path) -> None:
    """In a thread, while the caller starts writing its rows: the rows to the folder (polars
    writes without the interpreter lock, on the core the helper waits on; 1M rows, 105 MB,
    ~0.2 s the caller no longer spends), then the folder to the helper. Its stdin is closed
    whatever happens: a helper given no folder ends, and the upload sums the waves itself."""
    try:
        with suppress(Exception):  # a helper that died, a full disk: copy_into sees it failed
            rows.write_ipc(folder / ROWS_FILE)
            process.stdin.write(f"{folder}\n")  # type: ignore[union-attr]
    finally:
        with suppress(OSError):
            process.stdin.close()  # type: ignore[union-attr]


@contextmanager
def scratch_detached(conn: Connection) -> Iterator[None]:
    """Around an upload's transaction (``conn`` not yet begun): the scratch file, if the load
    attached one, detached once the transaction has ended (SQLite refuses inside it), or the
    connection dropped (the pool would keep the attachment)."""
    try:
        yield
    finally:
        if conn.dialect.name == "sqlite" and not (conn.closed or conn.invalidated):
            # at the driver: through ``conn`` a statement would begin a transaction again, and
            # the pragmas put back after this one (references_checked_once) would not apply
            raw = conn.connection.driver_connection
            if any(row[1] == SCHEMA for row in raw.execute("PRAGMA database_list")):
                try:
                    raw.execute(f"DETACH DATABASE {SCHEMA}")
                except Exception:
                    conn.invalidate()
                    raise


def _sum_folder(folder: Path) -> None:
    """The helper: every wave of the folder's rows summed into its scratch file."""
    from queries.summaries.store import wave_rows, write_sums  # late: the helper's imports

    upload = os.getppid()
    rows = pl.read_ipc(folder / ROWS_FILE)
    part = folder / f"{SUMS_FILE}.part"
    engine = create_engine(f"sqlite:///{part}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=OFF")  # a scratch file: renamed when whole
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        metadata.create_all(conn, tables=list(COPIED))
        for index in summary_cells.indexes:  # read once, in rowid order: no index needed
            conn.exec_driver_sql(f"DROP INDEX {index.name}")
        conn.commit()
        with conn.begin():
            # as the upload would: the same rows, in order, the waves sorted as it numbers them
            for at, (wave, in_wave) in enumerate(wave_rows(rows)):
                if not _claim(folder, at):
                    break  # the upload is summing this one and the rest itself
                # fresh: the scratch file has no index to find a wave's rows by to delete
                write_sums(conn, [wave], in_wave, fresh=True)
    engine.dispose()
    part.rename(folder / SUMS_FILE)
    print(DONE, flush=True)  # the upload reads this, not the exit (_said_done)
    if os.getppid() != upload:  # the upload was killed meanwhile: nobody else removes it
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    from queries.summaries import store  # noqa: F401  imported while the upload reads its file

    if folder := sys.stdin.readline().strip():
        _sum_folder(Path(folder))
