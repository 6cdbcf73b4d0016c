"""Small builders for store tests (importable by spawned worker processes too)."""

from __future__ import annotations

from typing import Any

from benchwarden.store import RunRecord, SampleRecord


def make_run(run_id: str = "run-1", **overrides: Any) -> RunRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "purpose": "benchmarking",
        "seed": 1234,
        "suites": ["humaneval", "writing"],
        "models": ["local/smollm2-135m", "local/gemma3-270m"],
        "settings": {"limit": 5, "epochs": 2, "max_tokens": 256},
        "command": "benchwarden run --suite humaneval",
        "benchwarden_version": "0.1.0",
    }
    fields.update(overrides)
    return RunRecord(**fields)


def make_sample(
    item_id: str,
    status: str = "ok",
    *,
    run_id: str = "run-1",
    model: str = "m1",
    suite: str = "s1",
    epoch: int = 0,
    **overrides: Any,
) -> SampleRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "model": model,
        "suite": suite,
        "item_id": item_id,
        "epoch": epoch,
        "status": status,
    }
    if status == "ok":
        fields.update(answer=f"answer {item_id}", input_tokens=10, output_tokens=5, cost=0.25)
    else:
        fields.update(error_kind="rate_limited", error_message="429 from upstream")
    fields.update(overrides)
    return SampleRecord(**fields)
