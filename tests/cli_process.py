"""The real `benchwarden` CLI in a child process, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``benchwarden ARGS...``; wide COLUMNS so tables are not folded."""
    return subprocess.run(
        [sys.executable, "-m", "benchwarden.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=timeout,
        check=False,
    )
