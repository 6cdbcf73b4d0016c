"""A scriptable OpenAI- and Anthropic-compatible server on loopback, for tests and
benchmarks that need controlled latency, faults and rate limits.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies, chunked SSE) on a
bare asyncio server, so it can also misbehave in ways a framework would not let it:
drop the connection mid-request, send malformed JSON, or never answer.

Faults are queued with :meth:`MockUpstream.script` and consumed one per request;
with the queue empty every request succeeds, unless a fixed-window rate limit is set.
The bodies and stream events it answers with are built in :mod:`mock_bodies`
(``Shaped`` is re-exported here).

Run alone (for benchmarks): ``python -m benchwarden.testing.mock_upstream --port 0``
prints ``PORT <n>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchwarden.testing.mock_bodies import (
    Shaped,
    anthropic_body,
    openai_body,
    shaped_body,
    stream_events,
)

__all__ = ["Fault", "MockUpstream", "Shaped", "Stats", "ThreadedMockUpstream", "main"]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do with one request: ``ok``, ``status``, ``malformed``, ``drop``, ``hang``,
    ``slow`` (answer after ``delay_s``), ``cut_stream`` (stream two deltas, then drop),
    ``stream_error`` (stream two deltas, then the error ``body`` as a stream event)."""

    kind: str
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @staticmethod
    def rate_limited(retry_after_s: float | None = None) -> Fault:
        headers = {}
        if retry_after_s is not None:
            headers["retry-after-ms"] = str(int(retry_after_s * 1000))
            headers["retry-after"] = str(max(1, round(retry_after_s)))
        return Fault(
            "status",
            429,
            {
                "error": {
                    "message": "Rate limit reached",
                    "type": "rate_limit_error",
                    "code": "rate_limited",
                }
            },
            headers,
        )

    @staticmethod
    def server_error(status: int = 500) -> Fault:
        return Fault(
            "status",
            status,
            {"error": {"message": "upstream exploded", "type": "server_error", "code": None}},
        )

    @staticmethod
    def denied(status: int, code: str, message: str = "access denied") -> Fault:
        return Fault(
            "status",
            status,
            {"error": {"message": message, "type": "permission_error", "code": code}},
        )


@dataclass(slots=True)
class Stats:
    requests: int = 0
    accepted: int = 0
    rate_limited: int = 0
    accepted_at: list[float] = field(default_factory=list)
    purposes: list[str | None] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)


class MockUpstream:
    def __init__(
        self,
        *,
        reply: str = "Hello from the mock.",
        echo: bool = False,
        latency_s: float = 0.0,
        rate_limit: int | None = None,
        window_s: float = 1.0,
        keep_bodies: bool = True,
        responder: Callable[[dict[str, Any]], str] | None = None,
        shape: Callable[[dict[str, Any]], Shaped] | None = None,
        stream_gap_s: float = 0.0,
    ) -> None:
        # ``responder`` computes each reply from the request body (a scripted judge);
        # ``stream_gap_s`` spaces a stream's events (a slow model, mid-stream revocation).
        self.responder = responder
        self.stream_gap_s = stream_gap_s
        self.reply = reply
        self.echo = echo
        self.latency_s = latency_s
        self.rate_limit = rate_limit
        self.window_s = window_s
        self.keep_bodies = keep_bodies
        self.shape = shape
        self.stats = Stats()
        self._faults: collections.deque[Fault] = collections.deque()
        self._window_start = 0.0
        self._window_count = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    # ---- control ------------------------------------------------------------
    def script(self, *faults: Fault | str) -> None:
        for fault in faults:
            self._faults.append(Fault(fault) if isinstance(fault, str) else fault)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    # ---- HTTP ---------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                if not await self._respond(method, path, headers, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _write(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        payload: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
            "content-type: application/json",
            f"content-length: {len(payload)}",
        ]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    def _next_fault(self) -> Fault:
        if self._faults:
            return self._faults.popleft()
        if self.rate_limit is not None:
            now = time.monotonic()
            if now - self._window_start >= self.window_s:
                self._window_start, self._window_count = now, 0
            if self._window_count >= self.rate_limit:
                remaining = self.window_s - (now - self._window_start)
                fault = Fault.rate_limited(remaining)
                return Fault(
                    fault.kind,
                    fault.status,
                    fault.body,
                    {
                        **fault.headers,
                        "x-ratelimit-remaining-requests": "0",
                        "x-ratelimit-reset-requests": f"{int(remaining * 1000)}ms",
                    },
                )
            self._window_count += 1
        return Fault("ok")

    async def _respond(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        self.stats.requests += 1
        if method == "GET" and path.rstrip("/").endswith("/models"):
            self._write(
                writer,
                200,
                json.dumps(
                    {
                        "object": "list",
                        "data": [{"id": "mock", "object": "model", "owned_by": "mock"}],
                    }
                ).encode(),
            )
            return True
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            self._write(writer, 400, b'{"error": {"message": "bad json", "type": "invalid"}}')
            return True
        if self.keep_bodies:
            self.stats.bodies.append(request)
        self.stats.purposes.append(headers.get("benchwarden-purpose"))
        fault = self._next_fault()
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault.kind == "drop":
            return False
        if fault.kind == "hang":
            await asyncio.sleep(3600)
            return False
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
        if fault.kind == "status":
            if fault.status == 429:
                self.stats.rate_limited += 1
            self._write(writer, fault.status, json.dumps(fault.body or {}).encode(), fault.headers)
            await writer.drain()
            return True
        if fault.kind == "malformed":
            self._write(writer, 200, b'{"choices": [{"message": ')
            await writer.drain()
            return True
        self.stats.accepted += 1
        self.stats.accepted_at.append(time.monotonic())
        anthropic = path.endswith("/messages")
        if request.get("stream"):
            await self._stream(
                writer,
                request,
                anthropic,
                cut=fault.kind == "cut_stream",
                error=fault.body if fault.kind == "stream_error" else None,
            )
            return fault.kind != "cut_stream"
        payload = (
            anthropic_body(request, self.reply) if anthropic else self._openai_body(path, request)
        )
        self._write(writer, 200, json.dumps(payload).encode(), fault.headers)
        await writer.drain()
        return True

    # ---- bodies (built in mock_bodies.py) ------------------------------------
    def _text(self, request: dict[str, Any]) -> str:
        """The responder's reply, the fixed reply, or with ``echo`` one derived from the
        request (deterministic)."""
        if self.responder is not None:
            return self.responder(request)
        if not self.echo:
            return self.reply
        if "prompt" in request:
            last = str(request["prompt"])
        else:
            messages = request.get("messages") or [{}]
            last = str(messages[-1].get("content", ""))
        return f"echo {last} seed={request.get('seed')}"

    def _openai_body(self, path: str, request: dict[str, Any]) -> dict[str, Any]:
        if self.shape is not None:
            return shaped_body(path, request, self.shape(request))
        return openai_body(path, request, self._text)

    async def _stream(
        self,
        writer: asyncio.StreamWriter,
        request: dict[str, Any],
        anthropic: bool,
        cut: bool,
        error: dict[str, Any] | None = None,
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        events = stream_events(request, self._text(request), anthropic, error)
        for index, event in enumerate(events):
            if cut and index == 3:
                writer.close()
                return
            data = event.encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()
            if self.stream_gap_s:
                await asyncio.sleep(self.stream_gap_s)
        writer.write(b"0\r\n\r\n")
        await writer.drain()


class ThreadedMockUpstream:
    """The mock on its own event loop in a background thread (for sync clients too)."""

    def __init__(self, **kwargs: Any) -> None:
        self.mock = MockUpstream(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> MockUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.mock.start(), self._loop).result(10)
        return self.mock

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.mock.stop(), self._loop).result(10)
        asyncio.run_coroutine_threadsafe(_cancel_others(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _cancel_others() -> None:
    """End the answers still being written (a slow stream nobody reads any more)."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests accepted per window (fixed window)"
    )
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--echo", action="store_true", help="answer with the prompt")
    args = parser.parse_args()

    async def serve() -> None:
        mock = MockUpstream(
            rate_limit=args.rate_limit,
            window_s=args.window,
            latency_s=args.latency,
            keep_bodies=False,
            echo=args.echo,
        )
        await mock.start(args.port)
        print(f"PORT {mock.port}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
