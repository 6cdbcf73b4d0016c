"""Workspaces left by a process that is gone (kill -9) are swept; a live one's never."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchwarden.bench.sandbox import workspace_files as files


def test_sweep_removes_only_the_workspaces_of_dead_processes(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    dead = tmp_path / f"benchwarden-ws-{dead_pid}-abc"
    (dead / "deep" / "er").mkdir(parents=True)
    (dead / "deep" / "er" / "file.txt").write_text("left behind")
    (dead / "link").symlink_to("/etc")
    (dead / "deep").chmod(0o500)  # a folder the attempt made unwritable
    mine = tmp_path / f"benchwarden-ws-{os.getpid()}-xyz"
    mine.mkdir()
    init = tmp_path / "benchwarden-ws-1-init"  # pid 1 is alive (and not ours)
    init.mkdir()
    other = tmp_path / "benchwarden-sandbox-999999999-x"
    other.mkdir()

    assert files.sweep_stale_workspaces(str(tmp_path)) == 1
    assert not dead.exists()
    assert mine.is_dir() and init.is_dir() and other.is_dir()
    assert Path("/etc").is_dir()


def test_new_workspaces_carry_the_pid(tmp_path: Path) -> None:
    root = files.new_workspace({"a.txt": "x"})
    try:
        assert Path(root).name.startswith(f"benchwarden-ws-{os.getpid()}-")
        assert files.sweep_stale_workspaces() >= 0
        assert Path(root, "a.txt").read_text() == "x"  # ours: never swept
    finally:
        files.remove_workspace(root)
