"""Multi-turn items: the model's own answers feed the later user turns.

An item whose ``metadata["turns"]`` holds more than one user turn is asked turn by
turn on one client; each request carries the conversation so far (chat messages, or
a plain ``User:/Assistant:`` transcript in completion mode). The stored answer is the
last turn's; every turn's answer is kept in the sample's metadata.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import GenerateRequest, GenerateResult, Message


def followups(metadata: dict[str, object]) -> list[str]:
    turns = metadata.get("turns")
    if not isinstance(turns, list):
        return []
    return [str(t) for t in turns[1:]]


def next_turn(request: GenerateRequest, answer: str, user: str) -> GenerateRequest:
    """The request for the next user turn, given the answer to this one. Pure."""
    if request.prompt is not None:
        prompt = f"{request.prompt} {answer.strip()}\nUser: {user}\nAssistant:"
        return dataclasses.replace(request, prompt=prompt)
    messages = (*request.messages, Message("assistant", answer), Message("user", user))
    return dataclasses.replace(request, messages=messages)


async def generate_turns(
    client: ModelClient, request: GenerateRequest, later_turns: Sequence[str]
) -> tuple[GenerateResult, list[str]]:
    """Ask the first turn, then each later one; the last result with the usage and
    latency of all turns summed, and every turn's answer in order."""
    result = await client.generate(request)
    answers = [result.text]
    usage, latency = result.usage, result.latency_s
    for user in later_turns:
        request = next_turn(request, result.text, user)
        result = await client.generate(request)
        answers.append(result.text)
        usage, latency = usage + result.usage, latency + result.latency_s
    return dataclasses.replace(result, usage=usage, latency_s=latency), answers
