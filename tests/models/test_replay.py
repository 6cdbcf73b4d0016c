"""The replay provider on real files: matching by id and by prompt, the errors that name
the item or the file's line, provenance, and the model layer around it (no cache)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from benchwarden.models.config import ConfigError, parse_config
from benchwarden.models.errors import ModelUnavailable
from benchwarden.models.factory import open_client
from benchwarden.models.registry import resolve
from benchwarden.models.replay import AnswerMissing
from benchwarden.models.types import GenerateRequest, Message, Mode


def _ask(model: str, prompt: str, item_id: str | None = None, **kw: object) -> str:
    async def go() -> str:
        client = open_client(resolve(model))
        try:
            request = GenerateRequest.from_prompt(prompt, item_id=item_id, **kw)
            return (await client.generate(request)).text
        finally:
            await client.aclose()

    return asyncio.run(go())


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "answers.csv"
    path.write_text(text, encoding="utf-8")
    return f"replay:{path}"


def test_by_id_then_by_prompt_and_a_missing_item_is_named(tmp_path: Path) -> None:
    model = _csv(
        tmp_path,
        'id,prompt,completion\nq1,"Say hi,  please",Hi!\nz9,Name a colour,"Blue\nand green"\n',
    )
    assert _ask(model, "Say hi, please", item_id="q1") == "Hi!"  # id, prompt checked
    assert _ask(model, "  Name a   colour ", item_id="other") == "Blue\nand green"  # prompt
    with pytest.raises(AnswerMissing, match=r"item 'q7'.*looked up by id and prompt"):
        _ask(model, "Never recorded", item_id="q7")


def test_an_id_from_another_dataset_is_an_error_not_a_wrong_answer(tmp_path: Path) -> None:
    model = _csv(tmp_path, "id,prompt,answer\n1,What is 2 + 2?,4\n")
    with pytest.raises(AnswerMissing, match=r"item '1'.*line 2.*records another prompt"):
        _ask(model, "What is the capital of France?", item_id="1")


def test_jsonl_null_is_no_answer_and_empty_is_an_empty_answer(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    rows = [{"item_id": 1, "response": None}, {"item_id": 2, "response": ""}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(AnswerMissing, match=r"item '1'.*line 1.*no 'response'"):
        _ask(f"replay:{path}", "x", item_id="1")
    assert _ask(f"replay:{path}", "x", item_id="2") == ""


def test_a_prompt_recorded_twice_with_different_answers_is_ambiguous(tmp_path: Path) -> None:
    model = _csv(tmp_path, "prompt,answer\nSame?,yes\nSame?,no\nTwice?,a\nTwice?,a\n")
    with pytest.raises(AnswerMissing, match="recorded 2 times with different answers"):
        _ask(model, "Same?")
    assert _ask(model, "Twice?") == "a"  # the same answer twice is not ambiguous


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "id,prompt\n1,x\n", "no answer column"),
        ("a.csv", "answer\nx\n", "answers cannot be matched"),
        ("a.csv", "id,answer\n1,x\n1,y\n", "line 3: id '1' again"),
        ("a.jsonl", '{"id": 1, "answer": "x"}\nnot json\n', "line 2: not JSON"),
        ("a.jsonl", '{"id": 1, "answer": ["x"]}\n', "'answer' must be text"),
        ("a.txt", "x", "is .csv or .jsonl"),
    ],
)
def test_a_broken_file_stops_the_model_naming_file_and_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ModelUnavailable, match=message):
        open_client(resolve(f"replay:{path}"))


def test_missing_file_is_refused_at_resolve(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="no replay file"):
        resolve(f"replay:{tmp_path / 'nope.csv'}")


def test_provenance_and_later_turns_and_completion_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'id,prompt,answer\nc1,First?,one\n,Second?,two\nraw,"User: hi\nAssistant:",yo\n'
    )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    async def go() -> None:
        client = open_client(resolve(f"replay:{path}"))
        result = await client.generate(GenerateRequest.from_prompt("First?", item_id="c1"))
        assert result.endpoint == client.endpoint == f"replay:{path}"
        assert result.metadata["replay"] == {
            "file": str(path),
            "sha256": digest,
            "line": 2,
            "matched_by": "id",
        }
        assert not result.cached and result.usage.total_tokens == 0
        # A later turn is found by its own text, not by the item's id.
        later = GenerateRequest(
            messages=(
                Message("user", "First?"),
                Message("assistant", "one"),
                Message("user", "Second?"),
            ),
            item_id="c1",
        )
        assert (await client.generate(later)).text == "two"
        chunks = [d.text async for d in client.stream(later)]
        assert "".join(chunks) == "two"
        raw = GenerateRequest(prompt="User: hi\nAssistant:", mode=Mode.COMPLETION)
        assert (await client.generate(raw)).text == "yo"
        await client.aclose()

    asyncio.run(go())


def test_models_file_entry_path_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    specs = parse_config(
        '[models."vendor"]\nprovider = "replay"\npath = "sub/v.jsonl"\n'
        'purposes = ["benchmarking"]\n',
        str(tmp_path / "models.toml"),
    )
    spec = specs["vendor"]
    assert spec.provider == "replay" and spec.upstream_model == str(tmp_path / "sub" / "v.jsonl")
    assert spec.purposes == ("benchmarking",)
    with pytest.raises(ConfigError, match="field 'path' must be a str"):
        parse_config('[models."v"]\nprovider = "replay"\n', "m.toml")
