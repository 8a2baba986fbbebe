"""A throwaway PostgreSQL server for the test suite, on loopback, gone when the tests end.

Set ``SENIM_TEST_POSTGRES_URL`` to use an existing server instead (a superuser URL).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: install Debian's 'postgresql' package "
        "(scripts/install-test-deps does it) or set SENIM_TEST_POSTGRES_URL."
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TempPostgres:
    """initdb + pg_ctl in a temporary folder; runs as the 'postgres' user when we are root."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="senim-pg-"))
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> str:
        data = self.dir / "data"
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        self.dir.chmod(0o755)
        self._run(
            "initdb", "-D", str(data), "-U", "senim", "--auth=trust", "-E", "UTF8", "--locale=C"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-w",
            "-l",
            str(self.dir / "log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200",
            "start",
        )
        return f"postgresql+psycopg://senim@127.0.0.1:{self.port}/postgres"

    def pause(self) -> None:
        """Stop the server but keep its data (to test recovery); ``resume`` starts it again."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-w", "-m", "immediate", "stop")

    def resume(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.dir / "data"),
            "-w",
            "-l",
            str(self.dir / "log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start the same cluster (fault tests: the app must recover)."""
        data = str(self.dir / "data")
        self._run("pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        self._run(
            "pg_ctl",
            "-D",
            data,
            "-w",
            "-l",
            str(self.dir / "log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c max_connections=200",
            "start",
        )
