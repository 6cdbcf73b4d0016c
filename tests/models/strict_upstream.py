"""A loopback upstream that plays reasoning models and enforces the real APIs' documented
parameter rules, answering a broken rule with the real API's 400 body.

- OpenAI (Chat Completions, Responses), o-series / GPT-5 models: ``max_tokens`` is
  refused (``max_completion_tokens``), ``temperature`` but the default 1 is refused, as
  is ``top_p``; Responses wants ``max_output_tokens`` >= 16.
- Anthropic Messages with ``thinking``: ``budget_tokens`` >= 1024 and < ``max_tokens``;
  ``temperature`` unset or 1; ``top_p`` unset or >= 0.95; no forced tool use.

The error messages are those the APIs send (as seen in public bug reports). Answers
are right for the ``smoke`` suite's questions, so a run on it can be checked whole.
"""

from __future__ import annotations

from typing import Any

from tests.models.scripted_server import Recorded, Reply, ScriptedServer

ANSWERS = {
    "Japan": "Tokyo",
    "France": "Paris",
    "2 + 2": "4",
    "week": "7",
    "hot": "cold",
    "sky": "blue",
    "spider": "8",
    "freeze": "0",
}


def openai_error(message: str, param: str, code: str) -> Reply:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return Reply(400, {"error": error})


def anthropic_error(message: str) -> Reply:
    return Reply(
        400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    )


def unsupported(param: str, instead: str | None = None) -> Reply:
    message = f"Unsupported parameter: '{param}' is not supported with this model."
    if instead:
        message += f" Use '{instead}' instead."
    return openai_error(message, param, "unsupported_parameter")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() if k in ("content", "text") for t in _texts(v)]
    return []


def answer(body: dict[str, Any]) -> str:
    items = body.get("messages") or body.get("input") or []
    asked = " ".join(_texts(items[-1] if items else ""))
    return next((a for key, a in ANSWERS.items() if key in asked), "I do not know.")


def chat_rules(body: dict[str, Any]) -> Reply | None:
    if "max_tokens" in body:
        return unsupported("max_tokens", "max_completion_tokens")
    if body.get("temperature") not in (None, 1):
        return openai_error(
            f"Unsupported value: 'temperature' does not support {body['temperature']} with "
            "this model. Only the default (1) value is supported.",
            "temperature",
            "unsupported_value",
        )
    if "top_p" in body:
        return unsupported("top_p")
    return None


def responses_rules(body: dict[str, Any]) -> Reply | None:
    for param in ("temperature", "top_p"):
        if param in body:
            return unsupported(param)
    cap = body.get("max_output_tokens")
    if cap is not None and cap < 16:
        return openai_error(
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value "
            f">= 16, but got {cap} instead.",
            "max_output_tokens",
            "integer_below_min_value",
        )
    return None


def thinking_rules(body: dict[str, Any]) -> Reply | None:
    thinking = body.get("thinking") or {}
    if thinking.get("type") != "enabled":
        return None
    budget = int(thinking.get("budget_tokens") or 0)
    if budget < 1024:
        return anthropic_error(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        )
    if int(body.get("max_tokens") or 0) <= budget:
        return anthropic_error(
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
            "documentation at https://docs.claude.com/en/docs/build-with-claude/"
            "extended-thinking#max-tokens-and-context-window-size"
        )
    if body.get("temperature") not in (None, 1):
        return anthropic_error(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our "
            "documentation at https://docs.claude.com/en/docs/build-with-claude/"
            "extended-thinking#feature-compatibility"
        )
    if body.get("top_p") is not None and body["top_p"] < 0.95:
        return anthropic_error("`top_p` must be unset or >= 0.95 when thinking is enabled.")
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return anthropic_error("Thinking may not be enabled when tool_choice forces tool use.")
    return None


def chat_answer(body: dict[str, Any]) -> Reply:
    return Reply(
        body={
            "id": "chatcmpl-strict",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer(body)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 20,
                "completion_tokens": 70,
                "completion_tokens_details": {"reasoning_tokens": 64},
            },
        }
    )


def responses_answer(body: dict[str, Any]) -> Reply:
    return Reply(
        body={
            "id": "resp_strict",
            "object": "response",
            "status": "completed",
            "model": body.get("model"),
            "output": [
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [],
                    "encrypted_content": "gAAAA-opaque",
                },
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": answer(body), "annotations": []}],
                },
            ],
            "usage": {
                "input_tokens": 20,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 70,
                "output_tokens_details": {"reasoning_tokens": 64},
                "total_tokens": 90,
            },
        }
    )


def messages_answer(body: dict[str, Any]) -> Reply:
    content: list[dict[str, Any]] = []
    if (body.get("thinking") or {}).get("type") == "enabled":
        content.append({"type": "thinking", "thinking": "Recall it.", "signature": "sig-1"})
    content.append({"type": "text", "text": answer(body)})
    return Reply(
        body={
            "id": "msg_strict",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": content,
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 20, "output_tokens": 40},
        }
    )


def chat_stream(body: dict[str, Any]) -> Reply:
    return Reply.data(
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": answer(body)}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 70}},
    )


def responses_stream(body: dict[str, Any]) -> Reply:
    final = responses_answer(body).body
    return Reply.typed(
        {"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]},
        {"type": "response.output_text.delta", "output_index": 1, "delta": answer(body)},
        {"type": "response.completed", "response": final},
    )


def messages_stream(body: dict[str, Any]) -> Reply:
    final = messages_answer(body).body
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**final, "content": [], "stop_reason": None}}
    ]
    for i, block in enumerate(final["content"]):
        if block["type"] == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            pieces = [
                {"type": "thinking_delta", "thinking": block["thinking"]},
                {"type": "signature_delta", "signature": block["signature"]},
            ]
        else:
            start = {"type": "text", "text": ""}
            pieces = [{"type": "text_delta", "text": block["text"]}]
        events.append({"type": "content_block_start", "index": i, "content_block": start})
        events += [{"type": "content_block_delta", "index": i, "delta": d} for d in pieces]
        events.append({"type": "content_block_stop", "index": i})
    events += [
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": final["usage"]},
        {"type": "message_stop"},
    ]
    return Reply.typed(*events)


def strict_responder(recorded: Recorded) -> Reply:
    body = recorded.body if isinstance(recorded.body, dict) else {}
    stream = bool(body.get("stream"))
    if recorded.path.endswith("/chat/completions"):
        return chat_rules(body) or (chat_stream(body) if stream else chat_answer(body))
    if recorded.path.endswith("/responses"):
        rules = responses_rules(body)
        return rules or (responses_stream(body) if stream else responses_answer(body))
    if recorded.path.endswith("/messages"):
        rules = thinking_rules(body)
        return rules or (messages_stream(body) if stream else messages_answer(body))
    return Reply(404, {"error": {"message": f"no route {recorded.path}", "type": "not_found"}})


def strict_upstream() -> ScriptedServer:
    return ScriptedServer(strict_responder)


def refusals(server: ScriptedServer) -> int:
    """How many requests broke a rule (the responder's answer was a 400)."""
    count = 0
    for recorded in server.requests:
        body = recorded.body if isinstance(recorded.body, dict) else {}
        path = recorded.path
        if path.endswith("/chat/completions"):
            count += chat_rules(body) is not None
        elif path.endswith("/responses"):
            count += responses_rules(body) is not None
        elif path.endswith("/messages"):
            count += thinking_rules(body) is not None
    return count
