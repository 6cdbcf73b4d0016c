"""A real, throwaway PostgreSQL server for tests: initdb into a temp dir, start on a
free loopback port, stop and delete at the end.

PostgreSQL refuses to run as root, so as root the server's commands run as the
``postgres`` user through ``runuser``; as anyone else they run directly. Missing
binaries are an error, never a skip: CI installs Debian's ``postgresql`` package.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries not found (looked for /usr/lib/postgresql/*/bin/initdb "
    "and initdb on PATH). Install them: `apt-get install -y postgresql` (.ci/run does)."
)


class PgUnavailable(RuntimeError):
    """The server cannot be set up here; the message says why and what to do."""


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/N/bin holding initdb, else the one on PATH."""

    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PgUnavailable(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One PostgreSQL cluster in a temp dir. Use :func:`running_pg_server`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        if self.as_root and shutil.which("runuser") is None:
            raise PgUnavailable("Running as root but `runuser` is missing (util-linux).")
        # Not under pytest's tmp_path: its parents are private to root.
        self.base = Path(tempfile.mkdtemp(prefix="bw-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "sock"
        self.log = self.base / "server.log"
        self.port = 0
        self.sockets.mkdir()
        if self.as_root:
            for path in (self.base, self.sockets):
                shutil.chown(path, "postgres", "postgres")

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run(
            [*prefix, *args],
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args)

    def start(self) -> None:
        done = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        if done.returncode != 0:
            raise PgUnavailable(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        # A free port can be taken between the check and the bind; try a few.
        for _ in range(3):
            self.port = free_port()
            options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
            done = self._pg_ctl("-o", options, "-l", str(self.log), "-w", "-t", "60", "start")
            if done.returncode == 0:
                return
        log = self.log.read_text(errors="replace") if self.log.exists() else ""
        raise PgUnavailable(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{log}")

    def create_database(self, icu_locale: str | None = None) -> str:
        """A new, empty database (collating by ``icu_locale`` when given); its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        sql = f'CREATE DATABASE "{name}"'
        if icu_locale:
            sql += f" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())
        return self.url_for(name)

    def stop(self) -> None:
        """Stop the server (immediately: its data is thrown away) and delete its files."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def running_pg_server() -> Iterator[PgServer]:
    """A started server, stopped and deleted on exit. Raises PgUnavailable."""
    server = PgServer(find_bindir())
    try:
        server.start()
        yield server
    finally:
        server.stop()
