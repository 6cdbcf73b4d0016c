"""How an item becomes a request for a given model. Pure.

Chat models get the item's messages; base models (completion mode) get its raw
prompt, or a plain transcript of its messages, with the item's stop sequences.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchwarden.bench.plan import Task
from benchwarden.bench.suite import Item, Suite
from benchwarden.models.types import GenerateRequest, Mode


@dataclass(frozen=True, slots=True)
class SamplingOptions:
    """Run-wide overrides; None keeps the suite's or the provider's default."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None


def build_request(
    item: Item, suite: Suite, task: Task, mode: Mode, options: SamplingOptions, purpose: str
) -> GenerateRequest:
    completion = mode is Mode.COMPLETION
    use_prompt = item.prompt is not None and (completion or not item.messages)
    return GenerateRequest(
        messages=() if use_prompt else item.messages,
        prompt=item.prompt if use_prompt else None,
        system=item.system,
        stop=item.stop if completion else (),
        max_tokens=options.max_tokens or suite.max_tokens,
        temperature=options.temperature,
        top_p=options.top_p,
        seed=task.seed,
        epoch=task.epoch,
        purpose=purpose,
        mode=mode,
        item_id=item.id,
    )
