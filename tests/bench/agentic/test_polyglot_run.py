"""`benchwarden run -s polyglot` end to end: the real CLI, the real sandbox, scripted
models on loopback that solve, fail then fix, edit the tests, or attack the sandbox."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from benchwarden.bench.agentic.exercises import Exercise, load_exercises
from benchwarden.store import open_store
from tests.bench.agentic.solver import (
    Solver,
    edit_fails_then_fixes,
    edit_solves,
    tools_adds_a_test_file,
    tools_edits_tests,
    tools_hostile,
    tools_solves,
)
from tests.cli_process import run_cli

LIMIT = 3


@pytest.fixture(scope="module")
def python_exercises() -> list[Exercise]:
    return load_exercises(("python",))


def write_config(path: Path, base_url: str, models: dict[str, str]) -> Path:
    lines: list[str] = []
    for name, policy in models.items():
        lines += [
            f'[models."{name}"]',
            'provider = "openai"',
            f'base_url = "{base_url}/v1"',
            f'model = "{policy}"',
            'purposes = ["benchmarking"]',
            "max_concurrency = 2",
            "max_attempts = 1",
            "input_price_per_mtok = 1.0",
            "output_price_per_mtok = 2.0",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


def samples(db: Path, run_id: str) -> dict[tuple[str, str], Any]:
    store = open_store(str(db))
    try:
        return {(s.model, s.item_id): s for s in store.samples(run_id)}
    finally:
        store.close()


def run_polyglot(
    tmp_path: Path, config: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[Path, str]:
    db = tmp_path / "results.db"
    done = run_cli(
        "run",
        "-s",
        "polyglot",
        "--language",
        "python",
        "--limit",
        str(LIMIT),
        "--config",
        str(config),
        "--db",
        str(db),
        "--run-id",
        "poly",
        "--no-cache",
        *args,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return db, done.stdout


def test_edit_protocol_scores_try1_and_try2(
    tmp_path: Path, python_exercises: list[Exercise]
) -> None:
    policies = {"solves": edit_solves, "fixes": edit_fails_then_fixes}
    with Solver(python_exercises, policies) as solver:
        config = write_config(
            tmp_path / "models.toml", solver.base_url, {"a": "solves", "b": "fixes"}
        )
        db, _ = run_polyglot(tmp_path, config, "--agent", "edit", "-m", "a", "-m", "b")
    rows = samples(db, "poly")
    assert len(rows) == 2 * LIMIT
    for (model, item), sample in rows.items():
        assert item.startswith("python/")
        assert sample.status == "ok", sample.error_message
        assert sample.passed is True, (model, item, sample.metadata["agentic"])
        assert sample.score_detail["try1_passed"] is (model == "a")
        assert sample.score_detail["try2_passed"] is True
        tries = sample.metadata["agentic"]["tries"]
        assert [t["passed"] for t in tries] == ([True] if model == "a" else [False, True])
        assert sample.answer and sample.answer.startswith("--- a/")  # the final diff
        assert sample.input_tokens == 100 * len(tries)
    # compare: try 2 is the score; try 1 is a sub-score, 100% for a and 0% for b.
    shown = run_cli("compare", "poly", "--db", str(db), "--format", "json")
    report = json.loads(shown.stdout)
    scores = {s["model"]: s for s in report["scores"]}
    assert scores["a"]["score"]["estimate"] == 1.0
    assert scores["b"]["score"]["estimate"] == 1.0
    assert scores["a"]["parts"]["try1"]["estimate"] == 1.0
    assert scores["b"]["parts"]["try1"]["estimate"] == 0.0


def test_tools_protocol_solves_and_restored_tests_decide(
    tmp_path: Path, python_exercises: list[Exercise]
) -> None:
    policies = {"solves": tools_solves, "cheats": tools_edits_tests}
    with Solver(python_exercises, policies) as solver:
        config = write_config(
            tmp_path / "models.toml", solver.base_url, {"a": "solves", "b": "cheats"}
        )
        db, _ = run_polyglot(tmp_path, config, "--agent", "tools", "-m", "a", "-m", "b")
    rows = samples(db, "poly")
    assert len(rows) == 2 * LIMIT
    for (model, _item), sample in rows.items():
        agentic = sample.metadata["agentic"]
        kinds = [s["kind"] for s in sample.metadata["trajectory"]]
        assert agentic["protocol"] == "tools"
        assert agentic["end_reason"] == "done"
        if model == "a":
            assert sample.passed is True
            assert agentic["tests_modified"] == []
            assert "tool" in kinds and kinds[-1] == "model"
        else:
            # Its own (gutted) tests passed inside the loop; the restored ones fail it.
            runs = [s for s in sample.metadata["trajectory"] if s.get("name") == "run_tests"]
            assert runs and runs[0]["ok"] is True
            assert sample.passed is False
            assert agentic["tests_modified"], agentic
            assert sample.score_detail["tests_modified"] is True
            assert sample.score_detail["failure_kind"] == "tests_failed"


def test_hostile_agent_is_contained_and_the_run_goes_on(
    tmp_path: Path, python_exercises: list[Exercise]
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            received.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    marker = uuid.uuid4().hex
    port = listener.getsockname()[1]
    policies = {"hostile": tools_hostile(port, marker), "solves": tools_solves}
    try:
        with Solver(python_exercises, policies) as solver:
            config = write_config(
                tmp_path / "models.toml", solver.base_url, {"h": "hostile", "a": "solves"}
            )
            db, _ = run_polyglot(
                tmp_path,
                config,
                "--agent",
                "tools",
                "-m",
                "h",
                "-m",
                "a",
                env={"BW_HOST_SECRET": marker},
            )
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert received == []  # no connection left the sandbox
    for path in (Path("/usr/pwned"), Path("/pwned"), Path("/tmp/pwned")):
        assert not path.exists()
    rows = samples(db, "poly")
    hostile = [s for (m, _), s in rows.items() if m == "h"]
    solved = [s for (m, _), s in rows.items() if m == "a"]
    assert len(hostile) == LIMIT and all(s.status == "ok" and not s.passed for s in hostile)
    assert all(s.score_detail["failure_kind"] == "no_answer" for s in hostile)
    assert len(solved) == LIMIT and all(s.passed for s in solved)
    steps = hostile[0].metadata["trajectory"]
    env_step = next(s for s in steps if s.get("input", "").startswith("cat /proc/1/environ"))
    assert marker not in env_step.get("output", "")
    assert "BENCHWARDEN_HOME" not in env_step.get("output", "")


def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(
    tmp_path: Path, python_exercises: list[Exercise]
) -> None:
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    with Solver(python_exercises, {"solves": tools_solves}, delay_s=0.3) as solver:
        config = write_config(tmp_path / "models.toml", solver.base_url, {"a": "solves"})
        db = tmp_path / "results.db"
        args = [
            "run",
            "-s",
            "polyglot",
            "--agent",
            "tools",
            "--language",
            "python",
            "--limit",
            "6",
            "-m",
            "a",
            "--config",
            str(config),
            "--db",
            str(db),
            "--run-id",
            "killed",
            "--no-cache",
            "--max-concurrency",
            "1",
        ]

        def recorded() -> list[str]:
            if not db.exists():
                return []
            try:
                with sqlite3.connect(db, timeout=5) as conn:
                    return [r[0] for r in conn.execute("SELECT item_id FROM samples")]
            except sqlite3.OperationalError:
                return []

        # The workspaces in a folder of the test's own, to see what the kill left.
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchwarden.cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "200", "TMPDIR": str(tmp)},
        )
        deadline = time.monotonic() + 240
        while len(recorded()) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        before = recorded()
        assert 2 <= len(before) < 6
        killed = f"benchwarden-ws-{proc.pid}-"
        left = [p.name for p in tmp.iterdir() if p.name.startswith(killed)]
        done = run_cli(*args, env={"TMPDIR": str(tmp)})
        assert done.returncode == 0, done.stdout + done.stderr
        assert "resuming killed" in done.stdout
    after = recorded()
    assert sorted(after) == sorted(set(after)) and len(after) == 6  # none lost, none twice
    # What the killed run left is swept when the run resumes; the resumed run's own are gone.
    print(f"workspaces left by the kill: {left}")
    assert [p.name for p in tmp.iterdir() if p.name.startswith("benchwarden-ws-")] == []
    assert set(before) <= set(after)
    rows = samples(db, "killed")
    assert all(s.passed for s in rows.values())


def test_step_limit_ends_the_attempt_and_is_part_of_the_run(
    tmp_path: Path, python_exercises: list[Exercise]
) -> None:
    with Solver(python_exercises, {"solves": tools_solves}) as solver:
        config = write_config(tmp_path / "models.toml", solver.base_url, {"a": "solves"})
        db, _ = run_polyglot(
            tmp_path,
            config,
            "--agent",
            "tools",
            "-m",
            "a",
            "--max-steps",
            "2",
            "--attempt-cost",
            "5",
        )
        changed = run_cli(
            "run",
            "-s",
            "polyglot",
            "--language",
            "python",
            "--limit",
            str(LIMIT),
            "--agent",
            "tools",
            "-m",
            "a",
            "--max-steps",
            "3",
            "--attempt-cost",
            "5",
            "--config",
            str(config),
            "--db",
            str(db),
            "--run-id",
            "poly",
            "--no-cache",
        )
    assert changed.returncode == 1 and "attempt_limits" in changed.stderr
    for sample in samples(db, "poly").values():
        agentic = sample.metadata["agentic"]
        # One read, one write of the reference, then the limit: the final run passes.
        assert agentic["end_reason"] == "step_limit" and agentic["steps"] == 2
        assert agentic["limits"]["max_steps"] == 2 and agentic["limits"]["max_cost"] == 5.0
        assert sample.passed is True and sample.score_detail["failure_kind"] is None


def test_files_added_beside_the_tests_do_not_count(
    tmp_path: Path, python_exercises: list[Exercise]
) -> None:
    with Solver(python_exercises, {"adds": tools_adds_a_test_file}) as solver:
        config = write_config(tmp_path / "models.toml", solver.base_url, {"a": "adds"})
        db, _ = run_polyglot(tmp_path, config, "--agent", "tools", "-m", "a")
    rows = samples(db, "poly").values()
    in_loop = [
        s.get("ok") for r in rows for s in r.metadata["trajectory"] if s.get("name") == "run_tests"
    ]
    assert True in in_loop  # the disarmed tests passed in its own workspace (where the stub
    # does not raise outside an assertion)...
    for sample in rows:
        assert sample.metadata["agentic"]["tests_modified"] == []
        assert sample.passed is False  # ...not on the pristine exercise + its solution
