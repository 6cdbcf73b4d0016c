"""A real Ray cluster on loopback, for tests and benchmarks: ``ray start --head`` plus
node processes, each with its own temp dir, ports and resources, torn down by PID.

Every node runs ``ray start --block`` in its own session, so stopping (or killing) a
node is a signal to its process group: the raylet, its workers and agents go with it.
The head takes 127.0.0.2 and the other nodes 127.0.0.3, 127.0.0.4, ...: Ray turns
"127.0.0.1" (and "localhost") into the machine's outward address, and every byte of
the cluster must stay on loopback here.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

_STARTED = "Ray runtime started"
_JOINED = "This command will now block forever"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_cli() -> str:
    found = shutil.which("ray", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("the ray CLI is missing: install benchwarden[ray] (make install)")
    return found


@dataclass(slots=True)
class NodeProcess:
    name: str
    ip: str
    process: subprocess.Popen[bytes]
    log: Path
    resources: dict[str, float] = field(default_factory=dict)

    def alive(self) -> bool:
        return self.process.poll() is None

    def members(self) -> list[int]:
        """Every process of the node's session: ``ray start``, the raylet, its agents,
        and the workers (each in a process group of its own, but the same session)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == self.process.pid:  # field 6 of stat: the session id
                found.append(int(entry.name))
        return found

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the node's whole session (raylet, workers, agents), by PID."""
        for pid in self.members():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop(self, grace_s: float = 5.0) -> None:
        self.kill(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace_s)
        self.kill(signal.SIGKILL)  # stragglers of the group (the GCS ignores SIGTERM's end)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


class LocalRayCluster:
    """``with LocalRayCluster() as cluster: cluster.add_node(...)``; ``cluster.address``
    is what ``RAY_ADDRESS`` takes."""

    def __init__(
        self,
        *,
        head_cpus: int = 1,
        head_resources: dict[str, float] | None = None,
        head_env: dict[str, str] | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bw-ray-"))
        self.port = free_port()
        self.address = f"127.0.0.2:{self.port}"
        self.client_port = free_port()
        self.head_cpus = head_cpus
        self.head_resources = head_resources or {}
        self.head_env = head_env or {}
        self.nodes: list[NodeProcess] = []

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        """The test's environment (workers inherit it: data mirror, home) plus ``extra``."""
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **extra}
        env.pop("RAY_ADDRESS", None)
        return env

    def _start(
        self, name: str, ip: str, args: list[str], env: dict[str, str], resources: dict[str, float]
    ) -> NodeProcess:
        temp = self.root / name
        log = self.root / f"{name}.log"
        command = [
            _ray_cli(),
            "start",
            "--block",
            f"--node-ip-address={ip}",
            f"--temp-dir={temp}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--resources={json.dumps(resources)}",
            "--disable-usage-stats",
            *args,
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - the ray CLI of this venv, our argv
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        node = NodeProcess(name, ip, process, log, resources)
        self.nodes.append(node)
        return node

    def _wait(self, node: NodeProcess, marker: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if marker in node.log.read_text(errors="replace"):
                return
            if not node.alive():
                break
            time.sleep(0.2)
        tail = node.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"ray node {node.name} did not start:\n{tail}")

    def start(self, timeout_s: float = 120.0) -> LocalRayCluster:
        head = self._start(
            "head",
            "127.0.0.2",
            [
                "--head",
                f"--port={self.port}",
                f"--num-cpus={self.head_cpus}",
                f"--ray-client-server-port={self.client_port}",
                "--include-dashboard=false",
            ],
            self._env(self.head_env),
            self.head_resources,
        )
        self._wait(head, _STARTED, timeout_s)
        return self

    def add_node(
        self,
        *,
        cpus: int = 1,
        resources: dict[str, float] | None = None,
        env: dict[str, str] | None = None,
        timeout_s: float = 120.0,
    ) -> NodeProcess:
        """A second (third...) node process joining the head, on its own loopback address."""
        index = len(self.nodes) + 2
        node = self._start(
            f"node{index - 1}",
            f"127.0.0.{index}",
            [f"--address={self.address}", f"--num-cpus={cpus}"],
            self._env(env or {}),
            resources or {},
        )
        self._wait(node, _JOINED, timeout_s)
        return node

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()
