"""What the OpenAI and Anthropic transports share: one httpx client, error mapping.

httpx directly rather than the official SDKs: the SDKs carry their own retry loops
and timeouts, which would fight the pacing layer, and they hide the rate-limit
headers we pace on. The SDKs are used in tests, as clients of warden.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx

from benchwarden.models.errors import ModelError, ModelTimeout, UpstreamError
from benchwarden.models.http_errors import classify_http_error
from benchwarden.models.pacing.headers import exhausted_quota_wait

PURPOSE_HEADER = "Benchwarden-Purpose"


class HttpTransportBase:
    """Holds the connection pool and turns httpx failures into ModelErrors."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        max_connections: int = 64,
        headers: Mapping[str, str] | None = None,
        pause: Any = None,
    ) -> None:
        self.name = name
        self.endpoint = base_url.rstrip("/")
        self._pause = pause  # callable(seconds) from the limiter, for quota headers
        self._http = httpx.AsyncClient(
            base_url=self.endpoint,
            headers=dict(headers or {}),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            timeout=httpx.Timeout(120.0, connect=10.0),
        )

    def _observe(self, headers: Mapping[str, str]) -> None:
        if self._pause is None:
            return
        wait = exhausted_quota_wait(headers)
        if wait:
            self._pause(wait)

    def _extra_headers(self, purpose: str | None) -> dict[str, str]:
        return {PURPOSE_HEADER: purpose} if purpose else {}

    async def _post_json(
        self, path: str, payload: dict[str, Any], timeout_s: float, purpose: str | None
    ) -> dict[str, Any]:
        try:
            response = await self._http.post(
                path,
                content=json.dumps(payload),
                headers={"content-type": "application/json", **self._extra_headers(purpose)},
                timeout=timeout_s,
            )
        except httpx.TimeoutException as exc:
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except httpx.TransportError as exc:
            raise UpstreamError(
                self.name,
                f"connection failed: {type(exc).__name__}",
                hint="Check that the endpoint is up.",
            ) from exc
        if response.status_code >= 400:
            raise classify_http_error(
                self.name, response.status_code, response.headers, response.content
            )
        self._observe(response.headers)
        try:
            data = response.json()
        except ValueError as exc:
            raise UpstreamError(self.name, "malformed JSON in the response") from exc
        if not isinstance(data, dict):
            raise UpstreamError(self.name, "unexpected response shape (not an object)")
        return data

    @asynccontextmanager
    async def _open_stream(
        self, path: str, payload: dict[str, Any], timeout_s: float, purpose: str | None
    ) -> AsyncIterator[httpx.Response]:
        request = self._http.build_request(
            "POST",
            path,
            content=json.dumps(payload),
            headers={
                "content-type": "application/json",
                "accept": "text/event-stream",
                **self._extra_headers(purpose),
            },
            timeout=timeout_s,
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise ModelTimeout(self.name, f"no answer within {timeout_s:.0f}s") from exc
        except httpx.TransportError as exc:
            raise UpstreamError(self.name, f"connection failed: {type(exc).__name__}") from exc
        try:
            if response.status_code >= 400:
                body = await response.aread()
                raise classify_http_error(self.name, response.status_code, response.headers, body)
            self._observe(response.headers)
            try:
                yield response
            except httpx.TimeoutException as exc:
                raise ModelTimeout(self.name, "the stream stalled") from exc
            except httpx.TransportError as exc:
                raise UpstreamError(self.name, "the stream was cut off") from exc
        finally:
            await response.aclose()

    def _bad_shape(self, what: str) -> ModelError:
        return UpstreamError(self.name, f"unexpected response shape: {what}")

    async def aclose(self) -> None:
        await self._http.aclose()
