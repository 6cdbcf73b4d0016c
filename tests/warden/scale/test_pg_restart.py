"""PostgreSQL restarted under a running replica: 503 audit_unavailable while it is
down (nothing served without the terms and a record), service after, the audit chain
intact, and the change notices listening again. A PostgreSQL of its own: this test
stops it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from benchwarden.store.warden_store import open_warden_store
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from benchwarden.warden.tenancy import Tenancy
from tests.store.pg import PgServer, PgUnavailable, find_bindir, free_port
from tests.warden.scale.cluster import backends_toml
from tests.warden.scale.test_replicas import PURPOSE, tenant


class RestartablePg(PgServer):
    """The throwaway server, stopped and started again on the same port and data."""

    def halt(self) -> None:
        done = self._pg_ctl("-m", "fast", "-w", "stop")
        assert done.returncode == 0, done.stderr

    def resume(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = self._pg_ctl("-o", options, "-l", str(self.log), "-w", "-t", "60", "start")
        assert done.returncode == 0, done.stderr


@pytest.fixture
def own_pg() -> Iterator[RestartablePg]:
    try:
        server = RestartablePg(find_bindir())
        server.start()
    except PgUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def plain_upstream() -> Iterator[MockUpstream]:
    with ThreadedMockUpstream(reply="alpha beta gamma") as mock:
        yield mock


def test_postgres_restart_fails_closed_then_recovers(
    own_pg: RestartablePg, plain_upstream: MockUpstream
) -> None:
    db = own_pg.create_database()
    open_warden_store(db).close()
    _org, _key_id, key = tenant(db)
    base = Path(tempfile.mkdtemp(prefix="bw-pgrestart-"))
    backends = base / "backends.toml"
    backends.write_text(backends_toml(plain_upstream))
    port = free_port()
    env = {**os.environ, "BENCHWARDEN_HOME": str(base), "WARDEN_SCALE_UPSTREAM_KEY": "sk-x"}
    log = base / "serve.log"
    args = ["serve", "--port", str(port), "--db", db, "--backends", str(backends),
            "--no-monitor", "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "benchwarden.cli", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    body = {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    headers = {"Authorization": f"Bearer {key}", **PURPOSE}

    def call() -> httpx.Response:
        return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=15)

    def health() -> dict[str, str]:
        return dict(httpx.get(f"{url}/healthz", timeout=15).json())

    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if health().get("notices") == "listening":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert call().status_code == 200
        own_pg.halt()
        try:
            down = call()
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "audit_unavailable"
            assert down.headers["retry-after"] == "1"
            assert health()["db"] == "unavailable"
        finally:
            own_pg.resume()
        deadline = time.monotonic() + 20
        while (answer := call()).status_code != 200:
            assert answer.status_code == 503 and time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        while health().get("notices") != "listening":  # LISTEN reconnects by itself
            assert time.monotonic() < deadline, "the change notices did not come back"
            time.sleep(0.2)
        store = open_warden_store(db)
        try:
            report = Tenancy(store, "test").verify_audit()
        finally:
            store.close()
        assert report.ok and report.records >= 4, report
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        finally:
            if server.poll() is None:
                os.kill(server.pid, signal.SIGKILL)
            shutil.rmtree(base, ignore_errors=True)
