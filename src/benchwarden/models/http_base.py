"""What the OpenAI and Anthropic transports share: one aiohttp session, error mapping.

An HTTP client directly rather than the official SDKs: the SDKs carry their own retry
loops and timeouts, which would fight the pacing layer, and they hide the rate-limit
headers we pace on. The SDKs are used in tests, as clients of warden.

aiohttp rather than httpx(2): on warden's request path the upstream call was two thirds
of the gateway's CPU with httpx2 (its pool checks every idle connection's socket on
each request: ~0.8 ms a call with 64 connections), against ~0.2 ms with aiohttp's
C parser and connector. bench's many concurrent calls gain the same way.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from benchwarden.models.errors import ModelError, ModelTimeout, UpstreamError
from benchwarden.models.http_errors import classify_http_error

PURPOSE_HEADER = "Benchwarden-Purpose"
CONNECT_TIMEOUT_S = 10.0


class HttpTransportBase:
    """Holds the connection pool and turns HTTP failures into ModelErrors.

    The session is made on first use, inside the event loop that uses it (an aiohttp
    session belongs to one loop)."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        max_connections: int = 64,
        headers: Mapping[str, str] | None = None,
        observe: Callable[[Mapping[str, str]], None] | None = None,
    ) -> None:
        self.name = name
        self.endpoint = base_url.rstrip("/")
        # The pacer's reader of every answer's rate-limit headers (accepted or refused).
        self._observer = observe
        self._headers = dict(headers or {})
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                headers=self._headers,
                # Never read proxies or .netrc from the environment: the endpoint is explicit.
                trust_env=False,
            )
        return self._session

    def _observe(self, headers: Mapping[str, str]) -> None:
        if self._observer is not None:
            self._observer(headers)

    def _request_headers(self, purpose: str | None, stream: bool = False) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if stream:
            headers["accept"] = "text/event-stream"
        if purpose:
            headers[PURPOSE_HEADER] = purpose
        return headers

    async def _post_json(
        self,
        path: str,
        payload: dict[str, Any],
        timeout_s: float,
        purpose: str | None,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=CONNECT_TIMEOUT_S)
        try:
            async with self._http().post(
                self.endpoint + path,
                data=json.dumps(payload),
                headers={**self._request_headers(purpose), **(extra or {})},
                timeout=timeout,
            ) as response:
                body = await response.read()
                status, headers = response.status, response.headers
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                self.name,
                f"connection failed: {type(exc).__name__}",
                hint="Check that the endpoint is up.",
            ) from exc
        if status >= 400:
            if status == 429:
                self._observe(headers)
            raise classify_http_error(self.name, status, headers, body)
        self._observe(headers)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise UpstreamError(self.name, "malformed JSON in the response") from exc
        if not isinstance(data, dict):
            raise UpstreamError(self.name, "unexpected response shape (not an object)")
        return data

    @asynccontextmanager
    async def _open_stream(
        self,
        path: str,
        payload: dict[str, Any],
        timeout_s: float,
        purpose: str | None,
        extra: Mapping[str, str] | None = None,
    ) -> AsyncIterator[AsyncIterator[str]]:
        """The response's lines (without line endings); a stall of ``timeout_s`` between
        reads is a timeout, a cut connection an UpstreamError."""
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=timeout_s
        )
        try:
            response = await self._http().post(
                self.endpoint + path,
                data=json.dumps(payload),
                headers={**self._request_headers(purpose, stream=True), **(extra or {})},
                timeout=timeout,
            )
        except TimeoutError as exc:
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(self.name, f"connection failed: {type(exc).__name__}") from exc
        try:
            if response.status >= 400:
                try:
                    body = await response.read()
                except (TimeoutError, aiohttp.ClientError):
                    body = b""
                if response.status == 429:
                    self._observe(response.headers)
                raise classify_http_error(self.name, response.status, response.headers, body)
            self._observe(response.headers)
            yield self._lines(response)
        finally:
            response.release()

    async def _lines(self, response: aiohttp.ClientResponse) -> AsyncIterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        try:
            async for chunk in response.content.iter_any():
                pending += decoder.decode(chunk)
                *lines, pending = pending.split("\n")
                for line in lines:
                    yield line.removesuffix("\r")
        except TimeoutError as exc:
            raise ModelTimeout(self.name, "the stream stalled") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(self.name, "the stream was cut off") from exc
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending.removesuffix("\r")

    def _bad_shape(self, what: str) -> ModelError:
        return UpstreamError(self.name, f"unexpected response shape: {what}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
