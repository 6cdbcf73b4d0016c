"""A scripted upstream for the real coding clients ("the mock plays the model"), on
loopback: Anthropic Messages (``/v1/messages``, ``/v1/messages/count_tokens``),
OpenAI Responses (``/v1/responses``) and OpenAI Chat Completions
(``/v1/chat/completions``), each plain or streamed as the real APIs do.

Each conversation request is answered by the script: while its conversation holds no
tool result, with ONE call to the shell tool the request declares (found by name
among its ``tools``, whichever API it came on, so a request translated from another
API still works), running a command that writes the test's file; once a tool result
is there, with the final text. A request that declares no shell tool (a client's
title or quota call) gets a short plain text. Every request is recorded.

``fail_from(n, status, body)`` answers conversation requests from the ``n``-th on with
an error (a key revoked mid-session, seen from the client's side).

Sync tests use :class:`ThreadedAgentUpstream` (uvicorn in a thread)::

    with ThreadedAgentUpstream(file_name="result.txt", content="done") as upstream:
        run_claude(upstream.base_url, ...)
        assert upstream.saw_tool_result()
"""

from __future__ import annotations

import asyncio
import gzip
import json
import shlex
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from benchwarden.testing import agent_bodies as bodies

__all__ = ["AgentUpstream", "Recorded", "ThreadedAgentUpstream"]

CONVERSATION_SUFFIXES = ("/messages", "/responses", "/chat/completions")


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the upstream saw it (headers lower-cased; body parsed JSON)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)

    @property
    def api(self) -> str | None:
        """``messages``, ``count_tokens``, ``responses``, ``chat`` or None."""
        path = self.path.rstrip("/")
        if path.endswith("/messages/count_tokens"):
            return "count_tokens"
        if path.endswith("/messages"):
            return "messages"
        if path.endswith("/responses"):
            return "responses"
        if path.endswith("/chat/completions"):
            return "chat"
        return None

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools declared (function tools and hosted ones by their type)."""
        names: list[str] = []
        body = self.body if isinstance(self.body, dict) else {}
        for tool in body.get("tools") or []:
            if isinstance(tool, dict):
                function = tool.get("function")
                inner: dict[str, Any] = function if isinstance(function, dict) else tool
                names.append(str(inner.get("name") or tool.get("type")))
        return names


@dataclass(frozen=True, slots=True)
class _Failure:
    start: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class AgentUpstream:
    """The scripted model. ``command`` defaults to writing ``content`` to ``file_name``
    (relative: the client's work dir)."""

    def __init__(
        self,
        *,
        file_name: str = "result.txt",
        content: str = "done",
        command: str | None = None,
        final_text: str | None = None,
        side_text: str = "Writing a file",
        models: tuple[str, ...] = ("mock",),
    ) -> None:
        self.file_name = file_name
        self.content = content
        self.command = command or f"echo {shlex.quote(content)} > {shlex.quote(file_name)}"
        self.final_text = final_text or f"Wrote {file_name}."
        self.side_text = side_text
        self.models = models
        self.requests: list[Recorded] = []
        self._failure: _Failure | None = None
        self._conversation_count = 0
        self._lock = threading.Lock()
        self.port = 0
        self.app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "HEAD", "POST"])]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- scripting and assertions ---------------------------------------------------
    def fail_from(
        self,
        index: int,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the ``index``-th conversation request (0-based) and every later one
        with ``status`` and ``body``."""
        with self._lock:
            self._failure = _Failure(index, status, body, dict(headers or {}))

    def conversation(self) -> list[Recorded]:
        """The recorded Messages, Responses and Chat Completions requests."""
        with self._lock:
            return [r for r in self.requests if r.api in ("messages", "responses", "chat")]

    def tool_turns(self) -> list[Recorded]:
        """Conversation requests that declared the shell tool (the agent's own turns)."""
        return [
            r
            for r in self.conversation()
            if isinstance(r.body, dict) and bodies.shell_call(r.body, "") is not None
        ]

    def saw_tool_result(self) -> bool:
        """Whether some request carried the shell tool's result back."""
        return any(
            isinstance(r.body, dict) and bodies.has_tool_result(r.body) for r in self.tool_turns()
        )

    # ---- HTTP -------------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        if request.headers.get("content-encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = Recorded(
            request.method,
            request.url.path,
            request.url.query,
            {k.lower(): v for k, v in request.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(record)
        if request.method in ("GET", "HEAD"):
            return self._get(record)
        if not isinstance(body, dict):
            error = {"type": "invalid_request_error", "message": "body must be a JSON object"}
            return JSONResponse({"type": "error", "error": error}, status_code=400)
        if record.api == "count_tokens":
            return JSONResponse({"input_tokens": max(1, len(raw) // 4)})
        if record.api is None:
            error = {"type": "not_found_error", "message": f"no route {record.path}"}
            return JSONResponse({"type": "error", "error": error}, status_code=404)
        with self._lock:
            index = self._conversation_count
            self._conversation_count += 1
            failure = self._failure
        if failure is not None and index >= failure.start:
            return JSONResponse(failure.body, failure.status, headers=failure.headers)
        return self._answer(record.api, body)

    def _get(self, record: Recorded) -> Response:
        if record.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "mock"} for m in self.models]
            return JSONResponse({"object": "list", "data": data})
        return JSONResponse({"ok": True})

    def _answer(self, api: str, body: dict[str, Any]) -> Response:
        done = bodies.has_tool_result(body)
        call = None if done else bodies.shell_call(body, self.command)
        text = self.final_text if done else self.side_text
        if api == "messages":
            plain, events = bodies.anthropic_body, bodies.anthropic_events
        elif api == "responses":
            plain, events = bodies.responses_body, bodies.responses_events
        else:
            plain, events = bodies.chat_body, bodies.chat_events
        if not body.get("stream"):
            return JSONResponse(plain(body, call, text))

        async def stream() -> AsyncIterator[bytes]:
            for event in events(body, call, text):
                yield event.encode()
                await asyncio.sleep(0)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )


class ThreadedAgentUpstream:
    """The upstream served by uvicorn on its own thread (for sync tests and fixtures)."""

    def __init__(self, **kwargs: Any) -> None:
        self.upstream = AgentUpstream(**kwargs)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        config = uvicorn.Config(
            self.upstream.app, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> AgentUpstream:
        self._sock.bind(("127.0.0.1", 0))
        self.upstream.port = self._sock.getsockname()[1]
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("agent upstream did not start")
            time.sleep(0.01)
        return self.upstream

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()
