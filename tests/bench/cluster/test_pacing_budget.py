"""The cluster's pacing budget (the actor's body) in this process, without Ray: one
schedule for every caller of a model, tickets kept until the answer's token count is
in, refusals and deadlines answered as values (they cross a process boundary)."""

from __future__ import annotations

import asyncio
import time

from benchwarden.bench.cluster.pacing import PacingBudget
from benchwarden.models.types import Usage

KEY = ("http://h/v1", "0123456789abcdef", "m")
LABEL = "http://h/v1 m"
LIMITS = {
    "x-ratelimit-limit-requests": "600",
    "x-ratelimit-remaining-requests": "599",
    "x-ratelimit-reset-requests": "100ms",
}


async def advertised(budget: PacingBudget) -> None:
    first = await budget.admit(KEY, LABEL, {"requests": 1.0}, 5.0)
    assert first.number is not None and first.state.mode == "start"
    await budget.succeeded(first.number, None, KEY, LABEL, [LIMITS])  # headers come along


async def test_callers_share_one_schedule() -> None:
    """Twelve callers at once (as from many workers) are spaced to 99% of 600/min."""
    budget = PacingBudget()
    await advertised(budget)
    started = time.monotonic()
    admissions = await asyncio.gather(
        *(budget.admit(KEY, LABEL, {"requests": 1.0}, 10.0) for _ in range(12))
    )
    elapsed = time.monotonic() - started
    assert all(a.number is not None for a in admissions)
    assert len({a.number for a in admissions}) == 12
    # The client's bucket holds half a second (5 requests); the other 7 wait their turn.
    assert elapsed >= 7 / (600 / 60 * 0.99) * 0.9, elapsed
    state = admissions[-1].state
    assert state.mode == "advertised" and state.paced and state.rate is not None
    assert abs(state.rate * 60 - 594) < 1


async def test_a_turn_past_the_deadline_is_an_answer_not_an_error() -> None:
    budget = PacingBudget()
    await advertised(budget)
    await budget.pause(KEY, LABEL, 30.0)
    late = await budget.admit(KEY, LABEL, {"requests": 1.0}, 1.0)
    assert late.number is None and late.late_s > 25


async def test_tickets_outcomes_and_states() -> None:
    budget = PacingBudget()
    await advertised(budget)
    a = await budget.admit(KEY, LABEL, {"requests": 1.0, "tokens": 100.0}, 5.0)
    b = await budget.admit(KEY, LABEL, {"requests": 1.0}, 5.0)
    c = await budget.admit(KEY, LABEL, {"requests": 1.0}, 5.0)
    assert a.number is not None and b.number is not None and c.number is not None
    await budget.succeeded(a.number, None, KEY, LABEL, [])  # a stream: success first...
    await budget.charge(a.number, Usage(input_tokens=10, output_tokens=5))  # ...count later
    await budget.failed(b.number, KEY, LABEL, [])
    state = await budget.refused(c.number, 2.0, KEY, LABEL, [])
    assert state.refusals == 1 and state.accepted == 2  # the first call and a
    # A refusal pauses every caller until Retry-After.
    late = await budget.admit(KEY, LABEL, {"requests": 1.0}, 0.5)
    assert late.number is None and late.late_s > 1.0
    states = await budget.states()
    assert list(states) == [LABEL] and states[LABEL].refusals == 1
    # Each model (and key) has its own schedule.
    other = await budget.admit(("http://h/v1", "", "m"), "other", {"requests": 1.0}, 0.5)
    assert other.number is not None and not other.waited
