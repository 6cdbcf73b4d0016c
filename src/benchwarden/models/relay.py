"""A body forwarded as the client sent it, to an upstream of the same API.

No rendering and no parsing of the answer beyond splitting a stream into its events:
a field the API gains tomorrow passes through without a release. Failures are the
same typed ``ModelError``s the transports raise (``http_base``), so the gateway maps
them the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from benchwarden.models.http_base import HttpTransportBase
from benchwarden.models.sse import iter_sse


class Relay(HttpTransportBase):
    """One upstream's connection pool, for forwarded bodies. ``headers`` are the
    client's own that the upstream needs (betas, versions) and the admitted purpose."""

    async def post(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str], timeout_s: float
    ) -> dict[str, Any]:
        """The upstream's JSON answer; a 4xx/5xx raises its typed ModelError."""
        return await self._post_json(path, body, timeout_s, None, headers)

    @asynccontextmanager
    async def stream(
        self, path: str, body: dict[str, Any], headers: Mapping[str, str], timeout_s: float
    ) -> AsyncIterator[AsyncIterator[tuple[str | None, str]]]:
        """The upstream's server-sent events as (event, data) pairs."""
        async with self._open_stream(path, body, timeout_s, None, headers) as lines:
            yield iter_sse(lines)
