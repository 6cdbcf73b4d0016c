"""warden against the LiteLLM proxy and the Portkey gateway: added latency and maximum rate.

Run from the repository root::

    .venv/bin/python benchmarks/gateway_vs_peers.py            # about 7 min
    .venv/bin/python benchmarks/gateway_vs_peers.py --quick    # about 2.5 min
    .venv/bin/python benchmarks/gateway_vs_peers.py --pg       # + warden on PostgreSQL
    .venv/bin/python benchmarks/gateway_vs_peers.py --no-monitor-too   # + warden, monitor off
    git worktree add /tmp/wt-before HEAD~N && \
    .venv/bin/python benchmarks/gateway_vs_peers.py --before /tmp/wt-before   # + an older warden

One run gives, per gateway: the maximum rate (closed loop) and the CPU per request (its
processes' user + system time from /proc over that run); open-loop added p50/p99 at 50
to 1,600 requests a second, plain and streaming (``stream: true``; the first event's
time too); and the ratios against the targets (issue 19: CPU per request at most half
of Portkey's, maximum rate at least 1.5x Portkey's, added p99 within 10 ms at 800/s).
``--rates 400,800`` and ``--no-stream`` make shorter runs.

Nothing is installed at run time. The peers are installed once beforehand under
``$BENCHWARDEN_PEERS`` (default ``/tmp/benchwarden-peers``); a missing peer is skipped
and the commands that install it are printed. ``wrk`` (Debian package) drives the
closed-loop runs when present, else a Python client does (and says so).

Every process has its own role, and all of them listen on 127.0.0.1 only:

- one mock upstream (``benchwarden.testing.mock_upstream``, zero latency unless
  ``--latency``), shared by every gateway and called directly for the baseline;
- each gateway with ONE worker process and key auth on:
  warden (``benchwarden serve``, a fresh SQLite database, a grant with rpm/tpm limits far
  above what is sent, so the limiter runs and never refuses, the key's purpose implied),
  LiteLLM (``litellm --num_workers 1``, master key, a custom auth hook that returns a key
  with rpm/tpm limits, so its per-key rate limiter runs on every call), Portkey (its open
  source gateway has neither key auth nor rate limits: it forwards the caller's key);
- the load generators, in processes of their own: an open-loop client (asyncio streams,
  a minimal HTTP/1.1 keep-alive client: httpx2's per-request cost grows with its open
  connections, which made the generator itself fall behind under overload) that sends
  at fixed times and measures each request from when it was due, so a slow gateway
  cannot slow the schedule down (no coordinated omission); ``wrk`` with 64 connections
  for the closed-loop maximum rate, counting only 200 responses. httpx2 does the setup
  checks (every gateway must answer 200 with choices; a wrong key must be refused).

All gateways run at once and the runs are interleaved (direct, warden, LiteLLM, Portkey
at each rate in turn), so background load on the machine falls on all of them alike.
Added latency is the gateway's percentile minus the direct percentile at the same rate;
low rates run long enough for 400 requests (p99 of fewer is nearly the maximum). On a
busy machine the tails are noisy: the CPU per request (and the rate one core would give)
is the figure least moved by other load.
An open-loop rate above 90% of a gateway's closed-loop maximum is not run (it could only
measure a growing queue). Failed requests (non-200, timeouts) count as infinitely slow
in the percentiles. CPU figures are the gateway's process tree (user + system) over the
closed-loop run. A time budget skips what would overrun it (and says so); a watchdog
kills everything past the hard limit. Exit status 0 when the figures were measured,
whether or not the targets are met.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx2

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PEERS = Path(os.environ.get("BENCHWARDEN_PEERS", "/tmp/benchwarden-peers"))
SHARED_PEERS = Path("/work/shared/peers")  # litellm-requirements.txt, bind_loopback.mjs
LITELLM_VENV = PEERS / "litellm-venv"
PORTKEY_DIR = PEERS / "portkey"
PORTKEY_VERSION = "1.15.2"
HONO_NODE_SERVER = "1.13.8"  # newer versions break Portkey's streaming responses

P99_TARGET = 0.2  # warden's p99 added latency / LiteLLM's: at most
LITELLM_RATE_TARGET = 3.0  # warden's max rate / LiteLLM's: at least
PORTKEY_RATE_TARGET = 1.5  # warden's max rate / Portkey's: at least (issue 19)
PORTKEY_CPU_TARGET = 0.5  # warden's CPU per request / Portkey's: at most (issue 19)
SUSTAINED_RATE = 800  # issue 19: at this open-loop rate ...
SUSTAINED_P99_MS = 10.0  # ... warden's added p99 at most this

MODEL = "mock"
_REQUEST = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Say hello."}],
    "max_tokens": 16,
}
BODY = json.dumps(_REQUEST)
STREAM_BODY = json.dumps({**_REQUEST, "stream": True})
UPSTREAM_KEY = "sk-mock-upstream"
OVER_CAPACITY = 0.9  # open-loop rates above this share of the closed-loop maximum: not run


@dataclass(frozen=True, slots=True)
class Settings:
    rates: tuple[int, ...] = (50, 100, 200, 400, 800, 1200, 1600)
    open_warmup_s: float = 1.5
    open_measure_s: float = 5.0
    open_min_samples: int = 300  # low rates measure longer: p99 of fewer is nearly the max
    connections: int = 64
    closed_warmup_s: float = 2.0
    closed_measure_s: float = 10.0
    request_timeout_s: float = 10.0
    startup_timeout_s: float = 120.0
    budget_s: float = 780.0  # runs that would end past this are skipped
    hard_limit_s: float = 960.0  # the watchdog's limit for the whole run
    streaming: bool = True  # the open loop also with ``stream: true``

    def measure_s(self, rate: float) -> float:
        return max(self.open_measure_s, self.open_min_samples / rate)

    @staticmethod
    def quick() -> Settings:
        return Settings(
            rates=(10, 100, 800),  # 10: below even a slow peer's capacity
            open_warmup_s=1.0,
            open_measure_s=3.0,
            open_min_samples=0,
            closed_warmup_s=2.0,  # Node's JIT needs about that
            closed_measure_s=4.0,
            request_timeout_s=5.0,
            startup_timeout_s=90.0,
            budget_s=150.0,
            hard_limit_s=240.0,
        )


# ---- processes -------------------------------------------------------------------------

_procs: list[Proc] = []  # everything started, for cleanup and the watchdog
_cleanups: list[Callable[[], None]] = []


class Proc:
    """A child in its own session (so its whole process group can be stopped), with its
    output in a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        stdout_pipe: bool = False,
    ) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("w")
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._log_file,
            stderr=self._log_file,
            start_new_session=True,
            text=True,
        )
        _procs.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill_now(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(8.0)
            except subprocess.TimeoutExpired:
                self.kill_now()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(3.0)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._log_file.close()

    def tail(self, lines: int = 8) -> str:
        with contextlib.suppress(OSError):
            text = self.log.read_text(errors="replace").strip().splitlines()
            return "\n".join("    | " + line[:200] for line in text[-lines:])
        return ""

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its descendants (from /proc)."""
        return tree_cpu_seconds(self.pid)


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, user + system seconds) of one process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def tree_cpu_seconds(root: int) -> float:
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _proc_stat(entry)) is not None:
            stats[int(entry)] = found
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_port(proc: Proc, timeout_s: float) -> int:
    stdout = proc.popen.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        ready, _, _ = select.select([stdout], [], [], min(remaining, 0.2))
        if ready:
            line = stdout.readline()
            if line.startswith("PORT "):
                return int(line.split()[1])
    raise RuntimeError(f"{proc.name} did not report its port within {timeout_s:g}s")


def start_mock(workdir: Path, latency_s: float) -> tuple[Proc, int]:
    argv = [PYTHON, "-m", "benchwarden.testing.mock_upstream", "--port", "0"]
    if latency_s:
        argv += ["--latency", str(latency_s)]
    proc = Proc("mock upstream", argv, workdir / "mock.log", stdout_pipe=True)
    return proc, _read_port(proc, 20.0)


# ---- targets ---------------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    name: str
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    proc: Proc | None = None
    auth: str = ""  # how key auth was checked
    limits: str = ""  # whether a rate limiter runs
    startup_s: float = 0.0
    skipped: str | None = None  # why it is not measured


def _post(url: str, headers: dict[str, str], timeout_s: float = 5.0) -> httpx2.Response:
    with httpx2.Client(timeout=timeout_s) as client:
        return client.post(
            url, content=BODY, headers={"content-type": "application/json", **headers}
        )


def wait_ready(target: Target, timeout_s: float) -> None:
    """Poll with real calls until one answers 200 (the gateway and its route to the mock
    both work); raises with the gateway's log if it dies or never does."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if target.proc is not None and not target.proc.alive():
            raise RuntimeError(f"{target.name} exited:\n{target.proc.tail()}")
        try:
            response = _post(target.url, target.headers, timeout_s=5.0)
        except httpx2.HTTPError as exc:
            last = type(exc).__name__
        else:
            if response.status_code == 200 and response.json().get("choices"):
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        time.sleep(0.25)
    tail = target.proc.tail() if target.proc is not None else ""
    raise RuntimeError(f"{target.name} not ready within {timeout_s:g}s ({last})\n{tail}")


def check_auth(target: Target, key_header: str) -> str:
    """What a wrong key gets: the check that key auth is on."""
    headers = {**target.headers, "authorization": "Bearer " + key_header}
    try:
        response = _post(target.url, headers)
    except httpx2.HTTPError as exc:
        return f"wrong key -> {type(exc).__name__}"
    return f"wrong key -> {response.status_code}"


def start_direct(mock_port: int) -> Target:
    return Target(
        "direct",
        f"http://127.0.0.1:{mock_port}/v1/chat/completions",
        {"authorization": f"Bearer {UPSTREAM_KEY}"},
        auth="none (the mock)",
        limits="none",
    )


def _source_env(source: Path | None) -> dict[str, str] | None:
    """The environment that runs benchwarden from another checkout's ``src`` (for a
    before/after comparison in one run: ``git worktree add /tmp/wt-before HEAD``)."""
    if source is None:
        return None
    return {**os.environ, "PYTHONPATH": str(source / "src")}


def _cli(db: str, *args: str, source: Path | None = None) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "benchwarden.cli", *args, "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_source_env(source),
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchwarden {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def start_warden(
    name: str,
    workdir: Path,
    mock_port: int,
    db: str,
    s: Settings,
    extra: Sequence[str] = (),
    source: Path | None = None,
) -> Target:
    """Fresh tenancy in ``db`` (an org, a grant with limits never reached, a key whose one
    purpose is implied), a backends file for the mock, then ``benchwarden serve``
    (``extra``: more serve options, e.g. ``--no-monitor``; ``source``: another checkout
    to run instead of this one)."""
    started = time.monotonic()
    _cli(db, "org", "create", "bench", source=source)
    _cli(
        db,
        "grant", "add", "--org", "bench", "--model", MODEL, "--purpose", "benchmarking",
        "--rpm", "1000000", "--tpm", "1000000000", source=source,
    )  # fmt: skip
    key = _cli(db, "key", "create", "--org", "bench", "--purpose", "benchmarking", source=source)
    secret = key.strip().splitlines()[-1].strip()
    backends = workdir / f"{name}-backends.toml"
    # max_concurrency: calls in flight to the upstream, set to the closed loop's
    # connections so that warden's upstream pool is not what caps its rate.
    backends.write_text(
        f'[backends."{MODEL}"]\nprovider = "openai"\n'
        f'base_url = "http://127.0.0.1:{mock_port}/v1"\nmodel = "{MODEL}"\n'
        f"max_concurrency = {s.connections}\n"
    )
    port = free_port()
    argv = [PYTHON, "-m", "benchwarden.cli", "serve", "--port", str(port)]
    argv += ["--backends", str(backends), "--db", db, *extra]
    proc = Proc(name, argv, workdir / f"{name}.log", env=_source_env(source))
    target = Target(
        name,
        f"http://127.0.0.1:{port}/v1/chat/completions",
        {"authorization": f"Bearer {secret}"},
        proc,
        limits="grant rpm 1000000, tpm 1000000000 (sliding-window limiter on every call)",
    )
    wait_ready(target, s.startup_timeout_s)
    target.startup_s = time.monotonic() - started
    target.auth = check_auth(target, secret[:-4] + "AAAA")
    return target


LITELLM_AUTH = '''\
"""Custom auth for the benchmark: one key, with rpm/tpm limits on the key object so that
LiteLLM's per-key rate limiter (parallel_request_limiter) runs on every call."""

import hmac
import os

from fastapi import HTTPException, Request
from litellm.proxy._types import UserAPIKeyAuth

_KEY = os.environ["BENCH_LITELLM_KEY"].encode()


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    if hmac.compare_digest(api_key.encode(), _KEY):
        return UserAPIKeyAuth(api_key=api_key, rpm_limit=1000000, tpm_limit=1000000000)
    raise HTTPException(status_code=401, detail="invalid key")
'''


def litellm_missing() -> str | None:
    if (LITELLM_VENV / "bin" / "litellm").exists():
        return None
    requirements = SHARED_PEERS / "litellm-requirements.txt"
    return (
        f"LiteLLM proxy not found ({LITELLM_VENV}/bin/litellm). Install it once:\n"
        f"    python3.11 -m venv {LITELLM_VENV}\n"
        f"    {LITELLM_VENV}/bin/pip install --no-deps -r {requirements}\n"
        "  (litellm[proxy]==1.110.2 does not resolve from the registry; the requirements "
        "file pins its dependencies)"
    )


def start_litellm(workdir: Path, mock_port: int, s: Settings) -> Target:
    started = time.monotonic()
    home = workdir / "litellm"
    home.mkdir()
    (home / "bench_auth.py").write_text(LITELLM_AUTH)
    (home / "config.yaml").write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{mock_port}/v1\n"
        f"      api_key: {UPSTREAM_KEY}\n"
        "general_settings:\n"
        "  master_key: sk-bench-master\n"
        "  custom_auth: bench_auth.user_api_key_auth\n"
    )
    key = "sk-bench-" + os.urandom(12).hex()
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the price map
        "BENCH_LITELLM_KEY": key,
        "PYTHONPATH": str(home),
    }
    env.pop("VIRTUAL_ENV", None)
    port = free_port()
    argv = [str(LITELLM_VENV / "bin" / "litellm"), "--config", str(home / "config.yaml")]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    proc = Proc("litellm", argv, workdir / "litellm.log", cwd=home, env=env)
    target = Target(
        "litellm",
        f"http://127.0.0.1:{port}/v1/chat/completions",
        {"authorization": f"Bearer {key}"},
        proc,
    )
    wait_ready(target, s.startup_timeout_s)
    target.startup_s = time.monotonic() - started
    target.auth = check_auth(target, key[:-4] + "0000")
    response = _post(target.url, target.headers)
    limit = response.headers.get("x-ratelimit-api_key-limit-requests")
    target.limits = (
        f"per-key rpm {limit} (x-ratelimit-api_key-* headers on every answer)"
        if limit
        else "per-key limits set, but no x-ratelimit headers seen"
    )
    return target


def _bind_loopback() -> Path | None:
    for candidate in (PORTKEY_DIR / "bind_loopback.mjs", SHARED_PEERS / "bind_loopback.mjs"):
        if candidate.exists():
            return candidate
    return None


def portkey_missing() -> str | None:
    server = PORTKEY_DIR / "node_modules/@portkey-ai/gateway/build/start-server.js"
    if server.exists() and _bind_loopback() is not None and shutil.which("node"):
        return None
    package = json.dumps(
        {
            "private": True,
            "dependencies": {"@portkey-ai/gateway": PORTKEY_VERSION},
            "overrides": {"@hono/node-server": HONO_NODE_SERVER},
        }
    )
    return (
        f"Portkey gateway not found ({server}, or bind_loopback.mjs, or node). "
        "Install it once:\n"
        f"    mkdir -p {PORTKEY_DIR} && cd {PORTKEY_DIR}\n"
        f"    cp {SHARED_PEERS}/bind_loopback.mjs .\n"
        f"    echo '{package}' > package.json\n"
        "    npm install --no-audit --no-fund"
    )


def start_portkey(workdir: Path, mock_port: int, s: Settings) -> Target:
    started = time.monotonic()
    preload = _bind_loopback()
    assert preload is not None
    port = free_port()
    argv = ["node", "--import", str(preload)]
    argv += ["node_modules/@portkey-ai/gateway/build/start-server.js", f"--port={port}"]
    proc = Proc("portkey", argv, workdir / "portkey.log", cwd=PORTKEY_DIR)
    target = Target(
        "portkey",
        f"http://127.0.0.1:{port}/v1/chat/completions",
        {
            "authorization": f"Bearer {UPSTREAM_KEY}",
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": f"http://127.0.0.1:{mock_port}/v1",
        },
        proc,
        auth="none (the open-source gateway forwards the caller's key upstream)",
        limits="none (not in the open-source gateway)",
    )
    wait_ready(target, s.startup_timeout_s)
    target.startup_s = time.monotonic() - started
    return target


# ---- optional: a throwaway PostgreSQL server -------------------------------------------


class PgServer:
    """initdb into a temp dir, start on a free loopback port (as the postgres user when
    root), delete at the end. Default settings (fsync and synchronous_commit on)."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        initdb = found[-1] if found else (Path(p) if (p := shutil.which("initdb")) else None)
        if initdb is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bindir = initdb.parent
        self.as_root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="bw-gvp-pg-"))
        self.data = self.base / "data"
        (self.base / "sock").mkdir()
        if self.as_root:
            for path in (self.base, self.base / "sock"):
                shutil.chown(path, "postgres", "postgres")
        self.port = 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run(
            [*prefix, *args],
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self) -> str:
        done = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-300:]}")
        self.port = free_port()
        options = f"-p {self.port} -k {self.base / 'sock'} -c listen_addresses=127.0.0.1"
        done = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.base / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-300:]}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self, mode: str = "fast") -> None:
        if self.port:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "stop")
            self.port = 0
        shutil.rmtree(self.base, ignore_errors=True)


# ---- load generation (in a child process: this file with --loadgen) ------------------


@dataclass(frozen=True, slots=True)
class LoadSpec:
    mode: str  # "open" or "closed"
    url: str
    headers: dict[str, str]
    rate: float = 0.0  # open loop: requests per second
    connections: int = 0  # closed loop: concurrent connections
    warmup_s: float = 1.0
    measure_s: float = 5.0
    timeout_s: float = 10.0
    stream: bool = False  # open loop: ``stream: true`` bodies


class _Stale(Exception):
    """A kept-alive connection the server had closed: nothing was answered on it."""


class RawClient:
    """HTTP/1.1 keep-alive POSTs to one URL on asyncio streams, with O(1) cost per request
    however many connections are open (idle ones wait in a LIFO list; none idle: a new
    one). httpx2's pool scans every connection on each request, which under overload,
    with hundreds open, slowed this generator itself by hundreds of milliseconds."""

    def __init__(self, url: str, headers: dict[str, str], body: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        payload = body.encode()
        lines = [f"POST {parts.path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in {"content-type": "application/json", **headers}.items()]
        lines.append(f"content-length: {len(payload)}")
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def post(self) -> tuple[int, float]:
        """The response's status (its body read and dropped) and the loop time its first
        body chunk came (a stream's first event; 0.0 for a body that is not chunked). A
        reused connection the server had already closed is retried once on a new one."""
        if self.idle:
            with contextlib.suppress(_Stale):
                return await self._exchange(self.idle.pop())
        self.opened += 1
        return await self._exchange(await asyncio.open_connection(self.host, self.port))

    async def _exchange(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    ) -> tuple[int, float]:
        reader, writer = conn
        first_at = 0.0
        try:
            writer.write(self.request)
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    raise
                raise _Stale from exc  # closed before answering: a keep-alive timeout
            except ConnectionResetError as exc:
                raise _Stale from exc
            head = raw.decode("latin-1").split("\r\n")
            status = int(head[0].split(" ", 2)[1])
            fields = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip().lower()
            if fields.get("transfer-encoding") == "chunked":
                while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    await reader.readexactly(size + 2)
                    if not first_at:
                        first_at = asyncio.get_running_loop().time()
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
            else:
                await reader.readexactly(int(fields.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if fields.get("connection") == "close":
            writer.close()
        else:
            self.idle.append(conn)
        return status, first_at

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _timed_post(client: RawClient, timeout_s: float) -> str:
    try:
        return str((await asyncio.wait_for(client.post(), timeout_s))[0])
    except TimeoutError:
        return "timeout"
    except (OSError, asyncio.IncompleteReadError, _Stale, ValueError, IndexError) as exc:
        return type(exc).__name__


async def _first_byte_post(client: RawClient, timeout_s: float) -> tuple[str, float]:
    """The status and the loop time of the first body chunk (0.0 if none came)."""
    try:
        status, first_at = await asyncio.wait_for(client.post(), timeout_s)
        return str(status), first_at
    except TimeoutError:
        return "timeout", 0.0
    except (OSError, asyncio.IncompleteReadError, _Stale, ValueError, IndexError) as exc:
        return type(exc).__name__, 0.0


async def _open_loop(spec: LoadSpec) -> dict[str, Any]:
    """Send at fixed times (start + i/rate), each in its own task; each latency is from
    when the request was due. Failures are kept as their status or error name."""
    client = RawClient(spec.url, spec.headers, STREAM_BODY if spec.stream else BODY)
    loop = asyncio.get_running_loop()
    measured: list[tuple[str, float, float]] = []  # status, latency, first byte latency
    n_warm = round(spec.rate * spec.warmup_s)
    n_all = n_warm + round(spec.rate * spec.measure_s)

    async def one(due: float, keep: bool) -> None:
        status, first_at = await _first_byte_post(client, spec.timeout_s)
        if keep:
            done = loop.time()
            measured.append((status, done - due, (first_at or done) - due))

    start = loop.time() + 0.05
    tasks = []
    for i in range(n_all):
        due = start + i / spec.rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, i >= n_warm)))
    schedule_end = loop.time()
    _, pending = await asyncio.wait(tasks, timeout=spec.timeout_s + 2.0)
    for task in pending:
        task.cancel()
    client.close()
    return {
        "results": measured,
        "unfinished": len(pending),
        "lag_s": schedule_end - (start + (n_all - 1) / spec.rate),  # the sender's own delay
        "connections": client.opened,
    }


async def _closed_loop(spec: LoadSpec) -> dict[str, Any]:
    """``connections`` workers loop on requests; 200s and the rest over the measurement."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    phase = {"measuring": False, "stop": False}
    clients = [RawClient(spec.url, spec.headers, BODY) for _ in range(spec.connections)]

    async def worker(client: RawClient) -> None:
        while not phase["stop"]:
            t0 = time.perf_counter()
            status = await _timed_post(client, spec.timeout_s)
            if phase["measuring"] and not phase["stop"]:
                statuses[status] += 1
                if status == "200":
                    latencies.append(time.perf_counter() - t0)

    tasks = [asyncio.create_task(worker(c)) for c in clients]
    await asyncio.sleep(spec.warmup_s)
    phase["measuring"] = True
    t0 = time.perf_counter()
    await asyncio.sleep(spec.measure_s)
    phase["stop"] = True
    elapsed = time.perf_counter() - t0
    await asyncio.wait(tasks, timeout=spec.timeout_s)
    for task in tasks:
        task.cancel()
    for client in clients:
        client.close()
    latencies.sort()
    return {
        "statuses": dict(statuses),
        "elapsed_s": elapsed,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }


def loadgen_main(raw: str) -> int:
    spec = LoadSpec(**json.loads(raw))
    run = _open_loop if spec.mode == "open" else _closed_loop
    print(json.dumps(asyncio.run(run(spec))), flush=True)
    return 0


def _loadgen(spec: LoadSpec) -> dict[str, Any]:
    budget = spec.warmup_s + spec.measure_s + 2 * spec.timeout_s + 30
    done = subprocess.run(
        [PYTHON, str(Path(__file__).resolve()), "--loadgen", json.dumps(asdict(spec))],
        capture_output=True,
        text=True,
        timeout=budget,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# ---- measurements ----------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank; NaN for no values (inf entries stand for failed requests)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(slots=True)
class OpenRun:
    target: str
    rate: int
    sent: int = 0
    ok: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    lag_ms: float = 0.0
    connections: int = 0  # opened by the generator (grows when answers queue up)
    load1: float = 0.0
    skipped: str | None = None
    stream: bool = False
    first_p50_ms: float = math.nan  # streams: the first event, from when it was due
    first_p99_ms: float = math.nan


@dataclass(slots=True)
class ClosedRun:
    target: str
    tool: str = ""
    ok: int = 0
    ok_per_s: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    cpu_cores: float = math.nan  # the gateway's CPU use over the run, in cores
    cpu_ms_per_ok: float = math.nan
    load1: float = 0.0
    skipped: str | None = None


def measure_open(target: Target, rate: int, s: Settings, stream: bool = False) -> OpenRun:
    run = OpenRun(target.name, rate, load1=os.getloadavg()[0], stream=stream)
    spec = LoadSpec(
        "open",
        target.url,
        target.headers,
        rate=rate,
        warmup_s=s.open_warmup_s,
        measure_s=s.measure_s(rate),
        timeout_s=s.request_timeout_s,
        stream=stream,
    )
    out = _loadgen(spec)
    failed = [math.inf] * int(out["unfinished"])
    results = out["results"]
    latencies = sorted([lat if st == "200" else math.inf for st, lat, _ in results] + failed)
    firsts = sorted([first if st == "200" else math.inf for st, _, first in results] + failed)
    statuses = Counter(status for status, _, _ in results)
    run.sent = len(latencies)
    run.ok = statuses.pop("200", 0)
    if out["unfinished"]:
        statuses["unfinished"] += int(out["unfinished"])
    run.failures = dict(statuses)
    run.p50_ms = 1000 * percentile(latencies, 50)
    run.p99_ms = 1000 * percentile(latencies, 99)
    if stream:
        run.first_p50_ms = 1000 * percentile(firsts, 50)
        run.first_p99_ms = 1000 * percentile(firsts, 99)
    run.lag_ms = 1000 * max(0.0, float(out["lag_s"]))
    run.connections = int(out["connections"])
    return run


_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(m?s)")
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_WRK_PCT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk_script(target: Target, path: Path) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(BODY)}"]
    headers = {"Content-Type": "application/json", **target.headers}
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _wrk(target: Target, script: Path, seconds: float, s: Settings) -> str:
    threads = min(2, s.connections)
    argv = ["wrk", f"-t{threads}", f"-c{s.connections}", f"-d{max(1, round(seconds))}s"]
    argv += ["--timeout", f"{round(s.request_timeout_s)}s", "--latency", "-s", str(script)]
    done = subprocess.run(
        [*argv, target.url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def measure_closed(target: Target, s: Settings, workdir: Path) -> ClosedRun:
    run = ClosedRun(target.name, load1=os.getloadavg()[0])
    wrk = shutil.which("wrk") is not None
    run.tool = f"wrk -t2 -c{s.connections}" if wrk else f"python, {s.connections} connections"
    script = _wrk_script(target, workdir / f"{target.name}.lua")
    if wrk:
        _wrk(target, script, s.closed_warmup_s, s)
    cpu0 = target.proc.cpu_seconds() if target.proc else math.nan
    t0 = time.monotonic()
    if wrk:
        out = _wrk(target, script, s.closed_measure_s, s)
        total = _WRK_TOTAL.search(out)
        if total is None:
            raise RuntimeError(f"unexpected wrk output:\n{out}")
        seconds = float(total.group(2)) / (1000 if total.group(3) == "ms" else 1)
        non2xx = int(m.group(1)) if (m := _WRK_NON2XX.search(out)) else 0
        run.ok = int(total.group(1)) - non2xx
        if non2xx:
            run.failures["non-2xx"] = non2xx
        if sock := _WRK_SOCKET.search(out):
            for name, value in zip(
                ("connect", "read", "write", "timeout"), sock.groups(), strict=True
            ):
                if int(value):
                    run.failures[f"socket {name}"] = int(value)
        pct = {q: float(v) * _UNIT_MS[unit] for q, v, unit in _WRK_PCT.findall(out)}
        run.p50_ms, run.p99_ms = pct.get("50", math.nan), pct.get("99", math.nan)
    else:
        spec = LoadSpec(
            "closed",
            target.url,
            target.headers,
            connections=s.connections,
            warmup_s=s.closed_warmup_s,
            measure_s=s.closed_measure_s,
            timeout_s=s.request_timeout_s,
        )
        result = _loadgen(spec)
        statuses = Counter(result["statuses"])
        run.ok = statuses.pop("200", 0)
        run.failures = dict(statuses)
        seconds = float(result["elapsed_s"])
        run.p50_ms, run.p99_ms = result["p50_ms"], result["p99_ms"]
    wall = time.monotonic() - t0
    run.ok_per_s = run.ok / seconds
    if target.proc is not None:
        # CPU over the whole measuring call (a little wider than wrk's own window).
        used = target.proc.cpu_seconds() - cpu0
        run.cpu_cores = used / wall
        run.cpu_ms_per_ok = 1000 * used / run.ok if run.ok else math.nan
    return run


# ---- report ----------------------------------------------------------------------------


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "fail"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _failures(failures: dict[str, int]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(failures.items())) or "0"


def _loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def print_open(
    runs: list[OpenRun], targets: list[Target], stream: bool = False
) -> dict[tuple[str, int], float]:
    """The table of open-loop runs of one mode; returns added p99 per (gateway, rate)."""
    runs = [r for r in runs if r.stream == stream]
    direct = {r.rate: r for r in runs if r.target == "direct" and r.skipped is None}
    added99: dict[tuple[str, int], float] = {}
    first = f"{'1st p50':>9}{'+1st p50':>9}" if stream else ""
    print(
        f"\n{'target':<14}{'rate/s':>7}{'sent':>6}{'fail':>6}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'+p50 ms':>9}{'+p99 ms':>9}{first}{'conns':>6}{'lag ms':>8}{'load1':>7}  failures"
    )
    names = [t.name for t in targets]
    for run in sorted(runs, key=lambda r: (names.index(r.target), r.rate)):
        if run.skipped is not None:
            print(f"{run.target:<14}{run.rate:>7}  skipped: {run.skipped}")
            continue
        base = direct.get(run.rate)
        gateway = base is not None and run.target != "direct"
        plus50 = run.p50_ms - base.p50_ms if base and gateway else math.nan
        plus99 = run.p99_ms - base.p99_ms if base and gateway else math.nan
        if run.target != "direct":
            added99[(run.target, run.rate)] = plus99
        fails = run.sent - run.ok
        if stream:
            plus1st = run.first_p50_ms - base.first_p50_ms if base and gateway else math.nan
            first = f"{_ms(run.first_p50_ms):>9}{_ms(plus1st):>9}"
        print(
            f"{run.target:<14}{run.rate:>7}{run.sent:>6}{fails:>6}{_ms(run.p50_ms):>9}"
            f"{_ms(run.p99_ms):>9}{_ms(plus50):>9}{_ms(plus99):>9}{first}{run.connections:>6}"
            f"{run.lag_ms:>8.1f}"
            f"{run.load1:>7.2f}  {_failures(run.failures) if fails else ''}"
        )
    print(
        "  +p50/+p99: added latency; conns: connections the generator opened (they grow as "
        "answers queue up); lag: how late it sent its last request"
        + ("; 1st: the first event of the stream, from when the request was due" if stream else "")
    )
    if any(v < 0 for v in added99.values()):
        print(
            "  a negative +p99: the direct run's own tail (background load on the machine) "
            "was longer than the gateway's at that rate; that row's difference is noise"
        )
    if any(r.lag_ms > 20 for r in runs if r.skipped is None):
        print("  warning: the generator fell behind its schedule (lag > 20 ms) somewhere")
    return added99


def print_closed(runs: list[ClosedRun]) -> None:
    print(
        f"\n{'target':<14}{'200/s':>9}{'200s':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU':>7}"
        f"{'CPU ms/req':>11}{'/s/core':>9}{'load1':>7}  failures"
    )
    for run in runs:
        if run.skipped is not None:
            print(f"{run.target:<14}  skipped: {run.skipped}")
            continue
        cores = "-" if math.isnan(run.cpu_cores) else f"{run.cpu_cores:.2f}"
        per = "-" if math.isnan(run.cpu_ms_per_ok) else f"{run.cpu_ms_per_ok:.2f}"
        core = "-" if math.isnan(run.cpu_ms_per_ok) else f"{1000 / run.cpu_ms_per_ok:.0f}"
        print(
            f"{run.target:<14}{run.ok_per_s:>9.1f}{run.ok:>8}{_ms(run.p50_ms):>9}"
            f"{_ms(run.p99_ms):>9}{cores:>7}{per:>11}{core:>9}{run.load1:>7.2f}  "
            f"{_failures(run.failures)}"
        )
    print(
        "  CPU: the gateway's processes (user + system) during the run, in cores; "
        "/s/core: 1000 / CPU ms per request, the rate one fully used core would give"
    )


def _ratio_line(label: str, value: float, target: str, met: bool | None) -> str:
    shown = "-" if math.isnan(value) else f"{value:.3g}"
    verdict = "" if met is None else (" (met)" if met else " (NOT met)")
    return f"  {label}: {shown}   target {target}{verdict}"


def print_ratios(
    added99: dict[tuple[str, int], float], closed: list[ClosedRun], warden: str
) -> dict[str, float]:
    ratios: dict[str, float] = {}
    print("\nratios")
    both = sorted(
        rate
        for (name, rate), value in added99.items()
        if name == "litellm" and (warden, rate) in added99 and math.isfinite(value)
    )
    for rate in both:
        ours, theirs = added99[(warden, rate)], added99[("litellm", rate)]
        ratio = ours / theirs if theirs > 0 else math.nan
        ratios[f"p99_added_vs_litellm@{rate}"] = ratio
        met = None if math.isnan(ratio) else ratio <= P99_TARGET
        label = f"{warden} p99 added / litellm's at {rate}/s ({_ms(ours)} / {_ms(theirs)} ms)"
        print(_ratio_line(label, ratio, f"<= {P99_TARGET}", met))
    if not both:
        print("  p99 added latency vs litellm: no rate measured for both")
    max_rate = {r.target: r.ok_per_s for r in closed if r.skipped is None}
    for peer, goal, op in (
        ("litellm", LITELLM_RATE_TARGET, ">="),
        ("portkey", PORTKEY_RATE_TARGET, ">="),
    ):
        if warden in max_rate and max_rate.get(peer):
            ours, theirs = max_rate[warden], max_rate[peer]
            ratio = ours / theirs
            ratios[f"max_rate_vs_{peer}"] = ratio
            met = ratio >= goal if op == ">=" else ratio > goal
            label = f"{warden} max rate / {peer}'s ({ours:.0f} / {theirs:.0f} per s)"
            print(_ratio_line(label, ratio, f"{op} {goal:g}", met))
        else:
            print(f"  {warden} max rate vs {peer}: not measured")
    cpu = {r.target: r.cpu_ms_per_ok for r in closed if r.skipped is None}
    if math.isfinite(cpu.get(warden, math.nan)) and math.isfinite(cpu.get("portkey", math.nan)):
        ours, theirs = cpu[warden], cpu["portkey"]
        ratio = ours / theirs
        ratios["cpu_per_request_vs_portkey"] = ratio
        label = f"{warden} CPU per request / portkey's ({ours:.3f} / {theirs:.3f} ms)"
        print(_ratio_line(label, ratio, f"<= {PORTKEY_CPU_TARGET:g}", ratio <= PORTKEY_CPU_TARGET))
    else:
        print(f"  {warden} CPU per request vs portkey: not measured")
    sustained = added99.get((warden, SUSTAINED_RATE), math.nan)
    if (warden, SUSTAINED_RATE) in added99:
        ratios[f"p99_added_ms@{SUSTAINED_RATE}"] = sustained
        met = math.isfinite(sustained) and sustained <= SUSTAINED_P99_MS
        print(
            f"  {warden} added p99 at {SUSTAINED_RATE}/s open loop: {_ms(sustained)} ms   "
            f"target <= {SUSTAINED_P99_MS:g} ms" + (" (met)" if met else " (NOT met)")
        )
    else:
        print(f"  {warden} at {SUSTAINED_RATE}/s open loop: not run (see the table)")
    return ratios


# ---- the run ---------------------------------------------------------------------------


class Clock:
    def __init__(self, budget_s: float) -> None:
        self.t0 = time.monotonic()
        self.budget_s = budget_s

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def fits(self, seconds: float) -> bool:
        return self.elapsed() + seconds <= self.budget_s


def _watchdog(limit_s: float) -> threading.Timer:
    """Past ``limit_s``, kill every child and exit at once, whatever the main thread does."""

    def expire() -> None:
        print(f"gateway_vs_peers: over the {limit_s:g}s limit, aborting", file=sys.stderr)
        for proc in _procs:
            proc.kill_now()
        for cleanup in _cleanups:
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(3)

    timer = threading.Timer(limit_s, expire)
    timer.daemon = True
    timer.start()
    return timer


def _on_term(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)  # unwinds through the finally blocks that stop the children


@contextlib.contextmanager
def _children() -> Iterator[None]:
    try:
        yield
    finally:
        for proc in reversed(_procs):
            proc.stop()
        for cleanup in reversed(_cleanups):
            with contextlib.suppress(Exception):
                cleanup()


def start_targets(
    names: list[str],
    workdir: Path,
    mock_port: int,
    s: Settings,
    pg: bool,
    no_monitor: bool,
    before: Path | None = None,
) -> list[Target]:
    """Start the gateways concurrently (LiteLLM takes the longest); a missing or failing
    peer becomes a skipped target with the reason."""
    starters: dict[str, Callable[[], Target]] = {}
    targets: dict[str, Target] = {"direct": start_direct(mock_port)}
    if "warden" in names:
        db = str(workdir / "warden.db")
        starters["warden"] = lambda: start_warden("warden", workdir, mock_port, db, s)
    if before is not None:
        db_before = str(workdir / "warden-before.db")
        starters["warden-before"] = lambda: start_warden(
            "warden-before", workdir, mock_port, db_before, s, source=before
        )
    if no_monitor:
        db_off = str(workdir / "warden-nomon.db")
        starters["warden-nomon"] = lambda: start_warden(
            "warden-nomon", workdir, mock_port, db_off, s, ("--no-monitor",)
        )
    if pg:

        def warden_pg() -> Target:
            server = PgServer()
            _cleanups.append(server.stop)
            url = server.start()
            return start_warden("warden-pg", workdir, mock_port, url, s)

        starters["warden-pg"] = warden_pg
    for name, missing, starter in (
        ("litellm", litellm_missing, start_litellm),
        ("portkey", portkey_missing, start_portkey),
    ):
        if name not in names:
            continue
        if (why := missing()) is not None:
            print(f"skipping {name}: {why}", flush=True)
            targets[name] = Target(name, skipped="not installed (see above)")
        else:
            starters[name] = functools.partial(starter, workdir, mock_port, s)
    with concurrent.futures.ThreadPoolExecutor(len(starters) or 1) as pool:
        futures = {name: pool.submit(starter) for name, starter in starters.items()}
        for name, future in futures.items():
            try:
                targets[name] = future.result()
            except Exception as exc:
                print(f"skipping {name}: it did not start: {exc}", flush=True)
                targets[name] = Target(name, skipped=f"did not start ({str(exc)[:80]})")
    order = ["direct", "warden", "warden-before", "warden-nomon", "warden-pg", "litellm", "portkey"]
    return [targets[n] for n in order if n in targets]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a shorter run (about 90 s)")
    parser.add_argument(
        "--only",
        default="warden,litellm,portkey",
        help="comma-separated gateways to measure (default: warden,litellm,portkey)",
    )
    parser.add_argument("--pg", action="store_true", help="also warden on a throwaway PostgreSQL")
    parser.add_argument(
        "--no-monitor-too",
        action="store_true",
        help="also warden with its usage monitor off (the monitor's cost)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="also warden from this checkout (e.g. a git worktree of the last release), "
        "as 'warden-before': before and after in one run",
    )
    parser.add_argument(
        "--no-stream", action="store_true", help="the open loop without streaming runs"
    )
    parser.add_argument(
        "--rates", default=None, help="comma-separated open-loop rates (default: 50..1600)"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="mock upstream latency (s)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        return loadgen_main(args.loadgen)
    s = Settings.quick() if args.quick else Settings()
    if args.no_stream:
        s = dataclasses.replace(s, streaming=False)
    if args.rates:
        s = dataclasses.replace(s, rates=tuple(int(r) for r in args.rates.split(",")))
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - {"warden", "litellm", "portkey"}
    if unknown:
        parser.error(f"unknown gateways: {', '.join(sorted(unknown))}")
    if args.pg:
        s = dataclasses.replace(s, budget_s=s.budget_s * 1.25, hard_limit_s=s.hard_limit_s * 1.25)

    signal.signal(signal.SIGTERM, _on_term)
    watchdog = _watchdog(s.hard_limit_s)
    clock = Clock(s.budget_s)
    load_start = _loadavg()
    print(
        f"gateway_vs_peers: {os.cpu_count()} CPUs, load average {load_start}; "
        f"budget {s.budget_s:g}s; peers in {PEERS}",
        flush=True,
    )
    if shutil.which("wrk") is None:
        print(
            "note: wrk not found (apt-get install -y wrk); the closed loop uses a Python "
            "client, which may saturate before a fast gateway does",
            flush=True,
        )
    opened: list[OpenRun] = []
    closed: list[ClosedRun] = []
    with tempfile.TemporaryDirectory(prefix="bw-gvp-") as tmp, _children():
        workdir = Path(tmp)
        mock, mock_port = start_mock(workdir, args.latency)
        targets = start_targets(
            names, workdir, mock_port, s, args.pg, args.no_monitor_too, args.before
        )
        live = [t for t in targets if t.skipped is None]
        print(f"\nsetup ({clock.elapsed():.0f}s): mock upstream on :{mock_port}")
        for t in targets:
            if t.skipped is not None:
                print(f"  {t.name:<10} skipped: {t.skipped}")
            else:
                print(f"  {t.name:<10} started in {t.startup_s:.1f}s; auth: {t.auth}")
                print(f"  {'':<10} limits: {t.limits}")
        print(
            f"\nclosed loop: {s.connections} connections, {s.closed_warmup_s:g}s warm-up "
            f"+ {s.closed_measure_s:g}s, only 200s counted",
            flush=True,
        )
        closed_cost = s.closed_warmup_s + s.closed_measure_s + 2
        for t in targets:
            if t.skipped is not None:
                closed.append(ClosedRun(t.name, skipped=t.skipped))
            elif not clock.fits(closed_cost):
                closed.append(ClosedRun(t.name, skipped="time budget"))
            else:
                closed.append(measure_closed(t, s, workdir))
                time.sleep(0.5)
            print(f"  {t.name} done ({clock.elapsed():.0f}s)", flush=True)
        capacity = {r.target: r.ok_per_s for r in closed if r.skipped is None}
        print(
            f"\nopen loop: rates {', '.join(map(str, s.rates))}/s, {s.open_warmup_s:g}s warm-up "
            f"+ {s.open_measure_s:g}s each"
            + (f" (at least {s.open_min_samples} requests)" if s.open_min_samples else "")
            + ", targets interleaved",
            flush=True,
        )
        modes = (False, True) if s.streaming else (False,)
        for rate in s.rates:
            for t in live:
                for stream in modes:
                    if t.name != "direct" and rate > OVER_CAPACITY * capacity.get(t.name, 0.0):
                        cap = capacity.get(t.name, 0)
                        reason = f"over capacity (closed-loop max {cap:.0f}/s)"
                        opened.append(OpenRun(t.name, rate, skipped=reason, stream=stream))
                    elif not clock.fits(s.open_warmup_s + s.measure_s(rate) + 1.5):
                        opened.append(OpenRun(t.name, rate, skipped="time budget", stream=stream))
                    else:
                        opened.append(measure_open(t, rate, s, stream))
                        time.sleep(0.3)
            print(f"  {rate}/s done ({clock.elapsed():.0f}s)", flush=True)
        for t in live:
            if t.proc is not None and not t.proc.alive():
                print(f"warning: {t.name} died during the run:\n{t.proc.tail()}")
        mock_alive = mock.alive()
    watchdog.cancel()

    print("\n== maximum sustained rate (closed loop) ==")
    print_closed(closed)
    print("\n== latency at fixed rates (open loop; +: minus direct at the same rate) ==")
    added99 = print_open(opened, targets)
    if s.streaming:
        print("\n== streaming (open loop, stream: true) ==")
        print_open(opened, targets, stream=True)
    ratios = print_ratios(added99, closed, "warden")
    if args.before is not None:
        ratios.update(
            {f"before_{k}": v for k, v in print_ratios(added99, closed, "warden-before").items()}
        )
    if args.pg:
        print_ratios(added99, closed, "warden-pg")
    if args.no_monitor_too:
        print_ratios(added99, closed, "warden-nomon")
    print(
        f"\nwall time {clock.elapsed():.0f}s; load average {load_start} at start, "
        f"{_loadavg()} at end ({os.cpu_count()} CPUs shared by the mock, the gateways and "
        "the load generators)" + ("" if mock_alive else "; the mock upstream DIED")
    )
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "closed": [asdict(r) for r in closed],
                    "open": [asdict(r) for r in opened],
                    "ratios": ratios,
                    "load_start": load_start,
                    "load_end": _loadavg(),
                },
                indent=1,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
