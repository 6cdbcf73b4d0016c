"""The warden ASGI app: ``create_app(store, backends, ...)``, served by uvicorn.

    POST /v1/chat/completions   OpenAI Chat Completions (streaming included)
    POST /v1/completions        OpenAI legacy Completions, for base models (streaming too)
    POST /v1/responses          OpenAI Responses (streaming included)
    POST /v1/messages           Anthropic Messages (streaming included)
    POST /v1/messages/count_tokens  Anthropic token counting
    GET  /v1/models             the models the key's organization may use
                                (Anthropic's list format when anthropic-version is sent)
    GET  /healthz               200 when the database (and shared limits) answer, else 503
    GET  /metrics               Prometheus
    /admin/...                  see admin_api.py

The app holds no tenancy state of its own: keys and grants are read from the
database on every request, so replicas over one PostgreSQL database agree at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchwarden.api import anthropic as anthropic_wire
from benchwarden.api import completions as completions_wire
from benchwarden.api import openai as openai_wire
from benchwarden.api import responses as responses_wire
from benchwarden.api.errors import ApiError, Dialect
from benchwarden.models.config import ModelSpec
from benchwarden.store.records import StoreError
from benchwarden.store.warden_store import WardenStore, open_warden_store
from benchwarden.warden.admin_api import AdminApi
from benchwarden.warden.audit_writer import AuditWriter
from benchwarden.warden.backends import Backends, default_backends
from benchwarden.warden.fail_open import with_fail_open
from benchwarden.warden.fast_routes import WardenApp
from benchwarden.warden.gate import Gate
from benchwarden.warden.http_io import MAX_BODY_BYTES, error_response, json_response
from benchwarden.warden.limits import SlidingWindowLimiter
from benchwarden.warden.metrics import CONTENT_TYPE, WardenMetrics
from benchwarden.warden.monitor.admin import MonitorApi
from benchwarden.warden.monitor.fingerprints import FingerprintError, Fingerprints, default_path
from benchwarden.warden.monitor.recorder import UsageRecorder
from benchwarden.warden.monitor.schedule import Leadership, ScheduledEvaluation
from benchwarden.warden.monitor.scoring import Policy
from benchwarden.warden.monitor.service import MonitorService
from benchwarden.warden.notices import ChangeListener
from benchwarden.warden.sequencer import DbAuditSequencer
from benchwarden.warden.serving import Services, serve_call, serve_count_tokens
from benchwarden.warden.shared_limits import AnyLimiter, LimitsUnavailable, SharedLimiter
from benchwarden.warden.sim_clock import SimClock, SimTimeMiddleware
from benchwarden.warden.tenancy import Tenancy
from benchwarden.warden.watch import WATCH_INTERVAL_S, RevocationWatch

log = logging.getLogger("benchwarden.warden")
ADMIN_TOKEN_ENV = "BENCHWARDEN_ADMIN_TOKEN"  # noqa: S105 (a variable name)
REPLICA = f"{socket.gethostname()}:{os.getpid()}"  # which replica answered /healthz


@dataclass(frozen=True, slots=True)
class WardenSettings:
    max_body_bytes: int = MAX_BODY_BYTES
    watch_interval_s: float = WATCH_INTERVAL_S
    limit_window_s: float = 60.0
    db_threads: int = 8
    monitor: bool = True  # usage records for the monitor (off the request path)
    # Usage records are written every so often, so many at a time. Their sketches are
    # Python work on a worker thread, holding the GIL the event loop needs: at 800
    # requests a second, 0.5 s batches of up to 512 held it for tens of ms at a time
    # (added p99 47 ms, against 13 ms with the monitor off). Small, frequent batches
    # spread the same work out.
    monitor_flush_s: float = 0.1
    monitor_batch: int = 64
    # None: limits in this process; redis://HOST:PORT/DB: shared by every replica.
    limits_url: str | None = None
    # How long a call in flight keeps its slot in Redis unless its replica renews it
    # (every third of it): a dead replica's slots are free after at most this long.
    limits_lease_s: float = 15.0
    # > 0: the monitor evaluates every so many seconds, on one replica (the leader).
    monitor_every_s: float = 0.0
    # PostgreSQL: LISTEN for admin changes, so every replica's calls in flight end at
    # once (the watch's poll stays as the fallback).
    listen: bool = True
    # Grants (ids, or ORG/MODEL) served without limit accounting, audited, while the
    # shared limit store is unreachable (others fail closed): see fail_open.py.
    limits_fail_open: frozenset[str] = frozenset()


@dataclass(slots=True)
class Runtime:
    """What a running app is made of (``app.state.warden``), for tests and the demo."""

    store: WardenStore
    backends: Backends
    gate: Gate
    watch: RevocationWatch
    writer: AuditWriter
    tenancy: Tenancy
    metrics: WardenMetrics
    executor: ThreadPoolExecutor
    owns_store: bool
    monitor: MonitorService | None = None
    recorder: UsageRecorder | None = None
    fingerprints: Fingerprints = field(default_factory=Fingerprints.empty)
    listener: ChangeListener | None = None  # PostgreSQL change notices
    schedule: ScheduledEvaluation | None = None  # the monitor's evaluation on a timer


def create_app(
    store: str | WardenStore | None = None,
    backends: Backends | Mapping[str, ModelSpec] | None = None,
    *,
    admin_token: str | None = None,
    settings: WardenSettings | None = None,
    limiter: AnyLimiter | None = None,
    fingerprints: Fingerprints | Path | None = None,
    policy: Policy | None = None,
    sim_clock: SimClock | None = None,
) -> Starlette:
    """The app. ``store``: a database URL or path (None: the default SQLite file) or an
    open WardenStore; ``backends``: served models (None: the embedded ones);
    ``admin_token``: None reads BENCHWARDEN_ADMIN_TOKEN, "" disables the admin API.
    Opening the store happens here, so a bad ``--db`` fails before serving starts.
    ``fingerprints``: benchmark fingerprints for the monitor (a file; None: the default
    file when it exists); ``sim_clock``: simulated time, for the traffic simulator only."""
    settings = settings or WardenSettings()
    owns_store = not isinstance(store, WardenStore)
    opened = store if isinstance(store, WardenStore) else open_warden_store(store)
    served = (
        backends if isinstance(backends, Backends) else Backends(backends or default_backends())
    )
    token = os.environ.get(ADMIN_TOKEN_ENV) if admin_token is None else admin_token
    executor = ThreadPoolExecutor(settings.db_threads, thread_name_prefix="warden-db")
    metrics = WardenMetrics(served.names())
    sequencer = DbAuditSequencer(opened)
    writer = AuditWriter(sequencer, executor, observe=metrics.observe_audit)
    prints = _fingerprints(fingerprints)
    recorder = (
        UsageRecorder(
            opened.monitor,
            prints,
            executor,
            flush_s=settings.monitor_flush_s,
            batch=settings.monitor_batch,
        )
        if settings.monitor
        else None
    )
    clock = sim_clock.now if sim_clock is not None else _utc_now
    gate = Gate(
        opened,
        with_fail_open(
            limiter or limiter_for(settings),
            settings.limits_fail_open,
            writer,
            opened,
            executor,
            clock,
        ),
        writer,
        metrics,
        served.names(),
        executor,
        clock=clock,
        recorder=recorder,
        monotonic=sim_clock.monotonic if sim_clock is not None else time.monotonic,
    )
    watch = RevocationWatch(opened, executor, interval_s=settings.watch_interval_s, clock=clock)
    listen_url = opened.listen_url() if settings.listen else None
    listener = ChangeListener(listen_url, watch.poke) if listen_url else None
    tenancy = Tenancy(opened, "admin-api", sequencer, clock=clock)
    monitor = MonitorService(opened, sequencer, policy=policy, clock=clock)
    schedule = None
    if settings.monitor_every_s > 0:
        leadership = Leadership(opened.listen_url())
        schedule = ScheduledEvaluation(
            monitor, leadership, writer, executor, every_s=settings.monitor_every_s, replica=REPLICA
        )
    runtime = Runtime(
        opened,
        served,
        gate,
        watch,
        writer,
        tenancy,
        metrics,
        executor,
        owns_store,
        monitor,
        recorder,
        prints,
        listener,
        schedule,
    )
    services = Services(gate, served, watch, settings.max_body_bytes)
    admin = AdminApi(tenancy, watch, token or None, executor)
    monitor_api = MonitorApi(monitor, watch, executor)

    async def chat_completions(request: Request) -> Response:
        wire = openai_wire.OpenAIWire()
        return await serve_call(request, wire, "openai", "chat.completions", services, "chat")

    async def responses(request: Request) -> Response:
        wire = responses_wire.ResponsesWire()
        return await serve_call(request, wire, "openai", "responses", services, "responses")

    async def completions(request: Request) -> Response:
        wire = completions_wire.CompletionsWire()
        return await serve_call(request, wire, "openai", "completions", services)

    async def messages(request: Request) -> Response:
        wire = anthropic_wire.AnthropicWire()
        return await serve_call(request, wire, "anthropic", "messages", services, "anthropic")

    async def count_tokens(request: Request) -> Response:
        return await serve_count_tokens(request, services)

    async def models(request: Request) -> Response:
        anthropic = "anthropic-version" in request.headers
        dialect: Dialect = "anthropic" if anthropic else "openai"
        try:
            key = await gate.identify("models.list", request.headers)
        except ApiError as exc:
            return error_response(dialect, exc)
        loop = asyncio.get_running_loop()
        grants = await loop.run_in_executor(executor, opened.org_grants, key.org_id)
        now = gate.clock()
        names = sorted(
            g.model
            for g in grants
            if g.model in served and (g.expires_at is None or g.expires_at > now)
        )
        body = anthropic_wire.models_body(names) if anthropic else openai_wire.models_body(names)
        return json_response(body)

    async def healthz(_request: Request) -> Response:
        state: dict[str, Any] = {"replica": REPLICA, "db": "ok", "limits": "in-process"}
        problems: list[str] = []
        try:
            await asyncio.get_running_loop().run_in_executor(executor, opened.ping)
        except StoreError as exc:
            state["db"] = "unavailable"
            problems.append(str(exc))
        if isinstance(gate.limiter, SharedLimiter):
            state["limits"] = "ok"
            try:
                await gate.limiter.ping()
            except LimitsUnavailable as exc:
                state["limits"] = "unavailable"
                problems.append(str(exc))
        if listener is not None:
            state["notices"] = "listening" if listener.connected else "polling"
        if problems:
            return json_response(
                {"status": "unavailable", "reason": "; ".join(problems), **state}, 503
            )
        return json_response({"status": "ok", "models": served.names(), **state})

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await writer.start()
        await watch.start()
        if isinstance(gate.limiter, SharedLimiter):
            await gate.limiter.start()
        if listener is not None:
            await listener.start()
        if schedule is not None:
            await schedule.start()
        if recorder is not None:
            await recorder.start()
        try:
            yield
        finally:
            if schedule is not None:
                await schedule.stop()
            if listener is not None:
                await listener.stop()
            await watch.stop()
            await served.aclose()
            if isinstance(gate.limiter, SharedLimiter):
                await gate.limiter.aclose()
            if recorder is not None:
                await recorder.stop()
            await writer.stop()
            gate.close()
            sequencer.close()
            executor.shutdown(wait=True)
            if owns_store:
                opened.close()

    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *admin.routes(),
        *monitor_api.routes(admin.guard),
    ]
    middleware = [Middleware(SimTimeMiddleware, clock=sim_clock)] if sim_clock else []
    app = WardenApp(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    if sim_clock is None:  # simulated time needs its middleware on every request
        app.fast_post = {
            "/v1/chat/completions": chat_completions,
            "/v1/completions": completions,
            "/v1/messages": messages,
            "/v1/messages/count_tokens": count_tokens,
            "/v1/responses": responses,
        }
        app.on_error = _internal_error
    app.state.warden = runtime
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    dialect: Dialect = "anthropic" if request.url.path.startswith("/v1/messages") else "openai"
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(dialect, ApiError(exc.status_code, code, message))


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Never the exception's text: it could hold anything. The log has the traceback.
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    dialect: Dialect = "anthropic" if request.url.path.startswith("/v1/messages") else "openai"
    error = ApiError(500, "internal_error", "Internal error; it has been logged.")
    return error_response(dialect, error)


def limiter_for(settings: WardenSettings) -> AnyLimiter:
    """The in-process limiter, or the Redis one that ``settings.limits_url`` names."""
    if settings.limits_url is None:
        return SlidingWindowLimiter(settings.limit_window_s)
    from benchwarden.warden.redis_limits import RedisLimiter

    return RedisLimiter(
        settings.limits_url, window_s=settings.limit_window_s, lease_s=settings.limits_lease_s
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _fingerprints(given: Fingerprints | Path | None) -> Fingerprints:
    """The given fingerprints, a file's, or the default file's when there is one."""
    if isinstance(given, Fingerprints):
        return given
    path = given or default_path()
    if given is None and not path.exists():
        return Fingerprints.empty()
    try:
        return Fingerprints.load(path)
    except FingerprintError as exc:
        if given is not None:
            raise
        log.warning("benchmark fingerprints not loaded: %s", exc)
        return Fingerprints.empty()


def runtime_of(app: Any) -> Runtime:
    runtime = app.state.warden
    assert isinstance(runtime, Runtime)
    return runtime
