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
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from benchwarden.api.errors import ApiError, Dialect, invalid
from benchwarden.api.fields import parse_json_object
from benchwarden.api.observe import Api
from benchwarden.api.wire import ParsedCall, Wire
from benchwarden.models.content import ToolCall
from benchwarden.models.errors import ModelError
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import Usage
from benchwarden.warden.agents import agent_context, agent_flags
from benchwarden.warden.backends import Backends
from benchwarden.warden.failures import api_error_for
from benchwarden.warden.gate import Admission, Gate
from benchwarden.warden.http_io import (
    error_response,
    json_response,
    plain_headers,
    read_body,
    with_limit_headers,
)
from benchwarden.warden.monitor.text import probe_flags
from benchwarden.warden.relay import RelayCall, forwarded_body, forwarded_headers
from benchwarden.warden.streaming import Pump, SSEResponse, Stopped, StreamCall, until_stopped
from benchwarden.warden.tokens import Meter, rough_estimate
from benchwarden.warden.watch import RevocationWatch, Ticket

_cleanups: set[asyncio.Task[None]] = set()


@dataclass(slots=True)
class Services:
    gate: Gate
    backends: Backends
    watch: RevocationWatch
    max_body_bytes: int


@dataclass(frozen=True, slots=True)
class Plan:
    """How an admitted call reaches its backend."""

    relayed: bool
    removed: tuple[tuple[int, str], ...] = ()  # hosted tools taken out

    def headers(self) -> dict[str, str]:
        if not self.removed:
            return {}
        return {"benchwarden-removed-tools": ", ".join(kind for _, kind in self.removed)}


def plan_call(call: ParsedCall, api: Api, backends: Backends) -> Plan:
    """Relay or translate, and which hosted tools go; raises the 400 of a call that
    cannot reach this backend as sent. Pure over the backends' declared routes."""
    if call.model not in backends:
        return Plan(relayed=False)
    route = backends.routes[call.model]
    relayed = api in route.apis
    if not relayed and call.untranslatable:
        field = call.untranslatable[0]
        raise invalid(
            f"Field '{field}' can only be served by a backend of the API it belongs to; "
            f"{call.model!r} is served through another API here. Leave it out, or use a "
            "model served through this API.",
            "unsupported",
        )
    hosted = call.hosted_tools
    if hosted and route.hosted_tools == "refuse" and not relayed:
        index, kind = hosted[0]
        raise invalid(
            f"Field 'tools[{index}]': the hosted tool {kind!r} cannot run on the backend "
            f"of {call.model!r}; leave it out.",
            "unsupported",
        )
    if not relayed and backends.specs[call.model].provider == "anthropic":
        _check_object_arguments(call)
    dropped = not relayed or route.hosted_tools == "drop"
    return Plan(relayed=relayed, removed=hosted if dropped else ())


def _check_object_arguments(call: ParsedCall) -> None:
    """Anthropic takes a tool call's input as a JSON object only; OpenAI's APIs carry
    the model's text as it was. A past call that is not an object cannot go there."""
    for index, message in enumerate(call.request.messages):
        for number, part in enumerate(message.parts):
            if not isinstance(part, ToolCall) or part.kind != "function":
                continue
            try:
                value = part.parsed()
            except ValueError:
                value = None
            if not isinstance(value, dict):
                place = call.places.get((index, number), f"messages ({index})")
                suffix = ".function.arguments" if ".tool_calls[" in place else ".arguments"
                raise invalid(
                    f"Field '{place}{suffix}' must be a JSON object to reach "
                    f"{call.model!r} (its backend takes tool inputs as objects).",
                )


async def serve_call(
    request: Request,
    wire: Wire,
    dialect: Dialect,
    endpoint: str,
    services: Services,
    api: Api | None = None,
) -> Response:
    call: ParsedCall | None = None
    body_error: ApiError | None = None
    digest: str | None = None
    flags: list[str] = []
    plan = Plan(relayed=False)
    headers = plain_headers(request)
    try:
        body = await read_body(request, services.max_body_bytes, headers.get("content-length"))
        digest = hashlib.sha256(body).hexdigest()
        data = parse_json_object(body)
        if services.gate.recorder is not None:
            flags = probe_flags(data)
        call = wire.parse(data)
        if api is not None:
            plan = plan_call(call, api, services.backends)
    except ApiError as exc:
        body_error = exc
    context = agent_context(call, headers, plan.relayed, plan.removed) if call else {}
    if call is not None and services.gate.recorder is not None:
        flags = sorted({*flags, *agent_flags(call, headers)})
    try:
        admission = await services.gate.admit(
            endpoint, headers, call, body_error, digest, flags=flags, context=context
        )
    except ApiError as exc:
        return error_response(dialect, exc)
    assert call is not None
    response = await _admitted(services, admission, call, wire, dialect, plan, headers, api)
    return with_limit_headers(response, dialect, admission.reservation.snapshot)


async def _admitted(
    services: Services,
    admission: Admission,
    call: ParsedCall,
    wire: Wire,
    dialect: Dialect,
    plan: Plan,
    headers: Mapping[str, str],
    api: Api | None,
) -> Response:
    ticket = services.watch.register(admission.key.key_id, admission.grant.id, admission.model)
    if plan.relayed and api is not None:
        return await _relay(services, admission, ticket, call, api, dialect, plan, headers)
    try:
        client = services.backends.client(call.model)
    except ModelError as exc:
        return _failed(services, admission, ticket, dialect, api_error_for(exc))
    extra = plan.headers()
    if call.stream:
        return await _open_stream(services, admission, ticket, client, call, wire, dialect, extra)
    return await _complete(services, admission, ticket, client, call, wire, dialect, extra)


async def _relay(
    services: Services,
    admission: Admission,
    ticket: Ticket,
    call: ParsedCall,
    api: Api,
    dialect: Dialect,
    plan: Plan,
    headers: Mapping[str, str],
) -> Response:
    backends = services.backends
    spec = backends.specs[call.model]
    try:
        relay = backends.relay(call.model)
    except ModelError as exc:
        return _failed(services, admission, ticket, dialect, api_error_for(exc))
    removed = {index for index, _ in plan.removed}
    body = forwarded_body(call, spec.upstream_model, removed, api)
    sent = forwarded_headers(headers, api, admission.purpose)
    relayed = RelayCall(
        services.gate,
        services.watch,
        admission,
        ticket,
        relay,
        api,
        dialect,
        spec.attempt_timeout_s,
    )
    if call.stream:
        return await relayed.open_stream(body, sent, plan.headers(), call.include_usage)
    return await relayed.complete(body, sent, plan.headers())


def _failed(
    services: Services, admission: Admission, ticket: Ticket, dialect: Dialect, error: ApiError
) -> Response:
    services.watch.unregister(ticket)
    services.gate.settle(admission, Usage(), "failed", error.code)
    return error_response(dialect, error)


async def _complete(
    services: Services,
    admission: Admission,
    ticket: Ticket,
    client: ModelClient,
    call: ParsedCall,
    wire: Wire,
    dialect: Dialect,
    extra: dict[str, str],
) -> Response:
    gate = services.gate
    request = dataclasses.replace(call.request, purpose=admission.purpose)
    try:
        result = await until_stopped(client.generate(request), ticket)
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
    called = [c.name for c in result.tool_calls]
    gate.settle(
        admission, result.usage, "completed", detail={"tools_called": called} if called else None
    )
    return json_response(wire.response(call, result), headers=extra or None)


async def _open_stream(
    services: Services,
    admission: Admission,
    ticket: Ticket,
    client: ModelClient,
    call: ParsedCall,
    wire: Wire,
    dialect: Dialect,
    extra: dict[str, str],
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
    return SSEResponse(stream, extra)


def _later(work: Awaitable[None]) -> None:
    """Run cleanup that cannot be awaited here (this task is being cancelled)."""

    async def run() -> None:
        with contextlib.suppress(Exception):
            await work

    task = asyncio.ensure_future(run())
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)


async def serve_count_tokens(request: Request, services: Services) -> Response:
    """``POST /v1/messages/count_tokens`` under the same terms as a message (it counts
    against the grant's requests, not its tokens): an Anthropic backend counts, any
    other gets warden's estimate."""
    from benchwarden.api import anthropic as anthropic_wire
    from benchwarden.api.fields import MAX_TOKENS_CAP

    call: ParsedCall | None = None
    body_error: ApiError | None = None
    digest: str | None = None
    try:
        body = await read_body(request, services.max_body_bytes)
        digest = hashlib.sha256(body).hexdigest()
        data = parse_json_object(body)
        sized = {"max_tokens": MAX_TOKENS_CAP, **data}
        parsed = anthropic_wire.parse_request(sized)
        call = dataclasses.replace(
            parsed, request=dataclasses.replace(parsed.request, max_tokens=1), raw=data
        )
    except ApiError as exc:
        body_error = exc
    try:
        admission = await services.gate.admit(
            "messages.count_tokens", request.headers, call, body_error, digest
        )
    except ApiError as exc:
        return error_response("anthropic", exc)
    assert call is not None
    ticket = services.watch.register(admission.key.key_id, admission.grant.id, admission.model)
    backends = services.backends
    try:
        if backends.relays(call.model, "anthropic"):
            spec = backends.specs[call.model]
            forwarded = {**call.raw, "model": spec.upstream_model}
            counted = await until_stopped(
                backends.relay(call.model).post(
                    "/v1/messages/count_tokens",
                    forwarded,
                    forwarded_headers(request.headers, "anthropic", admission.purpose),
                    spec.attempt_timeout_s,
                ),
                ticket,
            )
        else:
            counted = anthropic_wire.count_tokens_body(rough_estimate(call.request))
    except Stopped as stopped:
        services.watch.unregister(ticket)
        services.gate.settle(admission, Usage(), "ended", stopped.refusal.code)
        return error_response("anthropic", stopped.refusal.error())
    except ModelError as exc:
        return _failed(services, admission, ticket, "anthropic", api_error_for(exc))
    services.watch.unregister(ticket)
    services.gate.settle(admission, Usage(), "completed")
    return json_response(counted)
