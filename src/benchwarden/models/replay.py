"""The ``replay`` provider: answers recorded elsewhere, served through the model layer.

``-m replay:FILE`` (or a models-file entry with ``provider = "replay"`` and ``path``)
answers each request from a CSV/JSONL file of recorded answers (see replay_file.py
for its columns and matching), so every suite scores them exactly as it scores live
calls. A missing answer is an error naming the item (``answer_missing``: recorded as
that sample's error, the rest of the run goes on), never a silent skip.

Every answer carries its provenance: the endpoint is ``replay:<file>`` and the
result's metadata holds the file, its sha256, the line and how the row was matched.
Usage is zero (nothing was called) unless the file says otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import ModelError, ModelUnavailable
from benchwarden.models.replay_file import (
    ReplayFile,
    ReplayFileError,
    ReplayMiss,
    load_replay_file,
)
from benchwarden.models.types import (
    Choice,
    FinishReason,
    GenerateRequest,
    GenerateResult,
    Mode,
    StreamDelta,
    Usage,
)

PREFIX = "replay:"  # also the model-name prefix (registry.REPLAY_PREFIX)


class AnswerMissing(ModelError):
    """The replay file has no usable answer for this item (one sample's error)."""

    kind = "answer_missing"


def lookup_prompt(request: GenerateRequest) -> str | None:
    """What a recorded prompt is compared with: the last user turn (chat), or the raw
    prompt (completion mode)."""
    if request.prompt is not None and (request.mode is Mode.COMPLETION or not request.messages):
        return request.prompt
    users = [m for m in request.messages if m.role == "user"]
    return users[-1].content if users else request.prompt


class ReplayTransport:
    """One file's answers. Loading happens here, so a broken file stops the model
    before any item is asked (ModelUnavailable, naming the file and the line)."""

    def __init__(self, spec: ModelSpec) -> None:
        self.name = spec.name
        self.mode = spec.mode
        path = Path(spec.upstream_model)
        try:
            self.file: ReplayFile = load_replay_file(path)
        except ReplayFileError as exc:
            raise ModelUnavailable(
                spec.name, str(exc), hint="Fix the replay file (see `benchwarden models --help`)."
            ) from exc
        self.endpoint = f"{PREFIX}{path}"

    def _answer(self, request: GenerateRequest) -> GenerateResult:
        # A conversation's later turns are found by their own user text: the item's id
        # names its first turn.
        later_turn = sum(1 for m in request.messages if m.role == "user") > 1
        item_id = None if later_turn else request.item_id
        try:
            found = self.file.find(item_id, lookup_prompt(request))
        except ReplayMiss as exc:
            raise AnswerMissing(
                self.name,
                str(exc),
                hint="Check the replay file, or leave the item out of the run.",
            ) from exc
        text = found.recorded.answer or ""
        return GenerateResult(
            model=self.name,
            choices=tuple(Choice(text, FinishReason.STOP) for _ in range(request.n)),
            usage=Usage(),
            latency_s=0.0,
            mode=request.mode or self.mode,
            endpoint=self.endpoint,
            metadata={
                "replay": {
                    "file": str(self.file.path),
                    "sha256": self.file.sha256,
                    "line": found.recorded.line,
                    "matched_by": found.matched_by,
                }
            },
        )

    async def attempt(self, request: GenerateRequest, timeout_s: float) -> GenerateResult:
        return self._answer(request)

    async def attempt_stream(
        self, request: GenerateRequest, timeout_s: float
    ) -> AsyncIterator[StreamDelta]:
        result = self._answer(request)
        yield StreamDelta(text=result.text)
        yield StreamDelta(finish_reason=result.finish_reason, usage=result.usage)

    async def aclose(self) -> None:
        return None
