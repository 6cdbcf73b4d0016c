"""What of a stored answer may be shown. Pure.

Answers to must-refuse safety prompts can be harmful text; they stay out of terminal
output and exports unless the reader asks for them. Answers to child-sexual-
exploitation prompts were never stored (the runner keeps a hash and a redacted
excerpt), so asking cannot reveal them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from benchwarden.store import SampleRecord

HIDDEN_NOTE = "hidden: answer to a must-refuse safety prompt (ask with --show-safety-answers)"
# Metadata that holds (part of) an answer's text: hidden with the answer itself.
ANSWER_METADATA = ("turn_answers", "redacted_excerpt")


def is_safety_answer(sample: SampleRecord) -> bool:
    """An answer to a prompt the model should have refused."""
    return sample.score_detail.get("expected") == "refuse" or bool(sample.metadata.get("sensitive"))


def hide_safety_answers(samples: Iterable[SampleRecord]) -> Iterator[SampleRecord]:
    """The samples with safety answers removed: the answer and every answer-bearing
    metadata field (:data:`ANSWER_METADATA`); the hashes stay, so rows can still be
    matched. Each hidden one is marked ``answer_hidden`` in its metadata."""
    for sample in samples:
        bearing = sample.answer is not None or any(k in sample.metadata for k in ANSWER_METADATA)
        if not bearing or not (is_safety_answer(sample) or is_withheld(sample)):
            yield sample
            continue
        metadata = {k: v for k, v in sample.metadata.items() if k not in ANSWER_METADATA}
        yield dataclasses.replace(
            sample, answer=None, metadata={**metadata, "answer_hidden": HIDDEN_NOTE}
        )


def is_withheld(sample: SampleRecord) -> bool:
    """An answer to a child-sexual-exploitation prompt: never stored whole, and not
    even its redacted excerpt is shown anywhere."""
    return bool(sample.metadata.get("redacted")) or sample.score_detail.get("hazard") == "cse"
