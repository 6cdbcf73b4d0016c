"""A real, throwaway Redis server for tests (Debian's ``redis-server``): started on a
free loopback port with no persistence, stopped by its PID. Missing binaries are an
error, never a skip: CI installs the package (scripts/system-deps.sh test)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.store.pg import free_port

INSTALL_HINT = "redis-server not found. Install it: `apt-get install -y redis-server`."


class RedisUnavailable(RuntimeError):
    pass


class RedisServer:
    """``config``: a redis.conf to start from (deploy/redis.conf); the port, folder and
    foreground mode are always this fixture's. Without one: no persistence at all."""

    def __init__(self, config: Path | None = None) -> None:
        self.config = config
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable(INSTALL_HINT)
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="bw-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start (again, on the same port after ``stop``)."""
        log = (self.base / "redis.log").open("ab")
        head = [self.binary, str(self.config)] if self.config else [self.binary]
        plain = [] if self.config else ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                *head,
                *plain,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.base),
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RedisUnavailable(f"redis-server exited: see {self.base / 'redis.log'}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        raise RedisUnavailable(f"redis-server did not answer within {timeout_s:g}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def running_redis(config: Path | None = None) -> Iterator[RedisServer]:
    server = RedisServer(config)
    try:
        server.start()
        yield server
    finally:
        server.close()


def fresh_limits(url: str) -> None:
    """Empty the Redis at ``url`` before a new deployment (a new database) uses it.

    Limit keys are named by grant id, and every test's database numbers its grants
    from 1: a deployment must have a Redis database of its own (as docs/WARDEN.md
    says), or the windows of an earlier one count against it."""
    from redis import Redis

    client = Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
