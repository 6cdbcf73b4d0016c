"""The monitor's admin routes, behind the same token as the rest of ``/admin``.

GET  /admin/monitor/report[?hours=24&org=NAME]   live assessments + latest findings
GET  /admin/monitor/findings[?org=&status=]      findings, latest first
POST /admin/monitor/evaluate {"hours", "org"}    record findings, apply the policy
POST /admin/monitor/findings/{id}/apply {"action", "reason"}
                                                 flag | throttle | suspend | revoke | dismiss
                                                 (open findings only, else 409) | restore
                                                 (a finding whose suspension was applied)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchwarden.api import fields
from benchwarden.api.errors import ApiError
from benchwarden.warden.http_io import json_response, read_body
from benchwarden.warden.monitor.responses import ResponseError
from benchwarden.warden.monitor.service import MonitorService, finding_view
from benchwarden.warden.watch import RevocationWatch

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]
_BODY_LIMIT = 16_000


def _hours(raw: Any) -> float:
    try:
        hours = float(raw)
    except (TypeError, ValueError):
        raise ApiError(400, "invalid_request", "hours must be a number.") from None
    if not 0 < hours <= 24 * 90:
        raise ApiError(400, "invalid_request", "hours must be between 0 and 2160.")
    return hours


class MonitorApi:
    def __init__(
        self, service: MonitorService, watch: RevocationWatch, executor: Executor | None
    ) -> None:
        self.service = service
        self.watch = watch
        self.executor = executor

    def routes(self, guard: Callable[[Handler], Handler]) -> list[Route]:
        return [
            Route("/admin/monitor/report", guard(self.report), methods=["GET"]),
            Route("/admin/monitor/findings", guard(self.findings), methods=["GET"]),
            Route("/admin/monitor/evaluate", guard(self.evaluate), methods=["POST"]),
            Route(
                "/admin/monitor/findings/{finding_id:int}/apply",
                guard(self.apply),
                methods=["POST"],
            ),
        ]

    async def _run(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, work)
        except ResponseError as exc:
            raise ApiError(exc.status, exc.code, str(exc)) from exc

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await read_body(request, _BODY_LIMIT)
        return fields.parse_json_object(raw) if raw.strip() else {}

    async def report(self, request: Request) -> Response:
        hours = _hours(request.query_params.get("hours", "24"))
        org = request.query_params.get("org")
        body = await self._run(partial(self.service.report, None, hours, org))
        return json_response(body)

    async def findings(self, request: Request) -> Response:
        query = request.query_params
        rows = await self._run(
            partial(self.service.findings, query.get("org"), query.get("status"))
        )
        return json_response({"data": [finding_view(r) for r in rows]})

    async def evaluate(self, request: Request) -> Response:
        data = await self._body(request)
        hours = _hours(data.get("hours", 24))
        org = fields.get_text(data, "org")
        work = partial(self.service.evaluate, None, hours, org, actor="admin-api:policy")
        rows = await self._run(work)
        self.watch.poke()
        return json_response({"data": [finding_view(r) for r in rows]})

    async def apply(self, request: Request) -> Response:
        data = await self._body(request)
        action = fields.get_text(data, "action", required=True) or ""
        reason = fields.get_text(data, "reason")
        finding_id = int(request.path_params["finding_id"])
        work = partial(self.service.apply, finding_id, action, actor="admin-api", reason=reason)
        applied = await self._run(work)
        self.watch.poke()
        return json_response(
            {
                "finding": finding_view(applied.finding),
                "action": applied.action,
                "changes": applied.changes,
            }
        )
