"""The writing suite's items and two-turn conversations: the model's own first answer
feeds the second turn, in chat and in completion mode."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from benchwarden.bench.plan import select_items
from benchwarden.bench.suites.writing import writing_items
from benchwarden.bench.turns import next_turn
from benchwarden.models.types import GenerateRequest, Message
from benchwarden.testing.mock_upstream import ThreadedMockUpstream
from tests.cli_process import run_cli as cli


def test_items() -> None:
    items = writing_items()
    arena = [i for i in items if i.id.startswith("arena-hard/")]
    firsts = [i for i in items if i.id.startswith("mt-bench/") and "turn-2" not in i.id]
    seconds = [i for i in items if i.id.endswith("/turn-2")]
    assert (len(arena), len(firsts), len(seconds)) == (250, 20, 20)
    assert len({i.id for i in items}) == len(items)
    assert {i.metadata["category"] for i in seconds} == {"writing", "roleplay"}
    assert all(len(i.metadata["turns"]) == 2 for i in seconds)
    assert all(len(i.metadata["turns"]) == 1 for i in arena + firsts)


def test_next_turn_in_chat_and_completion_mode() -> None:
    chat = GenerateRequest(messages=(Message("user", "Write a haiku."),))
    nxt = next_turn(chat, "Old pond.", "Now a limerick.")
    assert [m.role for m in nxt.messages] == ["user", "assistant", "user"]
    assert nxt.messages[1].content == "Old pond." and nxt.messages[2].content == "Now a limerick."
    completion = GenerateRequest(prompt="User: Write a haiku.\nAssistant:")
    nxt = next_turn(completion, " Old pond.\n", "Now a limerick.")
    assert (
        nxt.prompt
        == "User: Write a haiku.\nAssistant: Old pond.\nUser: Now a limerick.\nAssistant:"
    )


def test_second_turn_sees_the_models_first_answer(tmp_path: Path) -> None:
    items = writing_items()
    seed = next(
        s for s in range(500) if select_items(items, 1, s, "writing")[0].id.endswith("/turn-2")
    )
    (item,) = select_items(items, 1, seed, "writing")
    with ThreadedMockUpstream(echo=True) as mock:
        config = tmp_path / "m.toml"
        config.write_text(
            f'[models."w"]\nprovider = "openai"\nbase_url = "{mock.base_url}/v1"\nmodel = "w"\n'
            'purposes = ["benchmarking"]\n'
        )
        db = tmp_path / "t.db"
        args = ["run", "-s", "writing", "--limit", "1", "--seed", str(seed), "-m", "w"]
        result = cli(*args, "--config", str(config), "--db", str(db), "--no-cache")
        assert result.returncode == 0, result.stderr + result.stdout
        first, second = mock.stats.bodies
    turns = item.metadata["turns"]
    assert [m["content"] for m in first["messages"]] == [turns[0]]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    answer_one = second["messages"][1]["content"]
    assert (
        answer_one.startswith("echo " + turns[0][:20])
        and second["messages"][2]["content"] == turns[1]
    )
    with sqlite3.connect(db) as conn:
        answer, metadata = conn.execute("SELECT answer, metadata FROM samples").fetchone()
    stored = json.loads(metadata)["turn_answers"]
    assert (
        stored[0] == answer_one
        and stored[1] == answer
        and answer.startswith("echo " + turns[1][:20])
    )
