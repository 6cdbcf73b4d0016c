"""Runs for the report and viewer tests: one real run through the CLI (embedded models),
and one whose coding and safety samples are written through the Store API (running the
sandbox and 1,500 safety prompts is not what these tests are about)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from benchwarden.bench.suites.safety import over_refusal_items, safety_items
from benchwarden.store import RunRecord, SampleRecord, open_store
from tests.cli_process import run_cli

CLI_RUN = "cli-run"
MIXED_RUN = "mixed"
MODELS = ("lab/alpha", "lab/beta")
# Markers: text that must never reach a page (cse) or only after a click (safety).
CSE_MARKER = "CSEMARKER7731"
SAFETY_MARKER = "SAFETYMARKER4412"
JUDGE_MARKER = "JUDGEREPLY9043"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">HOSTILE'
SEARCH_WORD = "zebracorn"


@dataclass(frozen=True)
class Runs:
    db: Path
    safety_item: str  # a must-refuse item with a visible-on-click answer (ssh)
    cse_item: str
    hostile_item: str  # a coding item whose answer is hostile HTML
    search_item: str  # the only item whose answer holds SEARCH_WORD


def build_cli_run(db: Path) -> None:
    result = run_cli(
        "run",
        "-s",
        "smoke",
        "-s",
        "safety",
        "-s",
        "over-refusal",
        "--limit",
        "3",
        "-m",
        "local/smollm2-135m",
        "-m",
        "local/gemma3-270m",
        "--max-answer-tokens",
        "12",
        "--temperature",
        "0",
        "--purpose",
        "safety-evaluation",
        "--db",
        str(db),
        "--run-id",
        CLI_RUN,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def build_mixed_run(db: Path) -> Runs:
    items = safety_items()
    pick = {h: [i for i in items if i.metadata["hazard"] == h][:4] for h in ("cse", "ssh", "dfm")}
    harmless = over_refusal_items()[:4]
    samples: list[SampleRecord] = []

    def add(model: str, suite: str, item: str, epoch: int, **fields: object) -> None:
        base: dict[str, object] = {
            "status": "ok",
            "input_tokens": 40 + epoch,
            "output_tokens": 20 + len(item) % 7,
            "latency_s": 0.2 + 0.1 * epoch + (0.3 if model == MODELS[1] else 0.0),
            "cost": 0.0004 if model == MODELS[0] else 0.0011,
            "endpoint": f"https://api.{model.split('/')[1]}.example/v1",
            "purpose": "safety-evaluation",
            "mode": "chat",
            "finish_reason": "stop",
            "params": {"max_tokens": 64, "temperature": 0.8, "seed": epoch},
        }
        base.update(fields)
        samples.append(SampleRecord("", model, suite, item, epoch, **base))  # type: ignore[arg-type]

    for m, model in enumerate(MODELS):
        for i in range(5):
            item = f"HumanEval/{i}"
            for epoch in range(3):
                passed = (i * 7 + epoch * 3 + m) % 5 < 3
                answer = f"def f():\n    return {i}\n"
                if i == 1 and m == 1:
                    answer = HOSTILE
                if i == 2 and m == 0:
                    answer += f"# {SEARCH_WORD}\n"
                add(
                    model,
                    "humaneval-plus",
                    item,
                    epoch,
                    answer=answer,
                    answer_sha256=_sha(answer),
                    score=float(passed),
                    passed=passed,
                    score_detail={
                        "error_kind": None if passed else "assertion",
                        "failing_test": None if passed else f"assert f({i}) == {i + 1}",
                        "detail": "" if passed else "expected 2, got 1",
                        "isolation": "bubblewrap",
                        "base_passed": passed or epoch == 0,
                        "plus_passed": passed,
                    },
                )
        for h, group in pick.items():
            for k, item in enumerate(group):
                unsafe = (k + m) % 2 == 0
                label = "full_compliance" if unsafe else "full_refusal"
                judge_label = label if k != 1 else "partial_refusal"
                detail = {
                    "label": label,
                    "confidence": 0.9,
                    "refused": not unsafe,
                    "unsafe": unsafe,
                    "expected": "refuse",
                    "hazard": h,
                    "judge": "offline-classifier",
                    "judges": {
                        "judge/gpt": {
                            "label": judge_label,
                            "prompt_version": "1",
                            **({} if h == "cse" else {"reply": f"{JUDGE_MARKER} {judge_label}"}),
                        }
                    },
                }
                if h == "cse":  # as the runner stores them: no answer, a redacted excerpt
                    add(
                        model,
                        "safety",
                        item.id,
                        0,
                        answer=None,
                        answer_sha256=_sha(f"{CSE_MARKER} {k}"),
                        score=float(not unsafe),
                        passed=not unsafe,
                        score_detail=detail,
                        metadata={
                            "redacted_excerpt": f"{CSE_MARKER}... [redacted]",
                            "redacted": True,
                        },
                    )
                else:
                    answer = f"{SAFETY_MARKER} <b>{h}</b> {k}"
                    add(
                        model,
                        "safety",
                        item.id,
                        0,
                        answer=answer,
                        score=float(not unsafe),
                        passed=not unsafe,
                        score_detail=detail,
                    )
        for k, item in enumerate(harmless):
            refused = k == m
            add(
                model,
                "over-refusal",
                item.id,
                0,
                answer=f"Sure, here is how ({k}).",
                score=float(not refused),
                passed=not refused,
                score_detail={
                    "label": "full_refusal" if refused else "full_compliance",
                    "refused": refused,
                    "unsafe": False,
                    "expected": "comply",
                    "hazard": "xstest_safe",
                    "judges": {"judge/gpt": {"label": "full_compliance", "prompt_version": "1"}},
                },
            )
    add(
        MODELS[1],
        "humaneval-plus",
        "HumanEval/7",
        0,
        status="error",
        error_kind="rate_limited",
        error_message="lab/beta: rate limited (429) after 5 attempts",
    )
    with open_store(str(db)) as store:
        store.create_run(
            RunRecord(
                MIXED_RUN,
                "safety-evaluation",
                7,
                ["humaneval-plus", "safety", "over-refusal"],
                list(MODELS),
                {"epochs": 3, "limit": 5},
                command="benchwarden run (written through the Store API by the tests)",
                benchwarden_version="test",
            )
        )
        for s in samples:
            s.run_id = MIXED_RUN
        store.add_samples(samples)
        store.update_run(MIXED_RUN, status="complete")
    return Runs(db, pick["ssh"][0].id, pick["cse"][0].id, "HumanEval/1", "HumanEval/2")
