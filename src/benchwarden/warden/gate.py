"""Admission: read the key and grant, decide, reserve capacity, record the decision.

The gate is where I/O meets the pure parts: one database read per request (the key,
its organization and the grant for the model, by primary key, never cached), then
``policy.decide``, then the limiter, then the audit record, committed before the
answer leaves (fail closed: no record, no service). ``settle`` closes an admitted
call: the limiter gets the real token count and the chain gets the outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchwarden.api.errors import ApiError
from benchwarden.api.wire import ParsedCall
from benchwarden.models.types import GenerateRequest, Usage
from benchwarden.store.records import StoreError
from benchwarden.store.warden_records import Access, GrantRecord, KeyRecord
from benchwarden.store.warden_store import WardenStore
from benchwarden.warden import keys
from benchwarden.warden.audit import AuditEntry
from benchwarden.warden.audit_writer import AuditWriter
from benchwarden.warden.limits import Limits, Reservation
from benchwarden.warden.metrics import WardenMetrics
from benchwarden.warden.monitor.recorder import Observation, UsageRecorder
from benchwarden.warden.monitor.text import prompt_text
from benchwarden.warden.policy import Allow, Decision, Refuse, RequestFacts, decide, key_refusal
from benchwarden.warden.shared_limits import AnyLimiter, LimitsUnavailable, reserve
from benchwarden.warden.terms_read import ReadFallback, sqlite_reader
from benchwarden.warden.tokens import prompt_bound

log = logging.getLogger("benchwarden.warden.gate")
PURPOSE_HEADER = "benchwarden-purpose"
_MAX_LABEL = 200  # client-supplied strings kept in the audit log are cut to this


@dataclass(slots=True)
class Admission:
    """An admitted call, until it is settled."""

    endpoint: str
    key: KeyRecord
    grant: GrantRecord
    model: str
    purpose: str
    reservation: Reservation
    prompt_tokens: int
    request_sha256: str | None
    stream: bool
    started: float = field(default_factory=time.perf_counter)
    observation: Observation | None = None  # for the usage monitor


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:_MAX_LABEL]


class Gate:
    def __init__(
        self,
        store: WardenStore,
        limiter: AnyLimiter,
        writer: AuditWriter,
        metrics: WardenMetrics,
        served: Collection[str],
        executor: Executor | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        estimator: Callable[[GenerateRequest], int] = prompt_bound,
        recorder: UsageRecorder | None = None,
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.writer = writer
        self.metrics = metrics
        self.served = frozenset(served)
        self.executor = executor
        self.clock = clock
        self.monotonic = monotonic
        self.estimator = estimator
        self.recorder = recorder
        # SQLite file: the terms read runs on the loop (terms_read.py); else a worker.
        self.reader = sqlite_reader(store)

    async def _read(self, key_id: str, model: str | None) -> Access | None:
        started = time.perf_counter()
        if self.reader is not None:
            try:
                found = self.reader.access(key_id, model)
            except ReadFallback as exc:
                log.warning("terms read on the loop failed (%s); reading on a worker", exc)
            else:
                self.metrics.state_read.observe(time.perf_counter() - started)
                return found
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, self.store.access, key_id, model)
        except StoreError as exc:
            # The terms cannot be read, and no decision could be recorded either: fail
            # closed, as when the audit log cannot be written (it is the same database).
            log.error("refusing a request: the database cannot be read: %s", exc)
            raise ApiError(
                503,
                "audit_unavailable",
                "The database (terms and audit log) cannot be reached right now, so nothing "
                "is served. Retry later.",
                retry_after_s=1.0,
            ) from exc
        finally:
            self.metrics.state_read.observe(time.perf_counter() - started)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()

    async def _authentic(
        self, headers: Mapping[str, str], model: str | None
    ) -> tuple[bool, str | None, Access | None, KeyRecord | None]:
        """(key given, presented key id, what was read, the key if authentic)."""
        presented = keys.presented_key(headers.get("authorization"), headers.get("x-api-key"))
        if presented is None:
            return False, None, None, None
        key_id = keys.key_id_of(presented)
        if key_id is None:
            keys.matches(None, presented)  # same work as for a wrong secret
            return True, None, None, None
        access = await self._read(key_id, model)
        stored = access.key.sha256 if access is not None else None
        authentic = keys.matches(stored, presented)
        return True, key_id, access, (access.key if access and authentic else None)

    async def admit(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        call: ParsedCall | None,
        body_error: ApiError | None,
        request_sha256: str | None,
        *,
        flags: Sequence[str] = (),
        context: Mapping[str, Any] | None = None,
    ) -> Admission:
        """An admitted call, or raises the refusal as ``ApiError`` (already recorded)."""
        model = call.model if call is not None else None
        given, key_id, access, key = await self._authentic(headers, model)
        grant = access.grant if access is not None and key is not None else None
        facts = RequestFacts(
            key_given=given,
            model=model,
            model_served=model in self.served,
            purpose_header=headers.get(PURPOSE_HEADER),
            body_error=body_error,
        )
        decision: Decision = decide(key, grant, facts, self.clock())
        reservation: Reservation | None = None
        bound = 0
        if isinstance(decision, Allow):
            assert call is not None and grant is not None
            bound = self.estimator(call.request)
            tokens = bound + call.request.max_tokens
            decision, reservation = await self._reserve(decision, grant, tokens)
        entry = self._decision_entry(
            endpoint, decision, key, key_id, facts, call, reservation, request_sha256, context
        )
        self.metrics.child(
            self.metrics.decisions,
            endpoint,
            self.metrics.model_label(model),
            entry.decision,
            entry.code or "",
        ).inc()
        try:
            await self.writer.record(entry)
        except BaseException as exc:
            if reservation is not None:
                self.limiter.settle(reservation, 0, self.monotonic())
            if isinstance(exc, Exception) and isinstance(decision, Allow):
                log.error("refusing a request: its audit record could not be written: %s", exc)
                raise ApiError(
                    503,
                    "audit_unavailable",
                    "The audit log cannot be written right now, so nothing is served. Retry later.",
                    retry_after_s=1.0,
                ) from exc
            if not isinstance(exc, Exception):
                raise
        if isinstance(decision, Refuse):
            if self.recorder is not None and key is not None:
                self.recorder.refused(
                    self._observe(endpoint, entry, key, grant, flags), entry.code or ""
                )
            raise decision.error()
        assert call is not None and key is not None and grant is not None
        assert reservation is not None
        self.metrics.in_flight.inc()
        observation = None
        if self.recorder is not None:
            observation = self._observe(endpoint, entry, key, grant, flags)
            observation.max_tokens = call.request.max_tokens
            observation.text = prompt_text(call.request)
            self.recorder.begin(observation)
        return Admission(
            endpoint=endpoint,
            key=key,
            grant=grant,
            model=call.model,
            purpose=decision.purpose,
            reservation=reservation,
            prompt_tokens=bound,
            request_sha256=request_sha256,
            stream=call.stream,
            observation=observation,
        )

    def _observe(
        self,
        endpoint: str,
        entry: AuditEntry,
        key: KeyRecord,
        grant: GrantRecord | None,
        flags: Sequence[str],
    ) -> Observation:
        return Observation(
            ts=entry.ts,
            org=key.org,
            key_id=key.key_id,
            endpoint=endpoint,
            model=entry.model,
            purpose=entry.purpose,
            grant_id=grant.id if grant is not None else None,
            rpm=grant.rpm if grant is not None else None,
            max_concurrency=grant.max_concurrency if grant is not None else None,
            flags=list(flags),
        )

    async def _reserve(
        self, decision: Allow, grant: GrantRecord, tokens: int
    ) -> tuple[Decision, Reservation | None]:
        """Take capacity under the grant's current terms, or turn the Allow into a 429
        (a 503 when shared limits cannot be reached: fail closed)."""
        limits = Limits(grant.rpm, grant.tpm, grant.max_concurrency)
        try:
            reserved = await reserve(self.limiter, grant.id, limits, tokens, self.monotonic())
        except LimitsUnavailable as exc:
            log.error("refusing a request: the shared limits cannot be reached: %s", exc)
            unavailable = Refuse(
                503,
                "limits_unavailable",
                "The rate limits cannot be checked right now, so nothing is served. Retry later.",
                retry_after_s=1.0,
            )
            return unavailable, None
        if isinstance(reserved, Reservation):
            return decision, reserved
        refusal = Refuse(
            429,
            reserved.code,
            reserved.message,
            retry_after_s=reserved.seconds if reserved.retryable else None,
            retryable=None if reserved.retryable else False,
            snapshot=reserved.snapshot,
        )
        return refusal, None

    def _decision_entry(
        self,
        endpoint: str,
        decision: Decision,
        key: KeyRecord | None,
        key_id: str | None,
        facts: RequestFacts,
        call: ParsedCall | None,
        reservation: Reservation | None,
        request_sha256: str | None,
        context: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        allowed = isinstance(decision, Allow)
        detail: dict[str, Any] = {"stream": bool(call and call.stream), **(context or {})}
        if reservation is not None:
            detail["reserved_tokens"] = reservation.tokens
        if isinstance(decision, Refuse):
            detail["status"] = decision.status
            if decision.retry_after_s is not None:
                detail["retry_after_s"] = round(decision.retry_after_s, 3)
        return AuditEntry(
            actor=f"key:{key.key_id}" if key is not None else "anonymous",
            action=endpoint,
            decision="allow" if allowed else "refuse",
            ts=self.clock(),
            org=key.org if key is not None else None,
            key_id=key_id,
            model=_clip(facts.model),
            purpose=decision.purpose
            if isinstance(decision, Allow)
            else _clip(facts.purpose_header),
            code=None if isinstance(decision, Allow) else decision.code,
            request_sha256=request_sha256,
            detail=detail,
        )

    async def identify(self, endpoint: str, headers: Mapping[str, str]) -> KeyRecord:
        """The authentic, usable key of a request that names no model (GET /v1/models)."""
        given, key_id, _access, key = await self._authentic(headers, None)
        facts = RequestFacts(key_given=given, model=None, model_served=False, purpose_header=None)
        refused: Refuse | None = None
        if key is None:
            found = decide(None, None, facts, self.clock())
            assert isinstance(found, Refuse)
            refused = found
        else:
            refused = key_refusal(key, self.clock())
        entry = AuditEntry(
            actor=f"key:{key.key_id}" if key is not None else "anonymous",
            action=endpoint,
            decision="refuse" if refused else "allow",
            ts=self.clock(),
            org=key.org if key is not None else None,
            key_id=key_id,
            code=refused.code if refused else None,
            detail={"status": refused.status} if refused else {},
        )
        self.metrics.decisions.labels(endpoint, "other", entry.decision, entry.code or "").inc()
        try:
            await self.writer.record(entry)
        except Exception as exc:
            if refused is None:
                raise ApiError(
                    503, "audit_unavailable", "The audit log cannot be written."
                ) from exc
        if refused is not None:
            raise refused.error()
        assert key is not None
        return key

    def settle(
        self,
        admission: Admission,
        usage: Usage,
        outcome: str,
        code: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Close an admitted call: exact tokens to the limiter, the outcome to the chain.
        Never blocks and never raises (it runs in ``finally`` blocks of cancelled tasks)."""
        try:
            self.limiter.settle(admission.reservation, usage.total_tokens, self.monotonic())
            self.metrics.in_flight.dec()
            if admission.observation is not None and self.recorder is not None:
                self.recorder.finish(admission.observation, outcome, code, usage)
            metrics = self.metrics
            model = metrics.model_label(admission.model)
            metrics.child(metrics.outcomes, admission.endpoint, model, outcome, code or "").inc()
            metrics.child(metrics.tokens, model, "input").inc(usage.input_tokens)
            metrics.child(metrics.tokens, model, "output").inc(usage.output_tokens)
            metrics.child(
                metrics.latency, admission.endpoint, model, "true" if admission.stream else "false"
            ).observe(time.perf_counter() - admission.started)
            self.writer.submit(
                AuditEntry(
                    actor=f"key:{admission.key.key_id}",
                    action=f"{admission.endpoint}.settle",
                    decision=outcome,
                    ts=self.clock(),
                    org=admission.key.org,
                    key_id=admission.key.key_id,
                    model=admission.model,
                    purpose=admission.purpose,
                    code=code,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    request_sha256=admission.request_sha256,
                    detail=detail or {},
                )
            )
        except Exception:  # a settle must never break the response being closed
            log.exception("settling a call failed")
