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


class Pump(Generic[T]):
    """Reads the backend's stream in the caller's own task (no task per delta: that,
    and racing it against the stop, was a fifth of a streamed call's CPU). While it
    waits, a stop of the ticket cancels the caller; that cancellation is taken back
    here and becomes ``Stopped`` (the backend's generators see the cancellation and
    release what they hold)."""

    def __init__(self, stream: AsyncIterator[T], ticket: Ticket) -> None:
        self._stream = stream
        self._ticket = ticket
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
        reader = asyncio.current_task()
        assert reader is not None
        state = {"waiting": True, "stopped": False}

        def on_stop(_: asyncio.Future[Any]) -> None:
            # Runs as its own loop callback: only while the reader is suspended, and
            # never once it has its item (``waiting`` is cleared before any await).
            if state["waiting"]:
                state["stopped"] = True
                reader.cancel()

        self._stop.add_done_callback(on_stop)
        try:
            item = await anext(self._stream)
        except BaseException as exc:
            # Stopped while waiting: whatever the backend made of the cancellation
            # (CancelledError, or its own error), it is the stop.
            if state["stopped"] and reader.uncancel() == 0:
                raise Stopped(self._refusal()) from None
            if isinstance(exc, StopAsyncIteration) and not state["stopped"]:
                return None
            raise  # cancelled from outside too (client gone, shutdown), or a failure
        finally:
            state["waiting"] = False
            self._stop.remove_done_callback(on_stop)
        if state["stopped"]:  # the backend swallowed the cancellation
            reader.uncancel()
            raise Stopped(self._refusal())
        return item

    async def aclose(self) -> None:
        """Stop reading and close the backend stream (its connection, its model slot)."""
        if self._closed:
            return
        self._closed = True
        if self._stop is not None and not self._stop.done():
            self._stop.cancel()
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


class _EventStream(StreamingResponse):
    """A StreamingResponse that watches for the client's disconnect with one plain
    asyncio task instead of an anyio task group (its cancel scopes cost about a tenth
    of a streamed call's CPU, profiled). The listener cancels the sending task when the
    client goes; that cancellation is taken back here, so the caller's ``finally``
    (settle, close the backend) runs as after any other end."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sending = asyncio.current_task()
        assert sending is not None
        state = {"sent": False, "gone": False}

        async def listen() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    if not state["sent"]:
                        state["gone"] = True
                        sending.cancel()
                    return

        listener = asyncio.ensure_future(listen())
        try:
            await self.stream_response(send)
            state["sent"] = True  # no await since the last send: the listener cannot
            # have cancelled this task after the response was complete
        except asyncio.CancelledError:
            if not state["gone"] or sending.cancelling() > 1:
                raise  # cancelled from outside (server shutdown), not by the listener
            sending.uncancel()
        finally:
            state["sent"] = True
            listener.cancel()


class StreamBody(_EventStream):
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


class SSEResponse(_EventStream):
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
