"""The generation endpoints' flow, shared by both wire formats.

read (capped) -> parse -> admit (gate) -> call the backend -> answer, settling the call
exactly once however it ends. A plain call races the backend against its ticket (a
revocation ends it with the refusal); a streamed call reads its first delta before
answering, so a backend that fails at once gets a proper HTTP error, not a 200 stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response

from benchwarden.api.errors import ApiError, Dialect
from benchwarden.api.fields import parse_json_object
from benchwarden.api.wire import ParsedCall, Wire
from benchwarden.models.errors import ModelError
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import Usage
from benchwarden.warden.backends import Backends
from benchwarden.warden.failures import api_error_for
from benchwarden.warden.gate import Admission, Gate
from benchwarden.warden.http_io import error_response, json_response, read_body
from benchwarden.warden.monitor.text import probe_flags
from benchwarden.warden.streaming import Pump, SSEResponse, Stopped, StreamCall
from benchwarden.warden.tokens import Meter, rough_estimate
from benchwarden.warden.watch import RevocationWatch, Ticket

T = TypeVar("T")
_cleanups: set[asyncio.Task[None]] = set()


@dataclass(slots=True)
class Services:
    gate: Gate
    backends: Backends
    watch: RevocationWatch
    max_body_bytes: int


async def serve_call(
    request: Request, wire: Wire, dialect: Dialect, endpoint: str, services: Services
) -> Response:
    call: ParsedCall | None = None
    body_error: ApiError | None = None
    digest: str | None = None
    flags: list[str] = []
    try:
        body = await read_body(request, services.max_body_bytes)
        digest = hashlib.sha256(body).hexdigest()
        data = parse_json_object(body)
        if services.gate.recorder is not None:
            flags = probe_flags(data)
        call = wire.parse(data)
    except ApiError as exc:
        body_error = exc
    try:
        admission = await services.gate.admit(
            endpoint, request.headers, call, body_error, digest, flags=flags
        )
    except ApiError as exc:
        return error_response(dialect, exc)
    assert call is not None
    ticket = services.watch.register(admission.key.key_id, admission.grant.id, admission.model)
    try:
        client = services.backends.client(call.model)
    except ModelError as exc:
        return _failed(services, admission, ticket, dialect, api_error_for(exc))
    if call.stream:
        return await _open_stream(services, admission, ticket, client, call, wire, dialect)
    return await _complete(services, admission, ticket, client, call, wire, dialect)


def _failed(
    services: Services, admission: Admission, ticket: Ticket, dialect: Dialect, error: ApiError
) -> Response:
    services.watch.unregister(ticket)
    services.gate.settle(admission, Usage(), "failed", error.code)
    return error_response(dialect, error)


async def _until_stopped(work: Awaitable[T], ticket: Ticket) -> T:
    """``work``'s result, unless the ticket is stopped first (raises Stopped)."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(ticket.stopped.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if stop.done():
            assert ticket.reason is not None
            raise Stopped(ticket.reason)
        return task.result()
    finally:
        for pending in (task, stop):
            if not pending.done():
                pending.cancel()


async def _complete(
    services: Services,
    admission: Admission,
    ticket: Ticket,
    client: ModelClient,
    call: ParsedCall,
    wire: Wire,
    dialect: Dialect,
) -> Response:
    gate = services.gate
    request = dataclasses.replace(call.request, purpose=admission.purpose)
    try:
        result = await _until_stopped(client.generate(request), ticket)
    except Stopped as stopped:
        services.watch.unregister(ticket)
        gate.settle(admission, Usage(), "ended", stopped.refusal.code)
        return error_response(dialect, stopped.refusal.error())
    except ModelError as exc:
        return _failed(services, admission, ticket, dialect, api_error_for(exc))
    except BaseException:
        services.watch.unregister(ticket)
        gate.settle(admission, Usage(admission.prompt_tokens, 0), "aborted", "client_disconnected")
        raise
    services.watch.unregister(ticket)
    gate.settle(admission, result.usage, "completed")
    return json_response(wire.response(call, result))


async def _open_stream(
    services: Services,
    admission: Admission,
    ticket: Ticket,
    client: ModelClient,
    call: ParsedCall,
    wire: Wire,
    dialect: Dialect,
) -> Response:
    gate = services.gate
    request = dataclasses.replace(call.request, purpose=admission.purpose)
    pump = Pump(client.stream(request), ticket)
    try:
        first = await pump.next()
    except (Stopped, ModelError) as exc:
        error = exc.refusal.error() if isinstance(exc, Stopped) else api_error_for(exc)
        services.watch.unregister(ticket)
        outcome = "ended" if isinstance(exc, Stopped) else "failed"
        gate.settle(admission, Usage(), outcome, error.code)
        await pump.aclose()
        return error_response(dialect, error)
    except BaseException:
        services.watch.unregister(ticket)
        gate.settle(admission, Usage(admission.prompt_tokens, 0), "aborted", "client_disconnected")
        _later(pump.aclose())
        raise
    meter = Meter(
        gate.limiter,
        admission.reservation,
        admission.prompt_tokens,
        call.request.max_tokens,
        gate.monotonic,
    )
    stream = StreamCall(
        admission,
        gate,
        services.watch,
        ticket,
        pump,
        wire.encoder(call),
        meter,
        first,
        rough_estimate(call.request),
    )
    return SSEResponse(stream)


def _later(work: Awaitable[None]) -> None:
    """Run cleanup that cannot be awaited here (this task is being cancelled)."""

    async def run() -> None:
        with contextlib.suppress(Exception):
            await work

    task = asyncio.ensure_future(run())
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)
