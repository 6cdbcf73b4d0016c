"""``smoke``: a handful of short questions with one right answer, scored exactly.

Small enough for tests and the demo; each item has a chat form and a Q/A form for
base models in completion mode.
"""

from __future__ import annotations

from benchwarden.bench.scoring import Includes
from benchwarden.bench.suite import Item, Suite
from benchwarden.models.types import Message

_QUESTIONS: list[tuple[str, str, list[str]]] = [
    ("capital-japan", "What is the capital city of Japan?", ["Tokyo"]),
    ("capital-france", "What is the capital city of France?", ["Paris"]),
    ("two-plus-two", "What is 2 + 2?", ["4", "four"]),
    ("days-in-week", "How many days are there in a week?", ["7", "seven"]),
    ("opposite-hot", "What is the opposite of hot?", ["cold"]),
    ("sky-color", "What color is the sky on a clear day?", ["blue"]),
    ("legs-spider", "How many legs does a spider have?", ["8", "eight"]),
    ("freezing-water", "At how many degrees Celsius does water freeze?", ["0", "zero"]),
]


def smoke_items() -> list[Item]:
    return [
        Item(
            id=item_id,
            messages=(Message("user", f"{question} Answer in a few words."),),
            prompt=f"Q: {question}\nA:",
            target=targets,
            stop=("\n",),
        )
        for item_id, question, targets in _QUESTIONS
    ]


SMOKE = Suite(
    name="smoke",
    description="8 short factual questions, scored by exact word match",
    load=smoke_items,
    scorer=Includes(),
    version="1",
    max_tokens=24,
    tags=("smoke",),
)
