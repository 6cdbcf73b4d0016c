"""Reading request bodies within a size cap, and writing JSON and error responses."""

from __future__ import annotations

from typing import Any

from starlette.requests import ClientDisconnect, Request
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


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes: a declared
    Content-Length is checked before anything is read, a chunked body as it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, "invalid_request", "Content-Length is not a number.") from None
        if size > limit:
            raise too_large(limit)
    chunks: list[bytes] = []
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "The client went away.") from None
    return b"".join(chunks)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def error_response(dialect: Dialect, error: ApiError) -> JSONResponse:
    headers = error_headers(error)
    if isinstance(error, LimitRefusal):  # warden's own 429: the grant's headers too
        headers.update(limit_headers(dialect, error.snapshot))
    return JSONResponse(error_body(dialect, error), status_code=error.status, headers=headers)


def with_limit_headers(
    response: Response, dialect: Dialect, snapshot: LimitSnapshot | None
) -> Response:
    """The grant's rate-limit headers on an admitted call's answer (see limit_headers)."""
    response.headers.update(limit_headers(dialect, snapshot))
    return response
