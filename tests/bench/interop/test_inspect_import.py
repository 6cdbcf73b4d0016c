"""`benchwarden import`: logs that inspect_ai itself wrote (a tiny task run by inspect_ai
in a child process against the loopback mock) come in as a run that `compare` and
`report` read; the same log twice is refused; files that are not logs are named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import EvalLog, read_eval_log

from benchwarden.bench.interop.inspect_import import ScoreValue, score_value
from benchwarden.testing.mock_upstream import MockUpstream, ThreadedMockUpstream
from tests.bench.interop.cli import bw
from tests.bench.interop.inspect_task import MODELS

ROOT = Path(__file__).resolve().parents[3]
ANSWERS = {
    "alpha": {"France": "Paris", "Peru": "Lima", "Japan": "Kyoto"},
    "beta": {"France": "The capital is Paris", "Peru": "The capital is Paris", "Japan": "Paris"},
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("C", ScoreValue(1.0, True)),
        ("I", ScoreValue(0.0, False)),
        ("P", ScoreValue(0.5, None, "partial")),
        ("N", ScoreValue(0.0, False, "no answer")),
        (True, ScoreValue(1.0, True)),
        (False, ScoreValue(0.0, False)),
        (0.25, ScoreValue(0.25, None)),
        (3, ScoreValue(3.0, None)),
        ("yes", ScoreValue(1.0, True)),
        ("False", ScoreValue(0.0, False)),
        ("0.75", ScoreValue(0.75, None)),
        (float("nan"), ScoreValue(None, None, "unscored")),
        ("B", ScoreValue(None, None, "unscored: value 'B' is not a score")),
        ({"a": 1.0}, ScoreValue(None, None, "unscored: a dict value")),
        ([1, 0], ScoreValue(None, None, "unscored: a list value")),
    ],
)
def test_score_values(value: object, expected: ScoreValue) -> None:
    assert score_value(value) == expected


def _answer(request: dict[str, Any]) -> str:
    question = str(request["messages"][-1]["content"])
    by_country = ANSWERS[request["model"]]
    return next(a for country, a in by_country.items() if country in question)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstream]:
    with ThreadedMockUpstream(responder=_answer) as server:
        yield server


def _inspect_logs(mock: MockUpstream, log_dir: Path, log_format: str) -> list[Path]:
    """inspect_ai runs the task itself; nothing leaves the machine (the mock on
    loopback, logs in tmp, no provider keys)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and "INSPECT" not in k}
    env |= {
        "MOCKSVC_BASE_URL": f"{mock.base_url}/v1",
        "MOCKSVC_API_KEY": "test-key",
        "INSPECT_LOG_DIR": str(log_dir),
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    before = mock.stats.requests
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.interop.inspect_task", str(log_dir), log_format],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    logs = sorted(log_dir.glob(f"*.{log_format}"))
    assert len(logs) == 2, done.stdout + done.stderr[-2000:]
    # Every model call went to the loopback mock: 2 models x 3 questions x 2 epochs.
    assert mock.stats.requests - before == 12
    return logs


@pytest.fixture(scope="module")
def inspect_logs(mock: MockUpstream, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _inspect_logs(mock, tmp_path_factory.mktemp("inspect-logs"), "eval")


def _compare(run_id: str, db: Path) -> dict[str, Any]:
    done = bw("compare", run_id, "--db", str(db), "--format", "json")
    assert done.code == 0, done.err
    result: dict[str, Any] = json.loads(done.out)
    return result


def _usage(log: EvalLog) -> tuple[int, int]:
    usage = next(iter(log.stats.model_usage.values()))
    return usage.input_tokens, usage.output_tokens


def test_an_inspect_log_imports_as_a_run_compare_reads(
    inspect_logs: list[Path], tmp_path: Path
) -> None:
    db = tmp_path / "r.db"
    logs = [read_eval_log(str(p)) for p in inspect_logs]
    (inspect_run,) = {log.eval.run_id for log in logs}
    done = bw("import", *map(str, inspect_logs), "--db", str(db))
    assert done.code == 0, done.err + done.out
    run_id = f"inspect-{inspect_run}"
    assert run_id in done.out

    report = _compare(run_id, db)
    scores = {(s["suite"], s["model"]): s for s in report["scores"]}
    assert set(scores) == {("capitals", m) for m in MODELS}
    for log in logs:
        mine = scores[("capitals", log.eval.model)]
        assert mine["items"] == 3 and mine["samples"] == 6 and mine["errors"] == 0
        # The same figure inspect_ai computed (accuracy of `includes`, C=1 I=0).
        assert log.results is not None
        accuracy = log.results.scores[0].metrics["accuracy"].value
        assert mine["score"]["estimate"] == pytest.approx(accuracy)
        assert (mine["input_tokens"], mine["output_tokens"]) == _usage(log)
    alpha, beta = (scores[("capitals", m)]["score"]["estimate"] for m in MODELS)
    assert (alpha, beta) == (pytest.approx(2 / 3), pytest.approx(1 / 3))
    # Paired over the same three questions, as for any bench run.
    (pair,) = report["pairs"]
    assert pair["comparison"]["n"] == 3

    samples = json.loads(
        "[" + ",".join(bw("export", run_id, "--db", str(db)).out.splitlines()) + "]"
    )
    japan = next(s for s in samples if s["item_id"] == "japan" and s["model"] == MODELS[0])
    assert japan["answer"] == "Kyoto" and japan["passed"] is False and japan["epoch"] in (0, 1)
    assert japan["score_detail"]["scorer"] == "includes"
    assert japan["score_detail"]["inspect_scores"] == {"brevity": 1.0}
    assert japan["metadata"]["inspect"]["input"] == "What is the capital of Japan?"

    report_file = tmp_path / "report.html"
    done = bw("report", run_id, "--db", str(db), "-o", str(report_file))
    assert done.code == 0, done.err
    assert "openai-api/mocksvc/beta" in report_file.read_text()


def test_another_scorer_can_count(inspect_logs: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    args = ["import", *map(str, inspect_logs), "--db", str(db), "--run-id", "brief"]
    assert bw(*args, "--scorer", "brevity").code == 0
    scores = {s["model"]: s["score"]["estimate"] for s in _compare("brief", db)["scores"]}
    # alpha answers in one word; beta in four words for two questions, one for Japan.
    assert scores[MODELS[0]] == pytest.approx(1.0)
    assert scores[MODELS[1]] == pytest.approx((0.25 + 0.25 + 1.0) / 3)
    wrong = bw("import", str(inspect_logs[0]), "--db", str(db), "--scorer", "nope")
    assert wrong.code == 1 and "no scorer 'nope'" in wrong.err
    assert "includes, brevity" in wrong.err


def test_the_same_log_twice_is_refused(inspect_logs: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    assert bw("import", str(inspect_logs[0]), "--db", str(db)).code == 0
    for extra in ([], ["--run-id", "again"]):
        again = bw("import", *map(str, inspect_logs), "--db", str(db), *extra)
        assert again.code == 1
        assert "already imported" in again.err
    twice = bw("import", str(inspect_logs[1]), str(inspect_logs[1]), "--db", str(db))
    assert twice.code == 1 and "given twice" in twice.err
    listed = bw("runs", "--db", str(db), "--json")
    assert len(json.loads(listed.out)) == 1
    assert json.loads(listed.out)[0]["samples"] == 6


def test_json_logs_import_too(mock: MockUpstream, tmp_path: Path) -> None:
    paths = _inspect_logs(mock, tmp_path / "logs", "json")
    db = tmp_path / "r.db"
    done = bw("import", *map(str, paths), "--db", str(db), "--run-id", "j")
    assert done.code == 0, done.err
    assert {s["items"] for s in _compare("j", db)["scores"]} == {3}


def test_files_that_are_not_inspect_logs(tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    cases = {
        "notes.txt": ("hello", "expected a .eval or .json log file"),
        "broken.eval": ("not a zip", "not an inspect_ai eval log"),
        "other.json": ('{"rows": [1, 2]}', "not an inspect_ai eval log"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        done = bw("import", str(path), "--db", db)
        assert done.code == 1, name
        assert message in done.err and name in done.err
    missing = bw("import", str(tmp_path / "gone.eval"), "--db", db)
    assert missing.code == 1 and "no such file" in missing.err


def test_without_inspect_ai_the_commands_say_how_to_install_it(tmp_path: Path) -> None:
    """inspect_ai made unimportable in the child: both commands name the extra."""
    code = (
        "import sys; sys.modules['inspect_ai'] = None; sys.argv[0] = 'benchwarden'; "
        "from benchwarden.cli.app import main; main()"
    )
    for args in (
        ["import", str(tmp_path / "x.eval")],
        ["export", "r", "--format", "inspect", "-o", str(tmp_path / "x.eval")],
    ):
        done = subprocess.run(
            [sys.executable, "-c", code, *args, "--db", str(tmp_path / "r.db")],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
            timeout=120,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert "benchwarden[inspect]" in done.stderr


def test_answers_to_sensitive_prompts_are_kept_as_a_bench_run_keeps_them(
    inspect_logs: list[Path],
) -> None:
    """A prompt in bench's child-safety set (here a stand-in: the Japan question's key),
    or a sample marked hazard cse: hash and redacted excerpt only, never the answer."""
    from benchwarden.bench.interop.inspect_import import log_to_import, prompt_key

    log = read_eval_log(str(inspect_logs[1]))  # beta: "The capital is Paris" and more
    assert log.samples is not None
    for peru in (s for s in log.samples if s.id == "peru"):  # each epoch's
        peru.metadata = {**(peru.metadata or {}), "hazard": "cse"}
    key = prompt_key("  what is the capital of   JAPAN? ")  # words and case do not matter
    records = log_to_import(log, "r", "includes", frozenset({key})).samples
    for record in records:
        if record.item_id == "france":
            assert record.answer and "sensitive" not in record.score_detail
            continue
        assert record.answer is None and record.answer_sha256
        detail = record.score_detail
        assert detail["sensitive"] is True and detail["redacted"] is True
        assert detail["redacted_excerpt"].endswith("... [redacted]")
        assert "answer" not in detail or len(str(detail["answer"])) <= 40
        assert record.passed is not None  # the label is kept


def test_the_sensitive_set_comes_from_benchs_safety_data() -> None:
    from benchwarden.cli.inspect_cmd import _sensitive_prompt_keys

    keys = _sensitive_prompt_keys()
    assert len(keys) >= 10  # the child-safety prompts of the safety suite
