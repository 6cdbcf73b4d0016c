"""A writing run judged through the real CLI, for the viewer and export tests: two
scripted writers and a scripted judge on loopback, pairwise and single grades, with a
two-turn conversation among the items."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchwarden.bench.plan import select_items
from benchwarden.bench.suites.writing import writing_items
from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from tests.cli_process import run_cli

RUN = "judged"
WRITERS = ("alpha-writer", "beta-writer")
JUDGE = "fair-judge"
RATIONALE = "RATIONALE5521"
ITEMS = 3


def slot_a(body: dict[str, Any]) -> str:
    """What a judge prompt shows as assistant A's (last) reply."""
    content = str(body["messages"][-1]["content"])
    found = re.search(r"Assistant A's reply:\n<<<\n(.*?)\n>>>", content, re.S)
    if found is None:  # a conversation: the last reply of assistant A
        replies = re.findall(r"Assistant A:\n<<<\n(.*?)\n>>>", content, re.S)
        return replies[-1] if replies else ""
    return found.group(1)


def writer(name: str) -> Any:
    def reply(body: dict[str, Any]) -> str:
        turn = 1 + sum(m["role"] == "assistant" for m in body["messages"])
        return f"{name} answer, turn {turn}: the lighthouse keeper counted waves."

    return reply


def fair_judge(body: dict[str, Any]) -> str:
    """Prefers alpha wherever it sits; grades alpha 8 and beta 5; gives its reasons."""
    content = str(body["messages"][-1]["content"])
    if "Assistant B" not in content:  # a single grade
        return f"[[8]] {RATIONALE} vivid" if "alpha-writer" in content else f"[[5]] {RATIONALE}"
    if "alpha-writer" in slot_a(body):
        return f"[[A>>B]] {RATIONALE}: A's imagery is richer."
    return f"[[B>A]] {RATIONALE}: B's imagery is richer."


@dataclass(frozen=True)
class JudgedRun:
    db: Path
    run_id: str
    two_turn_item: str
    items: list[str]


def build_judged_run(tmp: Path) -> JudgedRun:
    items = writing_items()
    seed = next(
        s
        for s in range(500)
        if any(i.id.endswith("/turn-2") for i in select_items(items, ITEMS, s, "writing"))
    )
    chosen = [i.id for i in select_items(items, ITEMS, seed, "writing")]
    db = tmp / "judged.db"
    with (
        ThreadedMockUpstream(responder=writer(WRITERS[0])) as alpha,
        ThreadedMockUpstream(responder=writer(WRITERS[1])) as beta,
        ThreadedMockUpstream(responder=fair_judge) as judge,
    ):
        config = tmp / "models.toml"
        config.write_text(
            "".join(
                f'[models."{name}"]\nprovider = "openai"\nbase_url = "{mock.base_url}/v1"\n'
                f'model = "{name}"\npurposes = ["benchmarking"]\n\n'
                for name, mock in ((WRITERS[0], alpha), (WRITERS[1], beta), (JUDGE, judge))
            )
        )
        args = ["run", "-s", "writing", "--limit", str(ITEMS), "--seed", str(seed)]
        args += ["-m", WRITERS[0], "-m", WRITERS[1], "--judge", JUDGE, "--writing-mode", "both"]
        result = run_cli(*args, "--config", str(config), "--db", str(db), "--run-id", RUN)
        assert result.returncode == 0, result.stderr + result.stdout
    two_turn = next(i for i in chosen if i.endswith("/turn-2"))
    return JudgedRun(db, RUN, two_turn, chosen)
