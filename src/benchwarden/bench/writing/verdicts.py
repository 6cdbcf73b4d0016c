"""The verdict scales, parsing a judge's reply, and combining the two orders. Pure.

Pairwise scale (slot A is the answer shown first): ``A>>B`` (A much better), ``A>B``,
``A=B`` (a tie), ``B>A``, ``B>>A``; as numbers +2 .. -2 for slot A.

**The two orders.** Every pair (X, Y) is judged once with X in slot A and once with Y
in slot A. Seen from X, the first verdict gives ``s1`` and the second ``s2`` (its sign
flipped). The combined verdict:

* either order unparsed (or failed): no combined verdict; the pair is left out of the
  ratings and counted as unusable (it is never guessed);
* the orders disagree in direction (``s1 * s2 < 0``: the judge preferred whichever
  answer sat in the same slot): a **tie**, flagged ``inconsistent``, the judge's
  position bias showing;
* otherwise the sum ``s1 + s2`` decides: > 0 X wins, < 0 Y wins, 0 a tie; its size
  gives the strength (|sum| >= 3 "much better").

Single-answer grades are integers 1-10.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

PAIRWISE_VERDICTS: Final = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
VERDICT_VALUE: Final = {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2}
GRADES: Final = tuple(str(g) for g in range(1, 11))

# Longest first, so "A>>B" is never read as "A>B".
_CORE = (
    r"(A\s*>>\s*B|B\s*>>\s*A|A\s*>\s*B|B\s*>\s*A|A\s*=\s*B|B\s*=\s*A"
    r"|A\s*<<\s*B|B\s*<<\s*A|A\s*<\s*B|B\s*<\s*A)"
)
_BRACKETED = re.compile(r"\[\[\s*" + _CORE + r"\s*\]\]", re.I)
_BARE = re.compile(r"(?<![\w>=<])" + _CORE + r"(?![\w>=<])", re.I)
_GRADE_BRACKETED = re.compile(r"\[\[\s*(10|[1-9])(?:\s*/\s*10)?\s*\]\]")
_GRADE_LEAD = re.compile(r"^\W*(?:rating|score|grade)?\s*[:=]?\s*(10|[1-9])(?:\s*/\s*10)?\b", re.I)


def _normalise(raw: str) -> str:
    text = re.sub(r"\s+", "", raw).upper()
    mirrored = {"B=A": "A=B", "A<<B": "B>>A", "B<<A": "A>>B", "A<B": "B>A", "B<A": "A>B"}
    return mirrored.get(text, text)


def parse_pairwise(reply: str) -> str | None:
    """The verdict a reply names, or None when it names none or several different ones.

    A bracketed ``[[A>B]]`` anywhere wins; otherwise a bare verdict on the first
    non-empty line. Never guesses from prose."""
    found = {_normalise(m.group(1)) for m in _BRACKETED.finditer(reply)}
    if not found:
        first = next((line for line in reply.splitlines() if line.strip()), "")
        found = {_normalise(m.group(1)) for m in _BARE.finditer(first)}
    if len(found) != 1:
        return None
    (verdict,) = found
    return verdict if verdict in VERDICT_VALUE else None


def parse_grade(reply: str) -> int | None:
    """A 1-10 grade: ``[[7]]`` anywhere (one value only), else a number leading the
    first non-empty line ("7", "Rating: 7/10"). None otherwise."""
    found = {int(m.group(1)) for m in _GRADE_BRACKETED.finditer(reply)}
    if not found:
        first = next((line for line in reply.splitlines() if line.strip()), "")
        lead = _GRADE_LEAD.match(first.strip())
        found = {int(lead.group(1))} if lead else set()
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class Combined:
    """One pair's verdict from both orders, seen from the first model (X).

    ``outcome`` is X's score (1 win, 0.5 tie, 0 loss); None when an order is missing.
    ``margin`` is ``s1 + s2`` (-4..4), 0 for inconsistent pairs."""

    outcome: float | None
    margin: int
    inconsistent: bool
    label: str  # "X>>Y", "X>Y", "X=Y", "Y>X", "Y>>X" or "unusable"


def combine(x_first: str | None, y_first: str | None) -> Combined:
    """Combine the verdict with X in slot A (``x_first``) and the verdict with Y in
    slot A (``y_first``) by the rule in the module docstring."""
    if x_first not in VERDICT_VALUE or y_first not in VERDICT_VALUE:
        return Combined(None, 0, False, "unusable")
    s1, s2 = VERDICT_VALUE[x_first], -VERDICT_VALUE[y_first]
    if s1 * s2 < 0:
        return Combined(0.5, 0, True, "X=Y")
    margin = s1 + s2
    if margin == 0:
        return Combined(0.5, 0, False, "X=Y")
    strong = abs(margin) >= 3
    if margin > 0:
        return Combined(1.0, margin, False, "X>>Y" if strong else "X>Y")
    return Combined(0.0, margin, False, "Y>>X" if strong else "Y>X")
