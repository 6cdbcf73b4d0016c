"""What the mock upstream answers: OpenAI and Anthropic response bodies and stream
events, built from the request as plain data (no I/O; the server in mock_upstream.py
writes them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Shaped:
    """A plain OpenAI answer chosen per request by a ``shape`` function (the traffic
    simulator's lengths): the text, the usage it reports, and its finish reason."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"


def openai_body(
    path: str, request: dict[str, Any], text: Callable[[dict[str, Any]], str]
) -> dict[str, Any]:
    """A chat completion (or a ``/completions`` text completion) with ``n`` choices."""
    n = int(request.get("n", 1))
    completion = path.endswith("/completions") and not path.endswith("chat/completions")
    choices = []
    for i in range(n):
        answer = text(request) if n == 1 else f"{text(request)} #{i}"
        if completion:
            choices.append({"index": i, "text": answer, "finish_reason": "stop"})
        else:
            choices.append(
                {
                    "index": i,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": answer},
                }
            )
    return {
        "id": "cmpl-mock1" if completion else "chatcmpl-mock1",
        "object": "text_completion" if completion else "chat.completion",
        "created": 0,
        "model": request.get("model", "mock"),
        "choices": choices,
        "usage": {"prompt_tokens": 7, "completion_tokens": 5 * n, "total_tokens": 7 + 5 * n},
    }


def shaped_body(path: str, request: dict[str, Any], shaped: Shaped) -> dict[str, Any]:
    """One choice with the text, usage and finish reason a ``shape`` function chose."""
    chat = path.endswith("chat/completions")
    choice: dict[str, Any] = {"index": 0, "finish_reason": shaped.finish_reason}
    if chat:
        choice["message"] = {"role": "assistant", "content": shaped.text}
    else:
        choice["text"] = shaped.text
    usage = {
        "prompt_tokens": shaped.prompt_tokens,
        "completion_tokens": shaped.completion_tokens,
        "total_tokens": shaped.prompt_tokens + shaped.completion_tokens,
    }
    kind = "chat.completion" if chat else "text_completion"
    model = request.get("model", "mock")
    return {
        "id": "chatcmpl-mock1" if chat else "cmpl-mock1",
        "object": kind,
        "created": 0,
        "model": model,
        "choices": [choice],
        "usage": usage,
    }


def anthropic_body(request: dict[str, Any], reply: str) -> dict[str, Any]:
    return {
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "mock"),
        "content": [{"type": "text", "text": reply}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 5},
    }


def stream_events(
    request: dict[str, Any], text: str, anthropic: bool, error: dict[str, Any] | None = None
) -> list[str]:
    """The SSE events streaming ``text`` word by word; with ``error``, two deltas and
    then the error event a provider ends a failing stream with."""
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    events = anthropic_events(request, pieces) if anthropic else openai_events(request, pieces)
    if error is not None:
        ending = (
            f"event: error\ndata: {json.dumps({'type': 'error', **error})}\n\n"
            if anthropic
            else f"data: {json.dumps(error)}\n\n"
        )
        events = [*events[: 4 if anthropic else 2], ending]
    return events


def openai_events(request: dict[str, Any], pieces: list[str]) -> list[str]:
    chat = "messages" in request
    head = {
        "id": "chatcmpl-mock" if chat else "cmpl-mock",
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": 0,
        "model": request.get("model", "mock"),
    }
    out = []
    if chat:  # the real API opens with the role
        opening = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
        out.append(f"data: {json.dumps({**head, 'choices': [opening]})}\n\n")
    for piece in pieces:
        choice: dict[str, Any] = {"index": 0, "finish_reason": None}
        if chat:
            choice["delta"] = {"content": piece}
        else:
            choice["text"] = piece
        out.append(f"data: {json.dumps({**head, 'choices': [choice]})}\n\n")
    last: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
    last["delta" if chat else "text"] = {} if chat else ""
    out.append(f"data: {json.dumps({**head, 'choices': [last]})}\n\n")
    usage = {"prompt_tokens": 7, "completion_tokens": len(pieces), "total_tokens": 0}
    out.append(f"data: {json.dumps({**head, 'choices': [], 'usage': usage})}\n\n")
    out.append("data: [DONE]\n\n")
    return out


def anthropic_events(request: dict[str, Any], pieces: list[str]) -> list[str]:
    def ev(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"

    out = [
        ev(
            "message_start",
            {
                "message": {
                    "id": "msg_mock",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": request.get("model", "mock"),
                    "stop_reason": None,
                    "usage": {"input_tokens": 7, "output_tokens": 1},
                }
            },
        ),
        ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    out += [
        ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}})
        for p in pieces
    ]
    out += [
        ev("content_block_stop", {"index": 0}),
        ev(
            "message_delta",
            {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": len(pieces)}},
        ),
        ev("message_stop", {}),
    ]
    return out
