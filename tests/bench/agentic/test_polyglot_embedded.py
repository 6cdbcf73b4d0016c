"""The embedded models work polyglot exercises under both protocols, end to end.

SmolLM2 (chat) gets the tools through grammar-constrained tool calls; Gemma 3 270M (a
base model, completion mode) gets the text protocol. They will mostly fail: what is
checked is that every attempt ends cleanly within its limits, is recorded with its
trajectory, and leaves no workspace behind.
"""

from __future__ import annotations

import asyncio
import glob
import tempfile
from pathlib import Path

import pytest

from benchwarden.bench.agentic.exercises import load_exercises
from benchwarden.bench.agentic.trajectory import END_REASONS, AttemptLimits
from benchwarden.bench.plan import plan_tasks
from benchwarden.bench.runner import Runner, RunOptions
from benchwarden.bench.suites.polyglot import exercise_item, polyglot_suite
from benchwarden.models.factory import open_client
from benchwarden.models.registry import resolve
from benchwarden.store import RunRecord, open_store

MODELS = ("local/smollm2-135m", "local/gemma3-270m")
# The two Python exercises with the shortest task: they fit the 4096-token window.
EXERCISES = ("python/poker", "python/robot-name")
LIMITS = AttemptLimits(max_steps=2, answer_tokens=64, output_chars=600)


def _workspaces(folder: Path) -> set[str]:
    return set(glob.glob(str(folder / "benchwarden-ws-*")))


async def _run(db: Path, agent: str, exercise_ids: tuple[str, ...]) -> None:
    exercises = {e.id: e for e in load_exercises(("python",))}
    items = [exercise_item(exercises[i]) for i in exercise_ids]
    suite = polyglot_suite(agent, ("python",), LIMITS)
    store = open_store(str(db))
    run_id = f"embedded-{agent}"
    store.create_run(
        RunRecord(
            run_id=run_id,
            purpose="benchmarking",
            seed=0,
            suites=["polyglot"],
            models=list(MODELS),
            settings={},
            command="test",
            benchwarden_version="test",
        )
    )
    specs = {m: resolve(m, {}) for m in MODELS}
    clients = {m: open_client(spec, use_cache=False) for m, spec in specs.items()}
    try:
        runner = Runner(
            store,
            run_id,
            {"polyglot": suite},
            {"polyglot": items},
            specs,
            clients,
            RunOptions(max_concurrency=1),
        )
        plan = plan_tasks(list(MODELS), {"polyglot": items}, 1, 0, {})
        outcome = await runner.run(plan, {})
        assert outcome.errors == 0 and outcome.status == "complete", outcome
    finally:
        for client in clients.values():
            await client.aclose()
        store.close()


@pytest.mark.parametrize(("agent", "exercise_ids"), [("tools", EXERCISES), ("edit", EXERCISES[:1])])
def test_embedded_models_end_cleanly(
    tmp_path: Path, agent: str, exercise_ids: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "workspaces"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))  # this test's workspaces only
    made = folder.stat().st_mtime_ns
    db = tmp_path / "embedded.db"
    asyncio.run(_run(db, agent, exercise_ids))
    store = open_store(str(db))
    try:
        samples = store.samples(f"embedded-{agent}")
    finally:
        store.close()
    assert len(samples) == len(MODELS) * len(exercise_ids)
    for sample in samples:
        assert sample.status == "ok", sample.error_message
        agentic = sample.metadata["agentic"]
        trajectory = sample.metadata["trajectory"]
        assert agentic["end_reason"] in END_REASONS
        assert trajectory and trajectory[0]["kind"] == "model"
        if agent == "tools":
            expected = "tools" if sample.model == "local/smollm2-135m" else "text"
            assert agentic["protocol"] == expected
            assert agentic["steps"] <= LIMITS.max_steps
            assert agentic["model_calls"] <= LIMITS.max_steps + 1
        else:
            assert agentic["protocol"] == "edit"
            assert 1 <= len(agentic["tries"]) <= 2
        assert all(s.get("output_tokens", 0) <= LIMITS.answer_tokens for s in trajectory)
        assert sample.passed is not None and sample.score_detail["outcome"] is not None
    assert folder.stat().st_mtime_ns > made  # the attempts' workspaces were made here...
    assert _workspaces(folder) == set()  # ...and every one removed once scored
