"""The run's spending cap (``--max-tokens`` / ``--max-cost``). Pure bookkeeping.

A task is admitted while the cap is not yet reached; tokens are charged as answers
come in, so the run can overshoot by at most the calls in flight at the moment the
cap is hit, and then stops cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Budget:
    max_tokens: int | None = None
    max_cost: float | None = None
    tokens: int = 0
    cost: float = 0.0

    def charge(self, tokens: int, cost: float) -> None:
        self.tokens += tokens
        self.cost += cost

    def exhausted(self) -> str | None:
        """Why the budget is spent, or None while there is room."""
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"token budget reached ({self.tokens:,} of {self.max_tokens:,} tokens)"
        if self.max_cost is not None and self.cost >= self.max_cost:
            return f"cost budget reached (${self.cost:.4f} of ${self.max_cost:.4f})"
        return None
