"""One streamed answer: backend deltas in, the API's server-sent events out.

``Pump`` takes the backend's next delta unless the call's ticket is stopped first
(revocation), so a stream waiting on a slow model still ends at once. ``StreamCall``
meters each piece (``tokens.Meter``), ends the stream cleanly with the API's proper
final events when ``max_tokens`` or the grant's TPM would be passed, sends an error
event when the key is revoked or the upstream fails, and settles the call exactly
once, whichever way it ends (client gone included).

Settling is synchronous on purpose: a disconnect cancels the response task, and only
code that does not await is sure to run in a cancelled task. The async part (closing
the backend stream) runs in ``SSEResponse.__call__``'s ``finally``, outside the
cancelled scope; it also covers a response whose body was never started.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from benchwarden.api.errors import ApiError, Dialect, error_body
from benchwarden.api.wire import StreamEncoder, new_id, sse
from benchwarden.models.errors import ModelError
from benchwarden.models.types import FinishReason, StreamDelta, Usage
from benchwarden.warden.failures import api_error_for
from benchwarden.warden.gate import Admission, Gate
from benchwarden.warden.policy import Refuse
from benchwarden.warden.tokens import Meter
from benchwarden.warden.watch import RevocationWatch, Ticket

_END = object()
T = TypeVar("T")


class Stopped(Exception):
    """The call's key or grant no longer allows it."""

    def __init__(self, refusal: Refuse) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


async def _first_done(a: asyncio.Future[Any], b: asyncio.Future[Any]) -> None:
    """Return once either is done: ``asyncio.wait(FIRST_COMPLETED)`` for two futures,
    without its per-call set building and coroutine checks (it ran on every request
    and on every streamed event)."""
    if a.done() or b.done():
        return
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(_: asyncio.Future[Any]) -> None:
        if not waiter.done():
            waiter.set_result(None)

    a.add_done_callback(wake)
    b.add_done_callback(wake)
    try:
        await waiter
    finally:
        a.remove_done_callback(wake)
        b.remove_done_callback(wake)


async def until_stopped(work: Awaitable[T], ticket: Ticket) -> T:
    """``work``'s result, unless the ticket is stopped first (raises Stopped)."""
    if ticket.reason is not None:
        if asyncio.iscoroutine(work):
            work.close()  # never started: no "never awaited" warning
        raise Stopped(ticket.reason)
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(ticket.stopped.wait())
    try:
        await _first_done(task, stop)
        if stop.done():
            assert ticket.reason is not None
            raise Stopped(ticket.reason)
        return task.result()
    finally:
        for pending in (task, stop):
            if not pending.done():
                pending.cancel()


def stream_error(api: str, dialect: Dialect, error: ApiError) -> bytes:
    """The event that ends a stream with warden's refusal, in the stream's own API."""
    if api == "responses":
        body = {"code": error.code, "message": error.message}
        response = {"id": new_id("resp_"), "object": "response", "status": "failed", "error": body}
        return sse({"type": "response.failed", "response": response}, "response.failed")
    if dialect == "anthropic":
        return sse(error_body("anthropic", error), "error")
    return sse(error_body("openai", error))


async def _advance(stream: AsyncIterator[Any]) -> Any:
    try:
        return await anext(stream)
    except StopAsyncIteration:
        return _END


class Pump(Generic[T]):
    def __init__(self, stream: AsyncIterator[T], ticket: Ticket) -> None:
        self._stream = stream
        self._ticket = ticket
        self._next: asyncio.Task[Any] | None = None
        self._stop: asyncio.Task[Any] | None = None
        self._closed = False

    def _refusal(self) -> Refuse:
        assert self._ticket.reason is not None
        return self._ticket.reason

    async def next(self) -> T | None:
        """The next delta; None at the end. Raises Stopped, or the backend's ModelError."""
        if self._ticket.reason is not None:
            raise Stopped(self._refusal())
        if self._stop is None:
            self._stop = asyncio.ensure_future(self._ticket.stopped.wait())
        self._next = asyncio.ensure_future(_advance(self._stream))
        await _first_done(self._next, self._stop)
        if self._stop.done():
            raise Stopped(self._refusal())
        done, self._next = self._next, None
        item = done.result()
        return None if item is _END else item

    async def aclose(self) -> None:
        """Stop reading and close the backend stream (its connection, its model slot)."""
        if self._closed:
            return
        self._closed = True
        for task in (self._next, self._stop):
            if task is not None and not task.done():
                task.cancel()
        if self._next is not None:
            with contextlib.suppress(BaseException):
                await self._next
        closer = getattr(self._stream, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()


class StreamCall:
    def __init__(
        self,
        admission: Admission,
        gate: Gate,
        watch: RevocationWatch,
        ticket: Ticket,
        pump: Pump[StreamDelta],
        encoder: StreamEncoder,
        meter: Meter,
        first: StreamDelta | None,
        input_estimate: int,
    ) -> None:
        self.admission = admission
        self.gate = gate
        self.watch = watch
        self.ticket = ticket
        self.pump = pump
        self.encoder = encoder
        self.meter = meter
        self.first = first
        self.input_estimate = input_estimate
        self.finished = False
        self.tools_called: list[str] = []

    def finish(self, outcome: str, code: str | None, usage: Usage) -> None:
        """Settle once; later calls do nothing. Never awaits, never raises."""
        if self.finished:
            return
        self.finished = True
        self.watch.unregister(self.ticket)
        detail: dict[str, Any] = {"pieces": self.meter.output}
        if self.tools_called:
            detail["tools_called"] = self.tools_called[:64]
        self.gate.settle(self.admission, usage, outcome, code, detail)

    async def body(self) -> AsyncIterator[bytes]:
        try:
            yield self.encoder.start(self.input_estimate)
            finish: FinishReason | None = None
            reported: Usage | None = None
            delta = self.first
            while delta is not None:
                if delta.text or delta.reasoning or delta.tool_call is not None:
                    why = await self.meter.admit()
                    if why is not None:
                        usage = self.meter.counted()
                        self.finish("cut", why, usage)
                        yield self.encoder.end(FinishReason.LENGTH, usage)
                        return
                if delta.tool_call is not None and delta.tool_call.name:
                    self.tools_called.append(delta.tool_call.name)
                piece = self.encoder.delta(delta)
                if piece:
                    yield piece
                finish = delta.finish_reason or finish
                reported = delta.usage or reported
                try:
                    delta = await self.pump.next()
                except Stopped as stopped:
                    self.finish("ended", stopped.refusal.code, self.meter.counted())
                    yield self.encoder.error(stopped.refusal.error())
                    return
                except ModelError as exc:
                    error = api_error_for(exc)
                    self.finish("failed", error.code, self.meter.counted())
                    yield self.encoder.error(error)
                    return
            usage = reported if reported and reported.total_tokens else self.meter.counted()
            self.finish("completed", None, usage)
            yield self.encoder.end(finish or FinishReason.STOP, usage)
        finally:
            self.finish("aborted", "client_disconnected", self.meter.counted())


class StreamBody(StreamingResponse):
    """Server-sent events from ``body``; ``finish`` settles (sync, never raises) and
    ``close`` releases the backend, however the response ends."""

    def __init__(
        self,
        body: AsyncIterator[bytes],
        finish: Callable[[], None],
        close: Callable[[], Awaitable[None]],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})},
        )
        self._finish = finish
        self._close = close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._finish()
            await self._close()


class SSEResponse(StreamingResponse):
    """Server-sent events of one ``StreamCall``; always settles and closes the backend."""

    def __init__(self, call: StreamCall, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            call.body(),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})},
        )
        self.call = call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.call.finish("aborted", "client_disconnected", self.call.meter.counted())
            await self.call.pump.aclose()
