"""The judges' instructions (our own words) and the requests built from them. Pure.

Each prompt carries a version stored with every judgment: change the wording, bump
the version, and stored judgments say which wording they answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from benchwarden.bench.writing.verdicts import GRADES, PAIRWISE_VERDICTS
from benchwarden.models.types import GenerateRequest, Message

PAIRWISE_VERSION: Final = "writing-pairwise-v1"
SINGLE_VERSION: Final = "writing-single-v1"
# The verdict first, then room for a short reason.
JUDGE_MAX_TOKENS: Final = 64
# Very long answers are cut for the judge (the cut is marked).
ANSWER_CHARS: Final = 6000
REPLY_EXCERPT_CHARS: Final = 200

PAIRWISE_SYSTEM: Final = (
    "You judge creative writing. You get a writing request (sometimes a conversation "
    "of several turns) and the replies of two assistants, A and B. Decide whose final "
    "reply serves the request better: it does what was asked, in the form, tone and "
    "length asked for; it is vivid, original and carefully made; in a conversation it "
    "builds on what came before. Length is not a merit in itself: when two replies are "
    "equally good, they are equal. Which reply comes first tells you nothing about its "
    "quality.\n"
    "Answer with exactly one verdict on the first line:\n"
    "[[A>>B]] A is much better; [[A>B]] A is better; [[A=B]] they are about equal; "
    "[[B>A]] B is better; [[B>>A]] B is much better.\n"
    "After the verdict you may add one short sentence of reason."
)

SINGLE_SYSTEM: Final = (
    "You grade creative writing. You get a writing request (sometimes a conversation "
    "of several turns) and one assistant's replies. Grade the final reply from 1 to 10: "
    "1-2 ignores or fails the request; 3-4 weak, with major problems of content or "
    "form; 5-6 adequate but plain; 7-8 good, well made and on target; 9-10 excellent, "
    "original and memorable. Length is not a merit in itself.\n"
    "Answer with the grade in double brackets on the first line, for example [[6]], "
    "then at most one short sentence of reason."
)


def _cut(text: str) -> str:
    text = text.strip() or "(empty reply)"
    return text if len(text) <= ANSWER_CHARS else text[:ANSWER_CHARS] + " [... cut]"


def _conversation(turns: Sequence[str], answers: Sequence[str], who: str) -> str:
    """User turns interleaved with one assistant's answers (answers[i] follows turns[i])."""
    parts = []
    for i, user in enumerate(turns):
        parts.append(f"User:\n<<<\n{user.strip()}\n>>>")
        if i < len(answers):
            parts.append(f"{who}:\n<<<\n{_cut(answers[i])}\n>>>")
    return "\n".join(parts)


def pairwise_request(
    turns: Sequence[str],
    answers_a: Sequence[str],
    answers_b: Sequence[str],
    purpose: str | None,
) -> GenerateRequest:
    if len(turns) == 1:
        user = (
            f"Request:\n<<<\n{turns[0].strip()}\n>>>\n\n"
            f"Assistant A's reply:\n<<<\n{_cut(answers_a[-1])}\n>>>\n\n"
            f"Assistant B's reply:\n<<<\n{_cut(answers_b[-1])}\n>>>"
        )
    else:
        user = (
            "Conversation with assistant A:\n"
            + _conversation(turns, answers_a, "Assistant A")
            + "\n\nConversation with assistant B:\n"
            + _conversation(turns, answers_b, "Assistant B")
            + "\n\nJudge the two final replies."
        )
    return GenerateRequest(
        messages=(Message("user", user + "\n\nVerdict:"),),
        system=PAIRWISE_SYSTEM,
        max_tokens=JUDGE_MAX_TOKENS,
        temperature=0.0,
        seed=0,
        purpose=purpose,
        # Embedded judges are held to the scale by a grammar; others follow the words.
        choices=tuple(f"[[{v}]]" for v in PAIRWISE_VERDICTS),
    )


def single_request(
    turns: Sequence[str], answers: Sequence[str], purpose: str | None
) -> GenerateRequest:
    user = _conversation(turns, answers, "Assistant") + "\n\nGrade the final reply (1-10):"
    return GenerateRequest(
        messages=(Message("user", user),),
        system=SINGLE_SYSTEM,
        max_tokens=JUDGE_MAX_TOKENS,
        temperature=0.0,
        seed=0,
        purpose=purpose,
        choices=tuple(f"[[{g}]]" for g in GRADES),
    )
