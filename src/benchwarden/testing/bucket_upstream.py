"""An OpenAI-compatible server on loopback that enforces a token bucket, as providers do.

``capacity`` requests may go at once and ``rate`` more come back every second; the
advertised limit is ``rate * 60`` requests per minute. Optionally a token bucket too
(``tpm``): a request reserves its prompt (characters / 4) plus ``max_tokens`` when it
is admitted and is refunded down to what it used when it ends. It answers each
accepted request after ``latency_s`` with a one-token completion.

What it tells clients (``headers``):
- ``"full"``: every answer carries ``x-ratelimit-{limit,remaining,reset}-requests``
  (and ``-tokens`` when ``tpm`` is set), as OpenAI does, and a 429 carries
  ``retry-after`` (whole seconds) and ``retry-after-ms``.
- ``"retry-after"``: only a 429's ``Retry-After`` (whole seconds, as HTTP has it).
- ``"bare"``: 429s and nothing else.

Every arrival is logged with its time and status, so tests measure on the server's
side: the share of 429s and the accepted rate (``Stats``).

Run alone (benchmarks): ``python -m benchwarden.testing.bucket_upstream --rpm 600``
prints ``PORT <n>``; ``GET /stats`` returns the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

HeaderMode = Literal["full", "retry-after", "bare"]


def _duration(seconds: float) -> str:
    return f"{max(0, math.ceil(seconds * 1000))}ms"


@dataclass(slots=True)
class _Bucket:
    capacity: float
    rate: float
    level: float
    at: float

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now

    def seconds_until(self, amount: float) -> float:
        return max(0.0, (min(amount, self.capacity) - self.level) / self.rate)


@dataclass(slots=True)
class Stats:
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (time, status)
    tokens_used: int = 0

    @property
    def accepted(self) -> int:
        return sum(1 for _, status in self.arrivals if status == 200)

    @property
    def refused(self) -> int:
        return sum(1 for _, status in self.arrivals if status == 429)

    @property
    def share_refused(self) -> float:
        return self.refused / len(self.arrivals) if self.arrivals else 0.0

    def accepted_rate(self, skip_s: float = 1.0) -> float:
        """Accepted requests per second after the first ``skip_s`` seconds (the start's
        full bucket and first answer left out): the sustained rate."""
        times = [t for t, status in self.arrivals if status == 200]
        if len(times) < 3:
            return 0.0
        kept = [t for t in times if t >= times[0] + skip_s] or times
        span = kept[-1] - kept[0]
        return (len(kept) - 1) / span if span > 0 else 0.0

    def as_dict(self, rate: float) -> dict[str, Any]:
        return {
            "requests": len(self.arrivals),
            "accepted": self.accepted,
            "refused": self.refused,
            "share_refused": self.share_refused,
            "accepted_rate": self.accepted_rate(),
            "fraction_of_limit": self.accepted_rate() / rate if rate else 0.0,
        }


class BucketUpstream:
    def __init__(
        self,
        *,
        rpm: float = 600.0,
        capacity: float = 10.0,
        latency_s: float = 0.05,
        headers: HeaderMode = "full",
        tpm: float | None = None,
        token_capacity: float | None = None,
    ) -> None:
        now = time.monotonic()
        self.rate = rpm / 60.0
        self.rpm = rpm
        self.latency_s = latency_s
        self.header_mode = headers
        self.requests = _Bucket(capacity, self.rate, capacity, now)
        self.tpm = tpm
        self.tokens: _Bucket | None = None
        if tpm is not None:
            cap = token_capacity if token_capacity is not None else tpm / 60.0
            self.tokens = _Bucket(cap, tpm / 60.0, cap, now)
        self.stats = Stats()
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_rpm(self, rpm: float) -> None:
        """Change the limit live (a provider raising a key's limit)."""
        self.requests.refill(time.monotonic())
        self.rpm, self.rate = rpm, rpm / 60.0
        self.requests.rate = self.rate

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024)
        await site.start()
        server = site._server  # the bound port when 0 was asked
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _limit_headers(self) -> dict[str, str]:
        if self.header_mode != "full":
            return {}
        r = self.requests
        headers = {
            "x-ratelimit-limit-requests": str(round(self.rpm)),
            "x-ratelimit-remaining-requests": str(math.floor(r.level)),
            "x-ratelimit-reset-requests": _duration((r.capacity - r.level) / r.rate),
        }
        if self.tokens is not None and self.tpm is not None:
            t = self.tokens
            headers["x-ratelimit-limit-tokens"] = str(round(self.tpm))
            headers["x-ratelimit-remaining-tokens"] = str(math.floor(t.level))
            headers["x-ratelimit-reset-tokens"] = _duration((t.capacity - t.level) / t.rate)
        return headers

    def _refusal(self, wait_s: float) -> web.Response:
        headers = self._limit_headers()
        if self.header_mode == "full":
            headers["retry-after-ms"] = str(max(1, math.ceil(wait_s * 1000)))
        if self.header_mode in ("full", "retry-after"):
            headers["retry-after"] = str(max(1, math.ceil(wait_s)))
        body = {"error": {"message": "Rate limit reached.", "type": "requests", "code": None}}
        return web.json_response(body, status=429, headers=headers)

    async def _chat(self, request: web.Request) -> web.Response:
        now = time.monotonic()
        data = await request.json()
        prompt = sum(len(str(m.get("content", ""))) for m in data.get("messages", [])) // 4 + 1
        reserved = prompt + int(data.get("max_tokens") or 16)
        self.requests.refill(now)
        if self.tokens is not None:
            self.tokens.refill(now)
        wait = self.requests.seconds_until(1.0)
        if self.tokens is not None:
            wait = max(wait, self.tokens.seconds_until(reserved))
        if wait > 0:
            self.stats.arrivals.append((now, 429))
            return self._refusal(wait)
        self.stats.arrivals.append((now, 200))
        self.requests.level -= 1.0
        if self.tokens is not None:
            self.tokens.level -= reserved
        await asyncio.sleep(self.latency_s)
        used = prompt + 1
        if self.tokens is not None:  # refunded down to what was used
            self.tokens.refill(time.monotonic())
            self.tokens.level = min(self.tokens.capacity, self.tokens.level + reserved - used)
        self.stats.tokens_used += used
        body = {
            "id": "chatcmpl-bucket",
            "object": "chat.completion",
            "model": data.get("model", "bucket"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "A"},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": used},
        }
        return web.json_response(body, headers=self._limit_headers())

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(self.stats.as_dict(self.rate))


class ThreadedBucketUpstream:
    """The server on its own event loop in a background thread."""

    def __init__(self, **kwargs: Any) -> None:
        self.server = BucketUpstream(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> BucketUpstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self.server

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rpm", type=float, default=600.0)
    parser.add_argument("--capacity", type=float, default=10.0)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--headers", choices=["full", "retry-after", "bare"], default="full")
    args = parser.parse_args()

    async def serve() -> None:
        server = BucketUpstream(
            rpm=args.rpm, capacity=args.capacity, latency_s=args.latency, headers=args.headers
        )
        await server.start(args.port)
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()


__all__ = ["BucketUpstream", "Stats", "ThreadedBucketUpstream", "main"]
