"""`compare` in an 80-column terminal: nothing wider, names whole, and colors only when
the output is a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.bench.report.runs import CLI_RUN, MIXED_RUN, MODELS, Runs
from tests.cli_process import run_cli

ESC = "\x1b["


def test_compare_fits_80_columns_without_colors_in_a_pipe(results_db: Runs) -> None:
    for run_id, models in (
        (CLI_RUN, ("local/smollm2-135m", "local/gemma3-270m")),
        (MIXED_RUN, MODELS),
    ):
        result = run_cli("compare", run_id, "--db", str(results_db.db), env={"COLUMNS": "80"})
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert ESC not in out  # a pipe gets plain text
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= 80, [x for x in lines if len(x) > 80]
        assert "…" not in out  # nothing cut short
        for model in models:  # whole names, on one line
            assert any(model in line for line in lines), model
        for suite in ("safety", "over-refusal"):
            assert any(line.startswith(suite) for line in lines)


def test_compare_colors_on_a_terminal(results_db: Runs) -> None:
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchwarden.cli", "compare", MIXED_RUN, "--db", str(results_db.db)],
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(120) == 0
    os.close(leader)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert ESC in out and "paired differences" in out
