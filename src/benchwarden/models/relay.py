"""A body forwarded as the client sent it, to an upstream of the same API.

No rendering and no parsing of the answer beyond splitting a stream into its events:
a field the API gains tomorrow passes through without a release. Failures are the
same typed ``ModelError``s the transports raise (``http_base``), so the gateway maps
them the same way.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from benchwarden.models.errors import ModelTimeout, UpstreamError
from benchwarden.models.http_base import CONNECT_TIMEOUT_S, HttpTransportBase
from benchwarden.models.http_errors import classify_http_error
from benchwarden.models.sse import iter_sse


class Relay(HttpTransportBase):
    """One upstream's connection pool, for forwarded bodies."""

    async def post(
        self,
        path: str,
        body: dict[str, Any],
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> dict[str, Any]:
        """The upstream's JSON answer; a 4xx/5xx raises its typed ModelError."""
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=CONNECT_TIMEOUT_S)
        try:
            async with self._http().post(
                self.endpoint + path,
                data=json.dumps(body),
                headers={"content-type": "application/json", **headers},
                timeout=timeout,
            ) as response:
                raw = await response.read()
                status, got = response.status, response.headers
        except TimeoutError as exc:
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(self.name, f"connection failed: {type(exc).__name__}") from exc
        if status >= 400:
            raise classify_http_error(self.name, status, got, raw)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise UpstreamError(self.name, "malformed JSON in the response") from exc
        if not isinstance(data, dict):
            raise UpstreamError(self.name, "unexpected response shape (not an object)")
        return data

    @asynccontextmanager
    async def stream(
        self,
        path: str,
        body: dict[str, Any],
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> AsyncIterator[AsyncIterator[tuple[str | None, str]]]:
        """The upstream's server-sent events as (event, data) pairs."""
        async with self._open_stream_with(path, body, headers, timeout_s) as lines:
            yield iter_sse(lines)

    @asynccontextmanager
    async def _open_stream_with(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str], timeout_s: float
    ) -> AsyncIterator[AsyncIterator[str]]:
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=timeout_s
        )
        sent = {"content-type": "application/json", "accept": "text/event-stream", **headers}
        try:
            response = await self._http().post(
                self.endpoint + path, data=json.dumps(body), headers=sent, timeout=timeout
            )
        except TimeoutError as exc:
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(self.name, f"connection failed: {type(exc).__name__}") from exc
        try:
            if response.status >= 400:
                try:
                    raw = await response.read()
                except (TimeoutError, aiohttp.ClientError):
                    raw = b""
                raise classify_http_error(self.name, response.status, response.headers, raw)
            yield self._lines(response)
        finally:
            response.release()
