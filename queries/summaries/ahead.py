"""A large SQLite upload's summaries made in another process while this one writes its rows
(issue 11, ingest at speed): on a machine of two cores the sums and their ~670 thousand rows
per million respondents cost as much as the responses' own insert, and a thread cannot share
that work (the responses' executemany needs the interpreter lock between statements, and the
summing thread took it from them: 1M rows, responses 4.6 -> 17 s).

The new waves' rows (those no earlier upload has rows in) go to a private folder as Arrow IPC;
``python -m queries.summaries.ahead`` (given the folder on stdin) sums them with ``write_sums``,
the very code the upload would run, into two scratch SQLite files there, the first two thirds
of the waves and the rest, and says on stdout as each is whole. Once the responses are written
the upload's transaction attaches the first and copies its rows with INSERT ... SELECT, at
SQLite's own speed, exactly as they were bound there, while the helper sums the last waves; then
the second. The upload stays all or nothing: the scratch files are outside the database and only
read. If the helper fails, the upload sums those waves itself.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
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
ROWS_FILE = "rows.arrow"
DONE = "summed"  # the helper's line on stdout, with a part's number, once that file is whole
# the helper's waves go to two scratch files, split here: the upload copies the first while
# the helper sums the rest (1M rows, 26 waves: ~0.5 s of the copy overlaps the helper's work)
SPLIT = 2 / 3
PREFIX = "senim-sums-"  # then the upload's process id: a folder whose process is gone is swept
COPIED = (summary_strata, summary_cells, summary_variables)
Wave = tuple[str, str]


@dataclass(frozen=True)
class SummingAhead:
    """A helper process summing ``waves`` into ``folder``'s scratch files (``parts``)."""

    process: subprocess.Popen
    folder: Path
    waves: tuple[Wave, ...]
    said: set[int] = field(default_factory=set, compare=False)  # parts the helper said whole
    heard: bytearray = field(default_factory=bytearray, compare=False)  # a line not yet whole

    @property
    def parts(self) -> list[tuple[int, int]]:
        """Each scratch file's waves, as a range of their numbers (``part_bounds``)."""
        return part_bounds(len(self.waves))

    def taking_back(self) -> Iterator[Wave]:
        """The waves the helper has not begun, from the last one, each claimed as the caller
        asks for the next (the helper claims them from the first): the caller, done with its
        rows, sums these itself meanwhile instead of waiting."""
        for at in reversed(range(len(self.waves))):
            if not _claim(self.folder, at):
                return
            yield self.waves[at]

    def ready(self, part: int) -> bool:
        """Whether the helper has said that scratch file ``part`` is whole (no waiting)."""
        while part not in self.said and self._hear(0):
            pass
        return part in self.said

    def copy_part(
        self, conn: Connection, part: int, *, taken: Iterable[Wave] = ()
    ) -> tuple[Wave, ...]:
        """Inside the upload's transaction: wait for scratch file ``part``, replace the
        summaries of its waves (all but those ``taken`` back) by its rows; the waves copied
        (none if the helper failed)."""
        if not self._waited(part):
            return ()
        from queries.summaries.store import delete_waves  # late: store imports this module

        back = set(taken)
        start, end = self.parts[part]
        summed = tuple(wave for wave in self.waves[start:end] if wave not in back)
        if not summed:
            return ()
        schema = f"{SCHEMA}_{part}"
        # ATTACH is allowed inside a transaction; DETACH only after it (scratch_detached)
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {schema}", (str(self.folder / _sums(part)),))
        delete_waves(conn, summed)
        for table in COPIED:
            columns = ", ".join(c.name for c in table.columns)
            conn.exec_driver_sql(
                f"INSERT INTO main.{table.name} ({columns}) "
                f"SELECT {columns} FROM {schema}.{table.name} ORDER BY rowid"
            )
        return summed

    def _waited(self, part: int) -> bool:
        """Whether the helper says scratch file ``part`` is whole within ``WAIT_SECONDS``; a
        helper that has not (or has ended without) is stopped. Its word rather than its exit:
        an interpreter's exit with polars loaded takes ~0.4 s."""
        deadline = time.monotonic() + WAIT_SECONDS
        while part not in self.said:
            if not self._hear(max(0.0, deadline - time.monotonic())):
                self.process.kill()
                self.process.wait()  # at once after a kill: gone before the upload goes on
                return False
        return (self.folder / _sums(part)).is_file()

    def _hear(self, wait: float) -> bool:
        """Read what the helper writes within ``wait`` seconds; False when nothing came (or it
        ended). Read from the descriptor: a buffered reader would hold lines select cannot see."""
        out = self.process.stdout
        if out is None or not select.select([out], [], [], wait)[0]:
            return False
        chunk = os.read(out.fileno(), 4096)
        if not chunk:
            return False
        self.heard.extend(chunk)
        *lines, rest = self.heard.split(b"\n")
        self.heard[:] = rest
        for line in lines:
            word, _, number = line.decode().partition(" ")
            if word == DONE and number.isdigit():
                self.said.add(int(number))
        return True


def part_bounds(count: int) -> list[tuple[int, int]]:
    """The helper's two scratch files' waves among ``count`` (sorted) waves: [0, cut) and
    [cut, count), the second empty when there are too few."""
    cut = min(count, max(1, round(count * SPLIT)))
    return [(0, cut), (cut, count)]


def _sums(part: int) -> str:
    return f"sums-{part}.db"  # scratch file ``part``


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


def _start() -> subprocess.Popen:
    """A helper process, importing what it needs, then waiting for its folder on stdin."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [PYTHON, "-m", "queries.summaries.ahead"],
        # one polars thread: the other core is the upload's, writing the rows meanwhile
        env={**os.environ, "PYTHONPATH": path, "POLARS_MAX_THREADS": "1"},
        cwd=root,  # ``-m`` looks in the working folder first: this tree's helper, not another's
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
        with suppress(Exception):  # a helper that died, a full disk: copy_part sees it failed
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
            attached = [row[1] for row in raw.execute("PRAGMA database_list")]
            for name in (n for n in attached if n.startswith(SCHEMA)):
                try:
                    raw.execute(f"DETACH DATABASE {name}")
                except Exception:
                    conn.invalidate()
                    raise


def _sum_folder(folder: Path) -> None:
    """The helper: every wave of the folder's rows summed into its scratch files, in order,
    each file said whole on stdout as it is (the upload copies the first meanwhile)."""
    from queries.summaries.store import wave_positions, write_sums  # late: the helper's imports

    upload = os.getppid()
    rows = pl.read_ipc(folder / ROWS_FILE)
    # as the upload would: the same rows, in order, the waves sorted as it numbers them
    waves = list(wave_positions(rows).items())
    summing = True
    for part, (start, end) in enumerate(part_bounds(len(waves))):
        scratch = folder / f"{_sums(part)}.part"
        engine = create_engine(f"sqlite:///{scratch}")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=OFF")  # a scratch file: renamed when whole
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
            metadata.create_all(conn, tables=list(COPIED))
            for index in summary_cells.indexes:  # read once, in rowid order: no index needed
                conn.exec_driver_sql(f"DROP INDEX {index.name}")
            conn.commit()
            with conn.begin():
                for at in range(start, end):
                    # a wave the upload claimed: it sums that one and every later one itself
                    summing = summing and _claim(folder, at)
                    if not summing:
                        break
                    wave, where = waves[at]
                    # fresh: the scratch file has no index to find a wave's rows by to delete
                    write_sums(conn, [wave], rows[where], fresh=True)
        engine.dispose()
        scratch.rename(folder / _sums(part))
        print(f"{DONE} {part}", flush=True)  # the upload reads this, not the exit
    if os.getppid() != upload:  # the upload was killed meanwhile: nobody else removes it
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    from queries.summaries import store  # noqa: F401  imported while the upload reads its file

    if folder := sys.stdin.readline().strip():
        _sum_folder(Path(folder))
