"""`benchwarden export --format inspect`: logs that inspect_ai's own reader reads back
with the run's samples, scores and usage; safety answers as bench's rules say; and
back into bench by `import` with the same figures."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import EvalLog, read_eval_log

from benchwarden.bench.interop.inspect_export import HIDDEN_PROMPT
from benchwarden.bench.registry import get_suite
from benchwarden.store import SampleRecord, open_store
from tests.bench.interop.cli import bw
from tests.bench.report.runs import (
    CLI_RUN,
    CSE_MARKER,
    MIXED_RUN,
    MODELS,
    SAFETY_MARKER,
    Runs,
)


def _stored(db: Path, run_id: str) -> list[SampleRecord]:
    with open_store(str(db)) as store:
        return store.samples(run_id)


def _export(db: Path, run_id: str, out: Path, *extra: str) -> list[Path]:
    done = bw("export", run_id, "--format", "inspect", "-o", str(out), "--db", str(db), *extra)
    assert done.code == 0, done.err
    return sorted(out.glob("*.eval")) if out.is_dir() else [out]


def _text_of(path: Path) -> str:
    """Every entry of the .eval archive, decompressed (markers must not hide in zip)."""
    with zipfile.ZipFile(path) as archive:
        return "".join(archive.read(name).decode() for name in archive.namelist())


def test_a_run_reads_back_in_inspect_ai(results_db: Runs, tmp_path: Path) -> None:
    paths = _export(results_db.db, MIXED_RUN, tmp_path / "logs")
    stored = _stored(results_db.db, MIXED_RUN)
    # One log per (suite, model), as inspect_ai keeps one per (task, model).
    assert len(paths) == 3 * len(MODELS)
    logs = [read_eval_log(str(p)) for p in paths]
    assert {(x.eval.task, x.eval.model) for x in logs} == {
        (suite, model) for suite in ("humaneval-plus", "safety", "over-refusal") for model in MODELS
    }
    for log in logs:
        assert log.status == "success" and log.eval.run_id == MIXED_RUN
        assert log.eval.metadata is not None
        assert log.eval.metadata["benchwarden"]["purpose"] == "safety-evaluation"
        mine = [s for s in stored if (s.suite, s.model) == (log.eval.task, log.eval.model)]
        assert log.samples is not None and len(log.samples) == len(mine)
        by_key = {(s.item_id, s.epoch): s for s in mine}
        for sample in log.samples:
            record = by_key[(str(sample.id), sample.epoch - 1)]
            usage = sample.model_usage[log.eval.model]
            assert (usage.input_tokens, usage.output_tokens) == (
                record.input_tokens,
                record.output_tokens,
            )
            if record.status == "error":
                assert sample.error is not None and "rate limited" in sample.error.message
                assert sample.scores is None
                continue
            if log.eval.task == "humaneval-plus":  # the prompt, from the suite's data
                assert isinstance(sample.input, str) and "def " in sample.input
            assert sample.scores is not None
            (score,) = sample.scores.values()
            assert score.value == ("C" if record.passed else "I")
        _check_totals(log, mine)


def _check_totals(log: EvalLog, mine: list[SampleRecord]) -> None:
    usage = log.stats.model_usage[log.eval.model]
    assert usage.input_tokens == sum(s.input_tokens for s in mine)
    assert log.results is not None
    (scores,) = log.results.scores
    ok = [s for s in mine if s.status == "ok"]
    assert scores.scored_samples == len(ok)
    # bench's own figure: the mean over items of each item's mean over epochs.
    items: dict[str, list[float]] = {}
    for s in ok:
        items.setdefault(s.item_id, []).append(float(s.score or 0.0))
    expected = sum(sum(v) / len(v) for v in items.values()) / len(items)
    assert scores.metrics["mean"].value == pytest.approx(expected)


def test_safety_answers_follow_the_disclosure_rules(results_db: Runs, tmp_path: Path) -> None:
    hidden = _export(results_db.db, MIXED_RUN, tmp_path / "hidden", "--suite", "safety")
    shown = _export(
        results_db.db, MIXED_RUN, tmp_path / "shown", "--suite", "safety", "--show-safety-answers"
    )
    hidden_text = "".join(_text_of(p) for p in hidden)
    shown_text = "".join(_text_of(p) for p in shown)
    assert SAFETY_MARKER not in hidden_text and HIDDEN_PROMPT in hidden_text
    assert SAFETY_MARKER in shown_text
    # Child-safety answers were never stored; not even their redacted excerpt leaves.
    assert CSE_MARKER not in hidden_text and CSE_MARKER not in shown_text
    log = read_eval_log(str(shown[0]))
    assert log.samples is not None
    cse = [s for s in log.samples if s.id == results_db.cse_item]
    assert cse and all(s.output.completion == "" for s in cse)
    assert all(s.metadata["benchwarden"]["answer_sha256"] for s in cse)  # the hash stays


def test_one_file_of_a_real_run(results_db: Runs, tmp_path: Path) -> None:
    """The embedded models' run: answers and prompts as stored, to one .eval or .json."""
    stored = [s for s in _stored(results_db.db, CLI_RUN) if s.suite == "smoke"]
    model = stored[0].model
    for name in ("one.eval", "one.json"):
        (path,) = _export(
            results_db.db, CLI_RUN, tmp_path / name, "--suite", "smoke", "--model", model
        )
        log = read_eval_log(str(path))
        assert log.samples is not None
        answers = {str(s.id): s.output.completion for s in log.samples}
        for sample in log.samples:  # one model call in each transcript
            (event,) = sample.events
            assert event.event == "model" and event.output.completion == sample.output.completion
        assert answers == {s.item_id: s.answer for s in stored if s.model == model}
        items = {i.id: i for i in get_suite("smoke").load()}
        for sample in log.samples:
            item = items[str(sample.id)]
            assert sample.input == item.messages[0].content
            assert sample.target == " | ".join(item.target)
        assert log.eval.model_generate_config.temperature == 0.0


def test_export_errors_say_what_to_do(results_db: Runs, tmp_path: Path) -> None:
    db = str(results_db.db)
    args = ["export", MIXED_RUN, "--format", "inspect", "--db", db]
    several = bw(*args, "-o", str(tmp_path / "x.eval"))
    assert several.code == 1 and "give a folder to -o" in several.err
    assert "humaneval-plus/lab/alpha" in several.err and not (tmp_path / "x.eval").exists()
    nowhere = bw(*args)
    assert nowhere.code == 1 and "-o FILE.eval" in nowhere.err
    nothing = bw(*args, "-o", str(tmp_path), "--model", "lab/gamma")
    assert nothing.code == 1 and "no samples of model 'lab/gamma'" in nothing.err
    assert not list(tmp_path.glob("*.eval"))
    gone = bw("export", "no-such-run", "--format", "inspect", "-o", str(tmp_path), "--db", db)
    assert gone.code == 1 and "no run 'no-such-run'" in gone.err
    misplaced = bw("export", MIXED_RUN, "--suite", "safety", "--db", db)
    assert misplaced.code == 1 and "with --format inspect" in misplaced.err


def test_round_trip_gives_the_same_figures(results_db: Runs, tmp_path: Path) -> None:
    """bench -> inspect log -> bench: compare's figures and the stored samples agree."""
    paths = _export(results_db.db, MIXED_RUN, tmp_path / "logs", "--show-safety-answers")
    db = str(tmp_path / "back.db")
    done = bw("import", *map(str, paths), "--db", db, "--run-id", MIXED_RUN)
    assert done.code == 0, done.err
    before = bw("compare", MIXED_RUN, "--db", str(results_db.db), "--format", "json").json()
    after = bw("compare", MIXED_RUN, "--db", db, "--format", "json").json()
    assert after == before

    def fields(samples: list[SampleRecord]) -> list[dict[str, Any]]:
        # Everything but the redacted excerpt, which never leaves bench.
        return [
            {
                **{k: getattr(s, k) for k in SampleRecord.__slots__ if k != "metadata"},
                "metadata": {k: v for k, v in s.metadata.items() if k != "redacted_excerpt"},
            }
            for s in samples
        ]

    assert fields(_stored(Path(db), MIXED_RUN)) == fields(_stored(results_db.db, MIXED_RUN))
    again = bw("import", str(paths[0]), "--db", db, "--run-id", "other")
    assert again.code == 1 and "already imported" in again.err
