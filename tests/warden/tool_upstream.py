"""A scripted model upstream on 127.0.0.1 for warden's agent tests, and a warden in
front of it.

The upstream speaks Anthropic Messages (``/v1/messages``, ``/v1/messages/count_tokens``),
OpenAI Responses (``/v1/responses``) and Chat Completions (``/v1/chat/completions``),
plain and streamed, and records every request. What it answers is a :class:`Turn`:
thinking (Anthropic's with a signature, OpenAI's reasoning with ``encrypted_content``),
text, and any number of tool calls (parallel calls in one answer). By default a
conversation that holds no tool result gets ``calls`` (one call per entry, to tools
the test names) and one that does gets ``final_text``; a request that asks for
thinking (``thinking`` / ``reasoning`` / ``reasoning_effort``) also gets thinking
whose opaque data is numbered (``sig-1``, ``enc-1``...), so a test can tell whether
it came back. ``respond`` replaces the script.

``served_warden`` starts a warden (real uvicorn) whose backends are this upstream:
``claude`` (Anthropic), ``gpt`` (OpenAI, Chat and Responses relayed), ``gpt-chat``
(OpenAI speaking Chat only: Responses is translated onto it), ``gpt-resp`` (OpenAI
speaking Responses only) and ``claude-refuse`` (Anthropic, hosted tools refused).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchwarden.warden.app import WardenSettings, create_app, runtime_of
from benchwarden.warden.backends import Backends, parse_backends, parse_routes
from benchwarden.warden.server import BackgroundServer
from tests.warden.conftest import UPSTREAM_KEY, UPSTREAM_KEY_ENV, Warden

USAGE_IN, USAGE_OUT = 21, 9
MODELS = ("claude", "gpt", "gpt-chat", "gpt-resp", "claude-refuse")


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True, slots=True)
class Turn:
    """One answer of the model."""

    text: str = ""
    calls: tuple[Call, ...] = ()
    thinking: str | None = None  # thinking text (a summary in Responses)
    opaque: str | None = None  # Anthropic signature / OpenAI encrypted_content


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def api(self) -> str | None:
        path = self.path.split("?")[0].rstrip("/")
        for suffix, api in (
            ("/messages/count_tokens", "count_tokens"),
            ("/messages", "anthropic"),
            ("/responses", "responses"),
            ("/chat/completions", "chat"),
        ):
            if path.endswith(suffix):
                return api
        return None


def wants_thinking(api: str, body: dict[str, Any]) -> bool:
    if api == "anthropic":
        return (body.get("thinking") or {}).get("type") == "enabled"
    if api == "responses":
        return (body.get("reasoning") or {}).get("effort") not in (None, "none")
    return body.get("reasoning_effort") is not None


def has_tool_result(body: dict[str, Any]) -> bool:
    for item in body.get("input") or []:
        if isinstance(item, dict) and str(item.get("type", "")).endswith("call_output"):
            return True
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "tool":
            return True
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return True
    return False


def _pieces(text: str, n: int = 3) -> list[str]:
    step = max(1, -(-len(text) // n))
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def _sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    return ((f"event: {event}\n" if event else "") + f"data: {payload}\n\n").encode()


class ToolUpstream:
    """The scripted model (see the module docstring)."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.calls: tuple[Call, ...] = ()
        self.text_before_calls = ""
        self.final_text = "All done."
        self.respond: Callable[[str, dict[str, Any]], Turn] | None = None
        self.issued: list[str] = []  # the opaque values handed out, in order
        self._opaque = itertools.count(1)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ---- control ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self.issued = []
        self.calls = ()
        self.text_before_calls = ""
        self.final_text = "All done."
        self.respond = None

    def start(self) -> ToolUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def conversation(self) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.api in ("anthropic", "responses", "chat")]

    def last(self) -> Seen:
        seen = self.conversation()
        assert seen, "the upstream was not called"
        return seen[-1]

    # ---- the script ------------------------------------------------------------------
    def turn(self, api: str, body: dict[str, Any]) -> Turn:
        if self.respond is not None:
            return self.respond(api, body)
        thinking = wants_thinking(api, body) and api != "chat"
        opaque = None
        if thinking:
            opaque = f"{'sig' if api == 'anthropic' else 'enc'}-{next(self._opaque)}"
            self.issued.append(opaque)
        extra = {"thinking": "Let me think." if thinking else None, "opaque": opaque}
        if has_tool_result(body) or not self.calls:
            return Turn(text=self.final_text, **extra)  # type: ignore[arg-type]
        calls = tuple(dataclasses.replace(c, id=c.id or self._call_id(api)) for c in self.calls)
        return Turn(text=self.text_before_calls, calls=calls, **extra)  # type: ignore[arg-type]

    def _call_id(self, api: str) -> str:
        prefix = "toolu_" if api == "anthropic" else "call_"
        return f"{prefix}up{next(self._ids):03d}"

    # ---- HTTP ------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(200, b'{"object": "list", "data": []}', "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                seen = Seen(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with upstream._lock:
                    upstream.requests.append(seen)
                status, payload, kind = upstream.answer(seen)
                self._send(status, payload, kind)

        return Handler

    def answer(self, seen: Seen) -> tuple[int, bytes, str]:
        body = seen.body
        api = seen.api
        if not isinstance(body, dict) or api is None:
            error = {"type": "error", "error": {"type": "not_found_error", "message": "no"}}
            return 404, json.dumps(error).encode(), "application/json"
        if api == "count_tokens":
            counted = {"input_tokens": 1000 + len(json.dumps(body)) // 4}
            return 200, json.dumps(counted).encode(), "application/json"
        turn = self.turn(api, body)
        render = {"anthropic": _anthropic, "responses": _responses, "chat": _chat}[api]
        stream = bool(body.get("stream"))
        out = render(body, turn, stream)
        if stream:
            return 200, out, "text/event-stream"
        return 200, out, "application/json"


# ---- Anthropic Messages ----------------------------------------------------------------
def _anthropic_blocks(turn: Turn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if turn.thinking is not None:
        blocks.append({"type": "thinking", "thinking": turn.thinking, "signature": turn.opaque})
    if turn.text:
        blocks.append({"type": "text", "text": turn.text})
    for call in turn.calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    return blocks


def _anthropic(body: dict[str, Any], turn: Turn, stream: bool) -> bytes:
    usage = {"input_tokens": USAGE_IN, "output_tokens": USAGE_OUT}
    message = {
        "id": "msg_upstream01",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": _anthropic_blocks(turn),
        "stop_reason": "tool_use" if turn.calls else "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not stream:
        return json.dumps(message).encode()
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    out = _sse("message_start", {"type": "message_start", "message": start})
    out += _sse("ping", {"type": "ping"})
    for index, block in enumerate(message["content"]):
        kind = block["type"]
        if kind == "thinking":
            opening: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            opening = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
        else:
            opening = {**block, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": p}
                for p in _pieces(json.dumps(block["input"]))
            ]
        out += _sse(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": opening},
        )
        for delta in deltas:
            out += _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        out += _sse("content_block_stop", {"type": "content_block_stop", "index": index})
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    out += _sse(
        "message_delta",
        {"type": "message_delta", "delta": delta, "usage": {"output_tokens": USAGE_OUT}},
    )
    return out + _sse("message_stop", {"type": "message_stop"})


# ---- OpenAI Responses ------------------------------------------------------------------
def _responses_items(turn: Turn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if turn.thinking is not None:
        items.append(
            {
                "type": "reasoning",
                "id": "rs_upstream01",
                "summary": [{"type": "summary_text", "text": turn.thinking}],
                "encrypted_content": turn.opaque,
            }
        )
    if turn.text:
        items.append(
            {
                "type": "message",
                "id": "msg_upstream01",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": turn.text, "annotations": []}],
            }
        )
    for n, call in enumerate(turn.calls):
        items.append(
            {
                "type": "function_call",
                "id": f"fc_upstream{n}",
                "call_id": call.id,
                "name": call.name,
                "arguments": json.dumps(call.arguments),
                "status": "completed",
            }
        )
    return items


def _response(body: dict[str, Any], items: list[dict[str, Any]], done: bool) -> dict[str, Any]:
    return {
        "id": "resp_upstream01",
        "object": "response",
        "created_at": 0,
        "status": "completed" if done else "in_progress",
        "model": body.get("model"),
        "output": items if done else [],
        "parallel_tool_calls": True,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "usage": {
            "input_tokens": USAGE_IN,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": USAGE_OUT,
            "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": USAGE_IN + USAGE_OUT,
        }
        if done
        else None,
    }


def _responses(body: dict[str, Any], turn: Turn, stream: bool) -> bytes:
    items = _responses_items(turn)
    if not stream:
        return json.dumps(_response(body, items, True)).encode()
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response(body, items, False)},
        {"type": "response.in_progress", "response": _response(body, items, False)},
    ]
    for index, item in enumerate(items):
        ref = {"item_id": item["id"], "output_index": index}
        if item["type"] == "reasoning":
            events.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": {"type": "reasoning", "id": item["id"], "summary": []},
                }
            )
            for piece in _pieces(item["summary"][0]["text"]):
                events.append(
                    {
                        "type": "response.reasoning_summary_text.delta",
                        **ref,
                        "summary_index": 0,
                        "delta": piece,
                    }
                )
        elif item["type"] == "message":
            text = item["content"][0]["text"]
            added = {**item, "content": [], "status": "in_progress"}
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": added}
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            events.append(
                {"type": "response.content_part.added", **ref, "content_index": 0, "part": part}
            )
            for piece in _pieces(text):
                events.append(
                    {
                        "type": "response.output_text.delta",
                        **ref,
                        "content_index": 0,
                        "delta": piece,
                    }
                )
            events.append(
                {"type": "response.output_text.done", **ref, "content_index": 0, "text": text}
            )
            events.append(
                {
                    "type": "response.content_part.done",
                    **ref,
                    "content_index": 0,
                    "part": {**part, "text": text},
                }
            )
        else:
            added = {**item, "arguments": "", "status": "in_progress"}
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": added}
            )
            for piece in _pieces(item["arguments"]):
                events.append(
                    {"type": "response.function_call_arguments.delta", **ref, "delta": piece}
                )
            events.append(
                {
                    "type": "response.function_call_arguments.done",
                    **ref,
                    "arguments": item["arguments"],
                }
            )
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": _response(body, items, True)})
    return b"".join(_sse(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events))


# ---- OpenAI Chat Completions -----------------------------------------------------------
def _chat(body: dict[str, Any], turn: Turn, stream: bool) -> bytes:
    usage = {
        "prompt_tokens": USAGE_IN,
        "completion_tokens": USAGE_OUT,
        "total_tokens": USAGE_IN + USAGE_OUT,
    }
    finish = "tool_calls" if turn.calls else "stop"
    calls = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        for call in turn.calls
    ]
    head = {"id": "chatcmpl-upstream01", "created": 0, "model": body.get("model")}
    if not stream:
        message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
        return json.dumps(
            {**head, "object": "chat.completion", "choices": [choice], "usage": usage}
        ).encode()

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return _sse(None, {**head, "object": "chat.completion.chunk", "choices": [choice]})

    out = chunk({"role": "assistant", "content": ""})
    for piece in _pieces(turn.text) if turn.text else []:
        out += chunk({"content": piece})
    for index, call in enumerate(calls):
        function = call["function"]
        opening = {"index": index, "id": call["id"], "type": "function"}
        out += chunk(
            {"tool_calls": [{**opening, "function": {"name": function["name"], "arguments": ""}}]}
        )
        for piece in _pieces(function["arguments"]):
            out += chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    out += chunk({}, finish)
    if (body.get("stream_options") or {}).get("include_usage"):
        out += _sse(
            None, {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        )
    return out + _sse(None, "[DONE]")


# ---- warden in front of it -------------------------------------------------------------
def backends_toml(base_url: str) -> str:
    common = f'api_key_env = "{UPSTREAM_KEY_ENV}"\nmax_attempts = 1\n'
    return f"""
[backends."claude"]
provider = "anthropic"
base_url = "{base_url}"
model = "up-claude"
{common}
[backends."claude-refuse"]
provider = "anthropic"
base_url = "{base_url}"
model = "up-claude"
hosted_tools = "refuse"
{common}
[backends."gpt"]
provider = "openai"
base_url = "{base_url}/v1"
model = "up-gpt"
{common}
[backends."gpt-chat"]
provider = "openai"
base_url = "{base_url}/v1"
model = "up-gpt-chat"
apis = ["chat"]
{common}
[backends."gpt-resp"]
provider = "openai"
base_url = "{base_url}/v1"
model = "gpt-5-up"
apis = ["responses"]
api = "responses"
{common}
"""


def build_backends(base_url: str) -> Backends:
    text = backends_toml(base_url)
    return Backends(parse_backends(text), routes=parse_routes(text))


def served_warden(upstream: ToolUpstream, folder: Path) -> Iterator[Warden]:
    """A warden over ``upstream`` (a generator: use it in a fixture)."""
    os.environ[UPSTREAM_KEY_ENV] = UPSTREAM_KEY
    app = create_app(
        str(folder / "warden.db"),
        build_backends(upstream.base_url),
        admin_token="",
        settings=WardenSettings(watch_interval_s=0.05, monitor_flush_s=0.05),
    )
    server = BackgroundServer(app).start()
    try:
        yield Warden(server.url, runtime_of(app), str(folder / "warden.db"), {})
    finally:
        server.stop()
