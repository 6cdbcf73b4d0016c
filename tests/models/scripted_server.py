"""A real HTTP server on 127.0.0.1 that records each request and answers what it is told.

Replies are queued with ``script`` (one per request, JSON bodies or SSE streams); when
the queue is empty, ``responder`` (if any) decides, else a 500 says nothing was
scripted. It runs in a thread, so a child process (the CLI) can call it as well as the
transports' own event loop.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True, slots=True)
class Reply:
    """A JSON ``body`` with ``status``, or a stream of SSE ``events``: each an
    ``(event name or None, data)`` pair, data a JSON value or a raw string."""

    status: int = 200
    body: Any = None
    events: list[tuple[str | None, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def sse(*events: tuple[str | None, Any]) -> Reply:
        return Reply(events=list(events))

    @staticmethod
    def data(*chunks: Any) -> Reply:
        """An OpenAI-style stream: ``data:`` lines only, then ``[DONE]``."""
        return Reply(events=[(None, c) for c in chunks] + [(None, "[DONE]")])

    @staticmethod
    def typed(*events: dict[str, Any]) -> Reply:
        """Anthropic/Responses-style: each event named by its ``type``."""
        return Reply(events=[(str(e["type"]), e) for e in events])


Responder = Callable[[Recorded], Reply]


class ScriptedServer:
    def __init__(self, responder: Responder | None = None) -> None:
        self.responder = responder
        self.requests: list[Recorded] = []
        self._queue: list[Reply] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.requests]

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply_for(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if self._queue:
                return self._queue.pop(0)
        if self.responder is not None:
            return self.responder(recorded)
        return Reply(500, {"error": {"message": "nothing scripted", "type": "server_error"}})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                recorded = Recorded(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                self._send(server._reply_for(recorded))

            def _send(self, reply: Reply) -> None:
                if reply.events is None:
                    payload = json.dumps(reply.body).encode()
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(reply.status)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                for name, data in reply.events:
                    text = data if isinstance(data, str) else json.dumps(data)
                    head = f"event: {name}\n" if name else ""
                    self.wfile.write(f"{head}data: {text}\n\n".encode())
                    self.wfile.flush()
                self.close_connection = True

        return Handler
