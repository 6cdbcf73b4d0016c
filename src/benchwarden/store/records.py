"""Plain records the store reads and writes, and the one error type it raises.

They carry no database handles, so the runner can build them anywhere (threads, worker
processes) and hand them to :class:`~benchwarden.store.store.Store` in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RUN_STATUSES = ("running", "complete", "stopped", "failed")
SAMPLE_STATUSES = ("ok", "error")


class StoreError(Exception):
    """Anything the store cannot do. The message says what to do and never holds a password."""


@dataclass(slots=True)
class RunRecord:
    """One evaluation run: what was asked for, under which purpose, and how it ended."""

    run_id: str
    purpose: str
    seed: int
    suites: list[str]
    models: list[str]
    settings: dict[str, Any]
    command: str = ""
    benchwarden_version: str = ""
    status: str = "running"
    note: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class SampleRecord:
    """One answer (or one failure to get an answer) for (model, suite, item, epoch)."""

    run_id: str
    model: str
    suite: str
    item_id: str
    epoch: int
    status: str
    answer: str | None = None
    answer_sha256: str | None = None
    score: float | None = None
    passed: bool | None = None
    score_detail: dict[str, Any] = field(default_factory=dict)
    error_kind: str | None = None
    error_message: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float | None = None
    cost: float = 0.0
    endpoint: str | None = None
    purpose: str | None = None
    mode: str | None = None
    finish_reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """The sample's identity inside its run: (model, suite, item_id, epoch)."""
        return (self.model, self.suite, self.item_id, self.epoch)


JUDGMENT_STATUSES = ("ok", "unparsed", "error")


@dataclass(slots=True)
class JudgmentRecord:
    """One judge call on writing answers: a pairwise verdict for one order (``model_a``
    shown first) or, with ``kind == "single"`` and ``model_b == ""``, one grade.

    ``verdict`` is the parsed verdict ("A>B", ..., or "7"); None when the reply named
    none (``status`` 'unparsed') or the call failed ('error'). Never guessed."""

    run_id: str
    suite: str
    item_id: str
    epoch: int
    judge: str
    kind: str  # "pairwise" or "single"
    model_a: str
    model_b: str
    status: str
    prompt_version: str
    verdict: str | None = None
    reply_excerpt: str | None = None
    error_message: str | None = None
    answer_a_sha256: str | None = None
    answer_b_sha256: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    created_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, int, str, str, str, str]:
        """Identity inside its run: (suite, item_id, epoch, judge, kind, model_a, model_b)."""
        return (
            self.suite,
            self.item_id,
            self.epoch,
            self.judge,
            self.kind,
            self.model_a,
            self.model_b,
        )
