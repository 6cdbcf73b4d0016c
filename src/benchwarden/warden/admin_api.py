"""The admin HTTP API under ``/admin``, behind ``Authorization: Bearer $BENCHWARDEN_ADMIN_TOKEN``.

Without a token configured every ``/admin`` path answers 404, as if it did not exist.
The token is compared in constant time. Changes go through ``Tenancy`` (audited, with
actor ``admin-api``) and poke the revocation watch, so streams of a key revoked here
end at once rather than within the watch interval.

    GET  /admin/orgs                      POST /admin/orgs          {"name"}
    GET  /admin/grants[?org=NAME]         POST /admin/grants        {"org", "model", "purposes",
                                                                     "rpm", "tpm",
                                                                     "max_concurrency",
                                                                     "expires_at"}
    POST /admin/grants/remove {"org", "model"}
    GET  /admin/keys[?org=NAME]           POST /admin/keys          {"org", "purposes",
                                                                     "expires_at"}
    POST /admin/keys/{key_id}/revoke {"reason"}
    GET  /admin/audit/verify              GET  /admin/audit/tail[?n=20]
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchwarden.api import fields
from benchwarden.api.errors import ApiError
from benchwarden.store.records import StoreError
from benchwarden.warden.http_io import error_response, json_response, read_body
from benchwarden.warden.tenancy import GrantTerms, Tenancy, WardenError
from benchwarden.warden.views import audit_view, grant_view, key_view, org_view, verify_view
from benchwarden.warden.watch import RevocationWatch

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]
_ADMIN_BODY_LIMIT = 64_000


class AdminApi:
    def __init__(
        self,
        tenancy: Tenancy,
        watch: RevocationWatch,
        token: str | None,
        executor: Executor | None = None,
    ) -> None:
        self.tenancy = tenancy
        self.watch = watch
        self._digest = hashlib.sha256(token.encode()).digest() if token else None
        self.executor = executor

    def routes(self) -> list[Route]:
        return [
            Route("/admin/orgs", self._guard(self.list_orgs), methods=["GET"]),
            Route("/admin/orgs", self._guard(self.create_org), methods=["POST"]),
            Route("/admin/grants", self._guard(self.list_grants), methods=["GET"]),
            Route("/admin/grants", self._guard(self.add_grant), methods=["POST"]),
            Route("/admin/grants/remove", self._guard(self.remove_grant), methods=["POST"]),
            Route("/admin/keys", self._guard(self.list_keys), methods=["GET"]),
            Route("/admin/keys", self._guard(self.create_key), methods=["POST"]),
            Route("/admin/keys/{key_id}/revoke", self._guard(self.revoke_key), methods=["POST"]),
            Route("/admin/audit/verify", self._guard(self.verify), methods=["GET"]),
            Route("/admin/audit/tail", self._guard(self.tail), methods=["GET"]),
        ]

    def guard(self, handler: Handler) -> Handler:
        """``handler`` behind the admin token (for routes defined elsewhere: the monitor)."""
        return self._guard(handler)

    def _authorized(self, request: Request) -> bool:
        assert self._digest is not None
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        presented = hashlib.sha256(given.strip().encode()).digest()
        return scheme.lower() == "bearer" and hmac.compare_digest(presented, self._digest)

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if self._digest is None:
                return error_response("openai", ApiError(404, "not_found", "Not found."))
            if not self._authorized(request):
                return error_response(
                    "openai",
                    ApiError(401, "invalid_admin_token", "Send Authorization: Bearer ADMIN_TOKEN."),
                )
            try:
                return await handler(request)
            except ApiError as exc:
                return error_response("openai", exc)
            except WardenError as exc:
                return error_response("openai", ApiError(exc.status, "admin_error", str(exc)))
            except StoreError as exc:
                return error_response("openai", ApiError(503, "store_error", str(exc)))

        return guarded

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    async def _body(self, request: Request) -> dict[str, Any]:
        return fields.parse_json_object(await read_body(request, _ADMIN_BODY_LIMIT))

    # -- handlers --------------------------------------------------------------------

    async def list_orgs(self, _request: Request) -> Response:
        orgs = await self._run(self.tenancy.list_orgs)
        return json_response({"data": [org_view(o) for o in orgs]})

    async def create_org(self, request: Request) -> Response:
        name = fields.get_text(await self._body(request), "name", required=True) or ""
        org = await self._run(partial(self.tenancy.create_org, name))
        return json_response(org_view(org), 201)

    async def list_grants(self, request: Request) -> Response:
        grants = await self._run(partial(self.tenancy.list_grants, request.query_params.get("org")))
        return json_response({"data": [grant_view(g) for g in grants]})

    async def add_grant(self, request: Request) -> Response:
        data = await self._body(request)
        terms = GrantTerms(
            purposes=_purposes(data) or ("*",),
            rpm=fields.get_int(data, "rpm", low=1),
            tpm=fields.get_int(data, "tpm", low=1),
            max_concurrency=fields.get_int(data, "max_concurrency", low=1),
            expires_at=_moment(data, "expires_at"),
        )
        org = fields.get_text(data, "org", required=True) or ""
        model = fields.get_text(data, "model", required=True) or ""
        grant = await self._run(partial(self.tenancy.add_grant, org, model, terms))
        self.watch.poke()
        return json_response(grant_view(grant), 201)

    async def remove_grant(self, request: Request) -> Response:
        data = await self._body(request)
        org = fields.get_text(data, "org", required=True) or ""
        model = fields.get_text(data, "model", required=True) or ""
        grant = await self._run(partial(self.tenancy.remove_grant, org, model))
        self.watch.poke()
        return json_response(grant_view(grant))

    async def list_keys(self, request: Request) -> Response:
        found = await self._run(partial(self.tenancy.list_keys, request.query_params.get("org")))
        return json_response({"data": [key_view(k) for k in found]})

    async def create_key(self, request: Request) -> Response:
        data = await self._body(request)
        org = fields.get_text(data, "org", required=True) or ""
        made = partial(self.tenancy.create_key, org, _purposes(data), _moment(data, "expires_at"))
        record, secret = await self._run(made)
        return json_response({**key_view(record), "key": secret}, 201)

    async def revoke_key(self, request: Request) -> Response:
        data = await self._body(request) if await _has_body(request) else {}
        reason = fields.get_text(data, "reason")
        key_id = request.path_params["key_id"]
        record, changed = await self._run(partial(self.tenancy.revoke_key, key_id, reason))
        self.watch.poke()
        return json_response({**key_view(record), "revoked_now": changed})

    async def verify(self, _request: Request) -> Response:
        report = await self._run(self.tenancy.verify_audit)
        return json_response(verify_view(report))

    async def tail(self, request: Request) -> Response:
        raw = request.query_params.get("n", "20")
        if not raw.isdigit() or not 0 < int(raw) <= 10_000:
            raise ApiError(400, "invalid_request", "n must be an integer from 1 to 10000.")
        rows = await self._run(partial(self.tenancy.audit_tail, int(raw)))
        return json_response({"data": [audit_view(r) for r in rows]})


async def _has_body(request: Request) -> bool:
    return (
        request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    )


def _purposes(data: dict[str, Any]) -> tuple[str, ...]:
    raw = data.get("purposes")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ApiError(400, "invalid_request", "Field 'purposes' must be an array of strings.")
    return tuple(fields.text(p, f"purposes[{i}]") for i, p in enumerate(raw))


def _moment(data: dict[str, Any], name: str) -> datetime | None:
    text = fields.get_text(data, name)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, "invalid_request", f"Field '{name}' must be an ISO 8601 time."
        ) from None
