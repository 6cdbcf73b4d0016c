"""The generation endpoints, dispatched without Starlette's middleware stack.

Starlette runs every request through ServerErrorMiddleware, ExceptionMiddleware, the
router's linear match and two exception-handling wrappers; profiled under load, that
was about a tenth of warden's CPU per generation request, for nothing those routes
use (they raise no HTTPException and answer every refusal themselves). ``WardenApp``
sends ``POST`` to those paths straight to their handlers and everything else (other
methods, other paths, the lifespan) through Starlette as before. An unexpected
exception still becomes the logged 500 ``internal_error`` the app's handler gives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


class WardenApp(Starlette):
    """A Starlette app with a direct path for a few ``POST`` routes (``fast_post``)."""

    fast_post: Mapping[str, Handler] = {}
    on_error: ErrorHandler | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("root_path")
            and (handler := self.fast_post.get(scope["path"])) is not None
            and self.on_error is not None
        ):
            scope["app"] = self
            request = Request(scope, receive, send)
            try:
                response = await handler(request)
            except Exception as exc:  # nothing sent yet: answer the logged 500
                response = await self.on_error(request, exc)
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
