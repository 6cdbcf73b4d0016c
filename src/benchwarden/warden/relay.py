"""Serving a call by forwarding the client's body to a backend of the same API.

The body goes as sent: only ``model`` becomes the upstream's name, hosted tools the
backend's policy removes are taken out, and a Chat Completions stream asks for usage
(the usage chunk is kept from a client that did not ask). The answer comes back as
the upstream sent it, the model name aside; a stream is forwarded event by event,
each read for the gateway's own needs (usage, tools called, pieces against the
grant's TPM) and ended by warden's error event when the key is revoked mid-stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.responses import Response

from benchwarden.api.errors import ApiError, Dialect
from benchwarden.api.observe import Api, StreamObserver, body_tools_called, body_usage
from benchwarden.api.wire import ParsedCall, sse
from benchwarden.models.errors import ModelError
from benchwarden.models.http_base import PURPOSE_HEADER
from benchwarden.models.relay import Relay
from benchwarden.models.types import Usage
from benchwarden.warden.failures import api_error_for
from benchwarden.warden.gate import Admission, Gate
from benchwarden.warden.http_io import error_response, json_response
from benchwarden.warden.streaming import Pump, Stopped, StreamBody, stream_error, until_stopped
from benchwarden.warden.tokens import Meter
from benchwarden.warden.watch import RevocationWatch, Ticket

PATHS: dict[Api, str] = {
    "anthropic": "/v1/messages",
    "chat": "/chat/completions",
    "responses": "/responses",
}
# Client headers an upstream of the same API needs to serve the body as meant.
FORWARDED_HEADERS = ("anthropic-beta", "anthropic-version", "openai-beta")


def forwarded_body(
    call: ParsedCall, upstream_model: str, removed: set[int], api: Api
) -> dict[str, Any]:
    body = dict(call.raw)
    body["model"] = upstream_model
    if removed and isinstance(body.get("tools"), list):
        body["tools"] = [t for i, t in enumerate(body["tools"]) if i not in removed]
    if api == "chat" and call.stream:
        options = dict(body.get("stream_options") or {})
        options["include_usage"] = True
        body["stream_options"] = options
    return body


def forwarded_headers(
    headers: Mapping[str, str], api: Api, purpose: str | None = None
) -> dict[str, str]:
    sent = {name: headers[name] for name in FORWARDED_HEADERS if name in headers}
    if purpose:  # the admitted purpose, for an upstream that is itself under terms
        sent[PURPOSE_HEADER] = purpose
    if api == "anthropic":
        sent.setdefault("anthropic-version", "2023-06-01")
    return sent


def _served_name(data: dict[str, Any], api: Api, served: str) -> bool:
    """The client asked for the served name; it gets that name back. True when a name
    had to change."""
    changed = False
    if "model" in data and data["model"] != served:
        data["model"] = served
        changed = True
    for key in ("message", "response"):  # message_start; response.created/completed
        inner = data.get(key)
        if isinstance(inner, dict) and "model" in inner and inner["model"] != served:
            inner["model"] = served
            changed = True
    return changed


class RelayCall:
    """One admitted call forwarded to its backend."""

    def __init__(
        self,
        gate: Gate,
        watch: RevocationWatch,
        admission: Admission,
        ticket: Ticket,
        relay: Relay,
        api: Api,
        dialect: Dialect,
        timeout_s: float,
    ) -> None:
        self.gate = gate
        self.watch = watch
        self.admission = admission
        self.ticket = ticket
        self.relay = relay
        self.api = api
        self.dialect = dialect
        self.timeout_s = timeout_s

    def _settle(self, usage: Usage, outcome: str, code: str | None, called: list[str]) -> None:
        self.watch.unregister(self.ticket)
        detail = {"tools_called": called[:64]} if called else {}
        self.gate.settle(self.admission, usage, outcome, code, detail)

    async def complete(
        self, body: dict[str, Any], headers: dict[str, str], extra: dict[str, str]
    ) -> Response:
        try:
            data = await until_stopped(
                self.relay.post(PATHS[self.api], body, headers, self.timeout_s), self.ticket
            )
        except Stopped as stopped:
            self._settle(Usage(), "ended", stopped.refusal.code, [])
            return error_response(self.dialect, stopped.refusal.error())
        except ModelError as exc:
            error = api_error_for(exc)
            self._settle(Usage(), "failed", error.code, [])
            return error_response(self.dialect, error)
        except BaseException:
            self._settle(
                Usage(self.admission.prompt_tokens, 0), "aborted", "client_disconnected", []
            )
            raise
        _served_name(data, self.api, self.admission.model)
        self._settle(
            body_usage(self.api, data), "completed", None, body_tools_called(self.api, data)
        )
        return json_response(data, headers=extra)

    async def open_stream(
        self,
        body: dict[str, Any],
        headers: dict[str, str],
        extra: dict[str, str],
        client_wants_usage: bool,
    ) -> Response:
        opened = self.relay.stream(PATHS[self.api], body, headers, self.timeout_s)
        events = _events(opened)
        pump: Pump[tuple[str | None, str]] = Pump(events, self.ticket)
        try:
            first = await pump.next()
        except (Stopped, ModelError) as exc:
            error = exc.refusal.error() if isinstance(exc, Stopped) else api_error_for(exc)
            self._settle(Usage(), "ended" if isinstance(exc, Stopped) else "failed", error.code, [])
            await pump.aclose()
            return error_response(self.dialect, error)
        except BaseException:
            self._settle(
                Usage(self.admission.prompt_tokens, 0), "aborted", "client_disconnected", []
            )
            await pump.aclose()
            raise
        meter = Meter(
            self.gate.limiter,
            self.admission.reservation,
            self.admission.prompt_tokens,
            # The upstream enforces the request's own max_tokens; the meter holds the TPM.
            1 << 62,
            self.gate.monotonic,
        )
        stream = _RelayedStream(self, pump, first, meter, client_wants_usage)
        return StreamBody(stream.body(), stream.finish_aborted, pump.aclose, extra)


async def _events(
    opened: AbstractAsyncContextManager[AsyncIterator[tuple[str | None, str]]],
) -> AsyncIterator[tuple[str | None, str]]:
    async with opened as events:
        async for event in events:
            yield event


class _RelayedStream:
    def __init__(
        self,
        call: RelayCall,
        pump: Pump[tuple[str | None, str]],
        first: tuple[str | None, str] | None,
        meter: Meter,
        client_wants_usage: bool,
    ) -> None:
        self.call = call
        self.pump = pump
        self.first = first
        self.meter = meter
        self.observer = StreamObserver(call.api)
        self.client_wants_usage = client_wants_usage
        self.finished = False

    def finish(self, outcome: str, code: str | None) -> None:
        if self.finished:
            return
        self.finished = True
        seen = self.observer.usage
        usage = seen if seen.total_tokens else self.meter.counted()
        self.call._settle(usage, outcome, code, self.observer.tools_called)

    def finish_aborted(self) -> None:
        self.finish("aborted", "client_disconnected")

    async def _forward(self, event: str | None, data: str) -> bytes | None:
        """The bytes to send for one upstream event (None: keep it back)."""
        if data.strip() == "[DONE]":
            return sse("[DONE]", event)
        try:
            parsed = json.loads(data)
        except ValueError:
            return sse(data, event)
        if not isinstance(parsed, dict):
            return sse(data, event)
        pieces = self.observer.see(parsed)
        for _ in range(pieces):
            why = await self.meter.admit()
            if why is not None:
                raise _Cut(why)
        usage_only = self.call.api == "chat" and not parsed.get("choices") and "usage" in parsed
        if usage_only and not self.client_wants_usage:
            return None
        changed = False
        if self.call.api == "chat" and not self.client_wants_usage:
            changed = "usage" in parsed  # a null one too: the client did not ask
            parsed.pop("usage", None)
        changed = _served_name(parsed, self.call.api, self.call.admission.model) or changed
        if not changed and "\n" not in data:
            return sse(data, event)  # as the upstream sent it: no second serialisation
        return sse(parsed, event)

    async def body(self) -> AsyncIterator[bytes]:
        try:
            item = self.first
            while item is not None:
                try:
                    out = await self._forward(*item)
                except _Cut:
                    self.finish("cut", "token_limit")
                    yield stream_error(self.call.api, self.call.dialect, _token_limit())
                    return
                if out is not None:
                    yield out
                try:
                    item = await self.pump.next()
                except Stopped as stopped:
                    self.finish("ended", stopped.refusal.code)
                    yield stream_error(self.call.api, self.call.dialect, stopped.refusal.error())
                    return
                except ModelError as exc:
                    error = api_error_for(exc)
                    self.finish("failed", error.code)
                    yield stream_error(self.call.api, self.call.dialect, error)
                    return
            if self.observer.error is not None:
                self.finish("failed", str(self.observer.error.get("code") or "upstream_error"))
            else:
                self.finish("completed", None)
        finally:
            self.finish_aborted()


class _Cut(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _token_limit() -> ApiError:
    return ApiError(
        429,
        "token_limit",
        "The grant's tokens-per-minute limit was reached during this answer; the stream "
        "was ended. Retry later.",
        retry_after_s=1.0,
    )
