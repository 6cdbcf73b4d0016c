"""Limits shared by every replica: the sliding log per grant in Redis.

``RedisLimiter`` keeps the same exact windows as ``limits.SlidingWindowLimiter``
(RPM, TPM reserved at admission and settled at the end, max concurrency), with one
Lua script per operation (``limit_scripts``), so that an admission on one replica
and one on another can never both read room that only one of them may take.

- Admission (``areserve``) and extension (``aextend``) are awaited on the request
  path; a Redis that does not answer within ``timeout_s`` raises
  ``LimitsUnavailable`` (the gate answers 503 ``limits_unavailable``: fail closed).
  The client reconnects by itself on the next call, so service resumes as soon as
  Redis is back.
- ``settle`` runs in the background (it is called from ``finally`` blocks), the
  settlements of calls that end together in one pipeline. Should one fail, the
  call's reservation stays charged until it leaves the window, and its concurrency
  slot ends with its lease: conservative, never a leak.
- Calls in flight hold leases (``lease_s``) that one task renews every third of a
  lease; a replica that dies stops renewing and its slots are freed when they end.

Redis restarted without persistence forgets the windows (the next minute can admit
a full grant again): deploy/redis.conf turns on the append-only file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from benchwarden.warden import limit_scripts
from benchwarden.warden.limit_headers import LimitSnapshot, Window
from benchwarden.warden.limits import Limits, Reservation, RetryAfter, refusal
from benchwarden.warden.shared_limits import LimitsUnavailable, SharedLimiter

log = logging.getLogger("benchwarden.warden.redis_limits")
_UNLIMITED = -1
_SETTLE_BATCH = 128  # settlements per pipeline


@dataclass(slots=True)
class SharedReservation(Reservation):
    """A reservation whose entries live in Redis: their ids and amounts, oldest first."""

    rid: str = ""
    members: list[tuple[str, int]] = field(default_factory=list)
    tpm: int | None = None  # the grant's TPM when admitted, which extensions are held to


class RedisLimiter(SharedLimiter):
    def __init__(
        self,
        url: str,
        *,
        window_s: float = 60.0,
        lease_s: float = 15.0,
        timeout_s: float = 1.0,
        prefix: str = "bw:lim",
        max_connections: int = 64,
    ) -> None:
        self.url = url
        self.window_s = window_s
        self.lease_s = lease_s
        self.timeout_s = timeout_s
        self.prefix = prefix
        self.max_connections = max_connections
        self._replica = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)
        self._client: Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._live: dict[str, SharedReservation] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._settles: list[tuple[list[str], list[Any]]] = []  # (keys, args) to send
        self._settler: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            # No retries inside the client: a request waits at most about timeout_s,
            # then is refused; the next request tries a fresh connection. A bounded
            # pool: a burst of requests queues for a connection rather than opening
            # hundreds at once.
            pool = BlockingConnectionPool.from_url(
                self.url,
                max_connections=self.max_connections,
                timeout=self.timeout_s,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                retry=Retry(NoBackoff(), 0),
            )
            self._client = Redis.from_pool(pool)
            for name in ("RESERVE", "EXTEND", "SETTLE", "RENEW", "USAGE"):
                self._scripts[name] = self._client.register_script(getattr(limit_scripts, name))
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_loop(), name="warden-limit-leases")

    async def aclose(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._renewer, self.timeout_s * 2)
            self._renewer = None
        await self.flush()
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await asyncio.wait_for(client.aclose(), self.timeout_s * 2)

    async def flush(self) -> None:
        """Wait for the settlements handed off so far."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=self.timeout_s * 4)

    async def usage(self, grant_id: int) -> tuple[int, int, int]:
        """(requests, tokens, in flight) in the grant's window now, across replicas."""
        reply = await self._script("USAGE", self._keys(grant_id), [self._ms(self.window_s)])
        return int(reply[0]), int(reply[1]), int(reply[2])

    async def ping(self) -> None:
        await self._call(lambda client: client.ping())

    # -- keys and calls ----------------------------------------------------------------

    def _keys(self, grant_id: int) -> list[str]:
        tag = f"{self.prefix}:{{g{grant_id}}}"
        return [f"{tag}:req", f"{tag}:tok", f"{tag}:amt", f"{tag}:used", f"{tag}:active"]

    def _ms(self, seconds: float) -> int:
        return max(1, round(seconds * 1000))

    @property
    def _ttl_ms(self) -> int:
        return self._ms(self.window_s + self.lease_s) + 1000

    async def _call(self, work: Callable[[Redis], Awaitable[Any]]) -> Any:
        if self._client is None:
            raise LimitsUnavailable("the limiter is not started")
        try:
            async with asyncio.timeout(self.timeout_s * 2):  # no task per call, as wait_for
                return await work(self._client)
        except (RedisError, OSError, TimeoutError) as exc:
            raise LimitsUnavailable(f"Redis at {self._safe_url()}: {exc}") from exc

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        script = self._scripts.get(name)
        if script is None:
            raise LimitsUnavailable("the limiter is not started")
        return await self._call(lambda _client: script(keys=keys, args=args))

    def _safe_url(self) -> str:
        """The URL without a password."""
        _head, at, tail = self.url.rpartition("@")
        return f"redis://...@{tail}" if at else self.url

    # -- the limiter ---------------------------------------------------------------------

    async def areserve(
        self, grant_id: int, limits: Limits, tokens: int
    ) -> Reservation | RetryAfter:
        rid = f"{self._replica}:{next(self._ids)}"
        args = [
            self._ms(self.window_s),
            _or_unlimited(limits.rpm),
            _or_unlimited(limits.tpm),
            _or_unlimited(limits.max_concurrency),
            tokens,
            rid,
            self._ms(self.lease_s),
            self._ttl_ms,
        ]
        reply = await self._script("RESERVE", self._keys(grant_id), args)
        # The window's counts after this decision (requests, tokens, in flight).
        admitted, code, wait_ms, requests, used, active = reply
        code = code.decode() if isinstance(code, bytes) else str(code)
        if int(admitted) == 1:
            reservation = SharedReservation(
                grant_id,
                tokens,
                snapshot=self._snapshot(limits, int(requests), int(used)),
                rid=rid,
                members=[(rid, tokens)],
                tpm=limits.tpm,
            )
            self._live[rid] = reservation
            return reservation
        denied = refusal(code, float(wait_ms) / 1000, limits, tokens, int(active))
        # The refusal's rate-limit headers, as the in-process limiter gives them.
        snapshot = self._snapshot(limits, int(requests), int(used))
        return dataclasses.replace(denied, snapshot=snapshot)

    def _snapshot(self, limits: Limits, requests: int, used: int) -> LimitSnapshot:
        """For the answer's rate-limit headers, as the in-process limiter reports them:
        this admission is the newest entry, so the window is whole again in window_s."""
        rpm, tpm, window = limits.rpm, limits.tpm, self.window_s
        return LimitSnapshot(
            None if rpm is None else Window(rpm, rpm - requests, window),
            None if tpm is None else Window(tpm, tpm - used, window),
        )

    async def aextend(self, reservation: Reservation, tokens: int) -> bool:
        if tokens <= 0:
            return True
        shared = cast(SharedReservation, reservation)
        member = f"{shared.rid}:{len(shared.members)}"
        args = [
            self._ms(self.window_s),
            _or_unlimited(shared.tpm),
            tokens,
            member,
            shared.rid,
            self._ms(self.lease_s),
            self._ttl_ms,
        ]
        try:
            charged = await self._script("EXTEND", self._keys(shared.grant_id), args)
        except LimitsUnavailable as exc:
            log.warning("a stream could not be charged more tokens, so it ends: %s", exc)
            return False
        if int(charged) != 1:
            return False
        shared.members.append((member, tokens))
        shared.tokens += tokens
        return True

    def settle(self, reservation: Reservation, actual_tokens: int, now: float) -> None:
        """Idempotent; returns at once (the script runs on the event loop's side)."""
        if reservation.settled:
            return
        reservation.settled = True
        shared = cast(SharedReservation, reservation)
        self._live.pop(shared.rid, None)
        args: list[Any] = [self._ms(self.window_s), max(0, actual_tokens), shared.rid]
        args.append(self._ttl_ms)
        for member, amount in shared.members:
            args += [member, amount]
        reservation.tokens = max(0, actual_tokens)
        self._settles.append((self._keys(shared.grant_id), args))
        if self._settler is not None and not self._settler.done():
            return  # the running batch takes it: it loops until the queue is empty
        try:
            task = asyncio.get_running_loop().create_task(
                self._settle_batches(), name="warden-limit-settle"
            )
        except RuntimeError:  # no loop (shutting down): the lease and window free it
            self._settles.clear()
            return
        self._settler = task
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _settle_batches(self) -> None:
        """Settlements go in batches, one pipeline (one round trip, one connection) per
        batch: calls that end together cost one send, not one each."""
        while self._settles:
            await asyncio.sleep(0)  # let the calls ending in this loop turn join
            batch = self._settles[:_SETTLE_BATCH]
            del self._settles[:_SETTLE_BATCH]
            try:
                await self._call(partial(self._settle_pipeline, batch=batch))
            except LimitsUnavailable as exc:
                log.warning(
                    "%d settlements lost (the leases and the window free them): %s",
                    len(batch),
                    exc,
                )

    async def _settle_pipeline(
        self, client: Redis, *, batch: list[tuple[list[str], list[Any]]]
    ) -> None:
        script = self._scripts["SETTLE"]
        pipe = client.pipeline(transaction=False)
        for keys, args in batch:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        results = await pipe.execute(raise_on_error=False)
        for (keys, args), result in zip(batch, results, strict=True):
            if isinstance(result, NoScriptError):  # Redis restarted: loaded again
                await script(keys=keys, args=args)
            elif isinstance(result, Exception):
                log.warning("a settlement failed (the lease and the window free it): %s", result)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not self._live:
                continue
            by_grant: dict[int, list[str]] = {}
            for rid, reservation in list(self._live.items()):
                by_grant.setdefault(reservation.grant_id, []).append(rid)
            keys: list[str] = []
            args: list[Any] = [self._ms(self.lease_s)]
            for grant_id, rids in by_grant.items():
                keys.append(self._keys(grant_id)[4])
                args += [len(rids), *rids]
            try:
                await self._script("RENEW", keys, args)
            except LimitsUnavailable as exc:
                log.warning("leases of calls in flight not renewed: %s", exc)


def _or_unlimited(value: int | None) -> int:
    return _UNLIMITED if value is None else value
