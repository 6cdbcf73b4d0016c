"""warden as three replicas behind nginx, as deploy/ describes it, for tests.

Each replica is a real ``benchwarden serve`` process (the CLI, as an operator starts
it) over one PostgreSQL database, with the limits in Redis (or in each process, to
show what that costs); nginx runs deploy/nginx.conf as it is written (its ports are
that file's: 8790 in front, 8791-8793 behind). Everything is stopped by PID.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

from benchwarden.testing.mock_upstream import MockUpstream
from tests.warden.scale.redis_server import fresh_limits

ROOT = Path(__file__).resolve().parents[3]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
REDIS_CONF = ROOT / "deploy" / "redis.conf"
FRONT = "http://127.0.0.1:8790"
REPLICA_PORTS = (8791, 8792, 8793)
ADMIN_TOKEN = "admin-token-for-scale-tests"
UPSTREAM_KEY_ENV = "WARDEN_SCALE_UPSTREAM_KEY"
NGINX_HINT = "nginx not found. Install it: `apt-get install -y nginx-light`."
LOCK_FILE = Path(tempfile.gettempdir()) / "benchwarden-scale-cluster.lock"


def backends_toml(mock: MockUpstream) -> str:
    return f"""
[backends."mock-gpt"]
provider = "openai"
base_url = "{mock.base_url}/v1"
model = "served-gpt"
api_key_env = "{UPSTREAM_KEY_ENV}"
max_attempts = 1

[backends."mock-claude"]
provider = "anthropic"
base_url = "{mock.base_url}"
model = "served-claude"
api_key_env = "{UPSTREAM_KEY_ENV}"
max_attempts = 1
"""


def _wait_http(
    url: str, process: subprocess.Popen[bytes] | None, log: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: exited {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:g}s:\n{log.read_text()[-3000:]}")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.kill(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


@dataclass
class Cluster:
    db: str
    limits: str | None
    base: Path
    backends: Path
    watch_interval_s: float
    args: tuple[str, ...] = ("--no-monitor",)  # more of serve's options, for every replica
    replicas: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    nginx: subprocess.Popen[bytes] | None = None

    @property
    def front(self) -> str:
        return FRONT

    def replica_url(self, i: int) -> str:
        return f"http://127.0.0.1:{REPLICA_PORTS[i]}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BENCHWARDEN_HOME": str(self.base / "home"),
            "BENCHWARDEN_ADMIN_TOKEN": ADMIN_TOKEN,
            UPSTREAM_KEY_ENV: "sk-upstream-scale-0123456789",
            "COLUMNS": "200",
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "benchwarden.cli", *args, "--db", self.db],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=120,
            check=False,
        )

    def start_replicas(self) -> None:
        for i, port in enumerate(REPLICA_PORTS):
            if not _port_free(port):
                raise RuntimeError(f"port {port} (deploy/nginx.conf's replica {i}) is taken")
            args = [
                sys.executable, "-m", "benchwarden.cli", "serve", "--port", str(port),
                "--db", self.db, "--backends", str(self.backends), *self.args,
                "--log-level", "warning", "--watch-interval", str(self.watch_interval_s),
            ]  # fmt: skip
            if self.limits:  # short leases: a killed replica's slots free within 4 s
                args += ["--limits", self.limits, "--limits-lease", "4"]
            log = self.base / f"replica-{i}.log"
            self.replicas[i] = subprocess.Popen(
                args, env=self.env(), stdout=log.open("wb"), stderr=subprocess.STDOUT
            )
        for i in range(len(REPLICA_PORTS)):
            log = self.base / f"replica-{i}.log"
            _wait_http(f"{self.replica_url(i)}/healthz", self.replicas[i], log, 90)

    def start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise RuntimeError(NGINX_HINT)
        if not _port_free(8790):
            raise RuntimeError("port 8790 (deploy/nginx.conf's front) is taken")
        prefix = self.base / "nginx"
        prefix.mkdir()
        log = self.base / "nginx.log"
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(NGINX_CONF), "-g", "daemon off;"],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        _wait_http(f"{FRONT}/healthz", self.nginx, log, 30)

    def stop(self) -> None:
        if self.nginx is not None:
            _stop(self.nginx, signal.SIGQUIT)
        for process in self.replicas.values():
            _stop(process)


@contextlib.contextmanager
def _ports_held(timeout_s: float = 240.0) -> Iterator[None]:
    """One cluster at a time on this machine (its ports are deploy/nginx.conf's): a
    second one, from a parallel test process, waits for the first to stop."""
    with LOCK_FILE.open("a") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another cluster held {LOCK_FILE} too long") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def running_cluster(
    db: str,
    limits: str | None,
    mock: MockUpstream,
    *,
    watch_interval_s: float = 0.25,
    args: tuple[str, ...] = ("--no-monitor",),
) -> Iterator[Cluster]:
    with _ports_held():
        base = Path(tempfile.mkdtemp(prefix="bw-cluster-"))
        backends = base / "backends.toml"
        backends.write_text(backends_toml(mock))
        cluster = Cluster(db, limits, base, backends, watch_interval_s, args)
        if limits is not None:
            fresh_limits(limits)
        try:
            cluster.start_replicas()
            cluster.start_nginx()
            yield cluster
        finally:
            cluster.stop()
            shutil.rmtree(base, ignore_errors=True)
