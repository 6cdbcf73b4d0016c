"""`benchwarden view` in a child process on a free loopback port, for browser tests."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def viewer_at(db: Path) -> Iterator[str]:
    """Start the viewer over ``db``; yields its base URL (no trailing slash)."""
    command = ["view", "--db", str(db), "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchwarden.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and "viewer at" not in line:
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                line = proc.stdout.readline()
            if proc.poll() is not None:
                raise AssertionError(f"view exited: {proc.stderr.read() if proc.stderr else ''}")
        url = line.split("viewer at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")  # bound to loopback by default
        # The URL is printed before uvicorn starts serving: wait for it to answer.
        import httpx2

        while time.monotonic() < deadline:
            try:
                httpx2.get(url, timeout=2)
                break
            except httpx2.HTTPError:
                time.sleep(0.2)
        yield url.rstrip("/")
    finally:
        proc.terminate()
        proc.wait(30)
