"""The ``writing`` suite: creative writing, compared by judges rather than tests.

Items come from Arena-Hard v2's 250 ``creative_writing`` prompts and MT-Bench's
``writing`` and ``roleplay`` questions (10 each). Each MT-Bench question gives two
items: its first turn alone, and the two-turn conversation (``.../turn-2``), where the
runner feeds the model's own first answer back before asking the second turn (see
``bench/turns.py``). The prompts are read through the loaders, never copied here.

The per-sample scorer only records that an answer came back and its length; the
comparison is the judges' (``bench/writing/``), after all models have answered.
"""

from __future__ import annotations

from benchwarden.bench.data import fetch, read_jsonl
from benchwarden.bench.suite import Item, Score, Suite
from benchwarden.models.types import Message

WRITING_TAG = "writing"
MT_BENCH_CATEGORIES = ("writing", "roleplay")


def _item(item_id: str, turns: list[str], **meta: object) -> Item:
    first = turns[0]
    return Item(
        id=item_id,
        messages=(Message("user", first),),
        prompt=f"User: {first}\nAssistant:",
        stop=("\nUser:",),
        # ``turns`` are the user's turns; the runner asks the ones after the first
        # with the model's earlier answers in the conversation.
        metadata={"turns": list(turns), **meta},
    )


def writing_items() -> list[Item]:
    items = [
        _item(f"arena-hard/{row['uid']}", [row["prompt"]], source="arena-hard-v2")
        for row in read_jsonl(fetch("arena_hard_v2_question.jsonl"))
        if row.get("category") == "creative_writing"
    ]
    for row in read_jsonl(fetch("mt_bench_question.jsonl")):
        if row.get("category") not in MT_BENCH_CATEGORIES:
            continue
        turns = [str(t) for t in row["turns"]]
        qid, category = row["question_id"], row["category"]
        items.append(_item(f"mt-bench/{qid}", turns[:1], source="mt-bench", category=category))
        if len(turns) > 1:
            items.append(
                _item(f"mt-bench/{qid}/turn-2", turns[:2], source="mt-bench", category=category)
            )
    return items


class AnsweredScorer:
    """1.0 when a non-empty answer came back; the quality is for the judges."""

    name = "answered (judged pairwise)"

    def __call__(self, item: Item, answer: str) -> Score:
        text = answer.strip()
        return Score(
            1.0 if text else 0.0,
            bool(text),
            {"chars": len(text), "words": len(text.split())},
        )


WRITING = Suite(
    name="writing",
    description="Creative writing: Arena-Hard v2 creative_writing (250) + MT-Bench "
    "writing/roleplay (20, both turns); judged pairwise with --judge",
    load=writing_items,
    scorer=AnsweredScorer(),
    version="1",
    max_tokens=1024,
    tags=(WRITING_TAG,),
    source="benchwarden.bench.suites.writing",
)
