"""Reading request bodies within a size cap, and writing JSON and error responses."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from benchwarden.api.errors import ApiError, Dialect, error_body, error_headers
from benchwarden.warden.limit_headers import LimitRefusal, LimitSnapshot, limit_headers

# Agent sessions send their whole history on every turn: megabytes. The providers'
# own limits are tens of MB (Anthropic's Messages API: 32 MB); ``serve --max-body-mb``.
MAX_BODY_BYTES = 32_000_000


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "request_too_large",
        f"The request body is larger than {limit} bytes; shorten the prompt.",
        retryable=False,
    )


async def read_body(
    request: Request, limit: int = MAX_BODY_BYTES, declared: str | None = None
) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes: a declared
    Content-Length (``declared``, else read from the request) is checked before
    anything is read, a chunked body as it arrives."""
    if declared is None:
        declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "invalid_request", "Content-Length is not a number.") from None
        if size > limit:
            raise too_large(limit)
    # The ASGI messages directly (Request.stream() is an async generator around the
    # same loop): one message for almost every body.
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "client_disconnected", "The client went away.")
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# Starlette's JSONResponse.render, with the encoder built once instead of per answer.
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class _JSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _ENCODE(content).encode("utf-8")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return _JSONResponse(data, status_code=status, headers=headers)


def error_response(dialect: Dialect, error: ApiError) -> JSONResponse:
    headers = error_headers(error)
    if isinstance(error, LimitRefusal):  # warden's own 429: the grant's headers too
        headers.update(limit_headers(dialect, error.snapshot))
    return _JSONResponse(error_body(dialect, error), status_code=error.status, headers=headers)


def with_limit_headers(
    response: Response, dialect: Dialect, snapshot: LimitSnapshot | None
) -> Response:
    """The grant's rate-limit headers on an admitted call's answer (see limit_headers).
    Appended to the raw list: the answer carries none of them yet, and MutableHeaders
    would scan the list once per header."""
    response.raw_headers.extend(
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in limit_headers(dialect, snapshot).items()
    )
    return response


def plain_headers(request: Request) -> dict[str, str]:
    """The request's headers as a plain dict (first value of a repeated name, as
    Starlette's ``Headers`` gives): every lookup after that is a hash, not a scan."""
    raw = request.scope["headers"]
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(raw)}
