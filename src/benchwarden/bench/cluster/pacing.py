"""One pacing budget per model for the whole Ray cluster.

A provider's rate limit is one budget for every caller of a key, wherever they run.
With the local executor all of a run's calls share one ``RatePacer`` per (base URL,
key, model) in the process (``models.pacing.shared``); on Ray, units call models from
many worker processes on many nodes, and a pacer per process would each spend the
whole limit. So the driver starts one named actor, :class:`PacingBudget`, that holds
the ``RatePacer`` of every (base URL, key digest, model) for the run, and Ray workers
make their pacers :class:`ClusterPacer` handles on it (``share_budget``).

The decisions are the same ``RatePacer`` code as in a local run; only the holder of
its state differs. An admission is one awaited call: the actor waits for the request's
turn exactly as the local pacer waits in process (the caller's deadline travels as
seconds left, since clocks differ between machines). What an attempt's answer says
goes to the actor without waiting, in one message per attempt: its outcome (success,
refusal, failure) with the limit headers read since the last message, and for a
stream the token count when it ends. If the budget's actor is lost (its node died), a
worker falls back to pacing in its own process and logs it once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchwarden.models.pacing.pacer import PacingDeadline, RatePacer, Ticket
from benchwarden.models.pacing.shared import PacerKey, use_source
from benchwarden.models.types import Usage

ACTOR_NAME = "benchwarden-pacing"
"""The budget's actor, named in the run's (the Ray job's) namespace."""
KEPT_TICKETS = 100_000
"""Tickets the actor remembers (an answer's token count may come after its success)."""

READY_S = 60.0
"""How long the driver waits for the budget's actor to be up before the run starts."""
PACING_HEADERS = ("ratelimit", "retry-after")
"""What a header's name holds when the pacer reads it (``pacing.headers``)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PacerState:
    """What a worker may know of the shared schedule (for its own decisions and notes)."""

    mode: str = "start"
    rate: float | None = None
    paced: bool = False
    accepted: int = 0
    refusals: int = 0


def _state(pacer: RatePacer) -> PacerState:
    return PacerState(pacer.mode, pacer.rate, pacer.paced, pacer.accepted, pacer.refusals)


@dataclass(frozen=True, slots=True)
class Admission:
    """The actor's answer to an admission: a ticket number, or how late the turn is."""

    number: int | None
    waited: bool
    late_s: float
    state: PacerState


class PacingBudget:
    """The actor's body (wrapped by ``ray.remote`` on the driver): every model's pacer.

    Every method is a coroutine, so all of them run on the actor's one event loop, as
    the pacer's futures and sleeps need."""

    def __init__(self) -> None:
        self._pacers: dict[PacerKey, RatePacer] = {}
        self._tickets: collections.OrderedDict[int, tuple[RatePacer, Ticket]] = (
            collections.OrderedDict()
        )
        self._next = 0

    def _pacer(self, key: PacerKey, label: str) -> RatePacer:
        pacer = self._pacers.get(key)
        if pacer is None:
            pacer = self._pacers[key] = RatePacer(label)
        return pacer

    async def admit(
        self, key: PacerKey, label: str, costs: Mapping[str, float], within_s: float
    ) -> Admission:
        pacer = self._pacer(key, label)
        try:
            ticket = await pacer.admit(costs, time.monotonic() + within_s)
        except PacingDeadline as late:
            return Admission(None, False, late.wait_s, _state(pacer))
        self._next += 1
        self._tickets[self._next] = (pacer, ticket)
        while len(self._tickets) > KEPT_TICKETS:
            self._tickets.popitem(last=False)
        return Admission(self._next, ticket.waited, 0.0, _state(pacer))

    def _read(self, key: PacerKey, label: str, seen: list[dict[str, str]]) -> None:
        """Answers' headers a worker read since its last message, in order."""
        pacer = self._pacer(key, label)
        for headers in seen:
            pacer.observe(headers)

    async def pause(self, key: PacerKey, label: str, seconds: float) -> None:
        self._pacer(key, label).pause(seconds)

    async def succeeded(
        self,
        number: int,
        usage: Usage | None,
        key: PacerKey,
        label: str,
        seen: list[dict[str, str]],
    ) -> None:
        self._read(key, label, seen)
        if number in self._tickets:
            pacer, ticket = self._tickets[number]
            pacer.succeeded(ticket, usage)

    async def charge(self, number: int, usage: Usage | None) -> None:
        if number in self._tickets:
            pacer, ticket = self._tickets[number]
            pacer.charge(ticket, usage)

    async def failed(
        self, number: int, key: PacerKey, label: str, seen: list[dict[str, str]]
    ) -> None:
        self._read(key, label, seen)
        found = self._tickets.pop(number, None)
        if found is not None:
            found[0].failed(found[1])

    async def refused(
        self,
        number: int | None,
        retry_after_s: float | None,
        key: PacerKey,
        label: str,
        seen: list[dict[str, str]],
    ) -> PacerState:
        self._read(key, label, seen)
        pacer = self._pacer(key, label)
        found = self._tickets.pop(number, None) if number is not None else None
        pacer.refused(found[1] if found is not None else None, retry_after_s)
        return _state(pacer)

    async def states(self) -> dict[str, PacerState]:
        """Every model's schedule, by label (for the run's notes and for tests)."""
        return {pacer.label: _state(pacer) for pacer in self._pacers.values()}


def _counted(usage: Usage | None) -> bool:
    """Whether an answer's usage replaces the ticket's estimate (``RatePacer.charge``)."""
    return usage is not None and usage.total_tokens > 0


@dataclass(slots=True)
class _RemoteTicket(Ticket):
    number: int = 0


class ClusterPacer(RatePacer):
    """A worker's handle on the cluster's budget for one model: ``RatePacer``'s
    interface, with the state and the decisions in :class:`PacingBudget`."""

    def __init__(self, key: PacerKey, label: str, actor: Any, ray: Any) -> None:
        super().__init__(label, start=False)  # its own schedule stays unused
        self.key = key
        self._actor = actor
        self._ray = ray
        self._shared = PacerState()
        self._local: RatePacer | None = None  # once the budget is lost
        self._seen: list[dict[str, str]] = []  # pacing headers not yet sent

    def _apply(self, state: PacerState) -> None:
        self._shared = state
        self.mode = state.mode  # type: ignore[assignment]  # one of the pacer's modes
        self.accepted, self.refusals = state.accepted, state.refusals

    @property
    def rate(self) -> float | None:
        return self._local.rate if self._local is not None else self._shared.rate

    @property
    def paced(self) -> bool:
        return self._local.paced if self._local is not None else self._shared.paced

    def _send(self, method: str, *args: Any) -> Any:
        """Call the actor without waiting for it; None if the call could not be made."""
        try:
            return getattr(self._actor, method).remote(*args)
        except Exception:  # a lost budget must not fail the model call
            return None

    def _in_process(self, ticket: Ticket | None) -> RatePacer | None:
        """The process's own pacer when the budget is lost (its tickets are plain)."""
        if self._local is not None and not isinstance(ticket, _RemoteTicket):
            return self._local
        return None

    async def admit(self, costs: Mapping[str, float], deadline: float) -> Ticket:
        if self._local is not None:
            return await self._local.admit(costs, deadline)
        within = deadline - time.monotonic()
        ref = self._actor.admit.remote(self.key, self.label, dict(costs), within)
        try:
            admission: Admission = await asyncio.wrap_future(ref.future())
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref)
            raise
        except self._ray.exceptions.RayActorError as lost:
            log.warning(
                "the cluster's pacing budget is lost (%s): %s is paced in this process from now on",
                lost,
                self.label,
            )
            self._local = self._local or RatePacer(self.label)
            return await self._local.admit(costs, deadline)
        self._apply(admission.state)
        if admission.number is None:
            raise PacingDeadline(admission.late_s)
        return _RemoteTicket(costs, waited=admission.waited, number=admission.number)

    def _taken(self) -> tuple[PacerKey, str, list[dict[str, str]]]:
        """What every outcome message carries: the model, and the headers read since."""
        seen, self._seen = self._seen, []
        return self.key, self.label, seen

    def observe(self, headers: Mapping[str, str]) -> None:
        """Kept until the attempt's outcome goes to the budget (one message, not two):
        only the headers that speak of limits."""
        if self._local is not None:
            self._local.observe(headers)
            return
        kept = {
            name: value
            for name, value in ((k.lower(), v) for k, v in headers.items())
            if any(word in name for word in PACING_HEADERS)
        }
        if kept:
            self._seen.append(kept)

    def pause(self, seconds: float) -> None:
        if self._local is not None:
            self._local.pause(seconds)
        else:
            self._send("pause", self.key, self.label, seconds)

    def succeeded(self, ticket: Ticket, usage: Usage | None) -> None:
        if (local := self._in_process(ticket)) is not None:
            local.succeeded(ticket, usage)
        elif isinstance(ticket, _RemoteTicket) and not ticket.done:
            ticket.done = True
            ticket.charged = _counted(usage)
            self._send("succeeded", ticket.number, usage, *self._taken())

    def charge(self, ticket: Ticket, usage: Usage | None) -> None:
        if (local := self._in_process(ticket)) is not None:
            local.charge(ticket, usage)
        elif isinstance(ticket, _RemoteTicket) and not ticket.charged and _counted(usage):
            ticket.charged = True
            self._send("charge", ticket.number, usage)

    def failed(self, ticket: Ticket) -> None:
        if (local := self._in_process(ticket)) is not None:
            local.failed(ticket)
        elif isinstance(ticket, _RemoteTicket) and not ticket.done:
            ticket.done = True
            self._send("failed", ticket.number, *self._taken())

    def refused(self, ticket: Ticket | None, retry_after_s: float | None) -> bool:
        """Tells the budget, and answers from what it said last (whether it paces by
        rate): the caller cannot wait here."""
        if (local := self._in_process(ticket)) is not None:
            return local.refused(ticket, retry_after_s)
        by_rate = self.paced
        number = None
        if isinstance(ticket, _RemoteTicket):
            ticket.done = True
            number = ticket.number
        ref = self._send("refused", number, retry_after_s, *self._taken())
        if ref is not None:
            ref.future().add_done_callback(self._refusal_answered)
        return by_rate

    def _refusal_answered(self, future: Any) -> None:
        with contextlib.suppress(Exception):
            self._apply(future.result())

    def describe(self) -> str:
        if self._local is not None:
            return self._local.describe() + " (in this process: the cluster's budget was lost)"
        rate = self.rate
        pace = f"{rate * 60:.0f} requests/min" if rate is not None else "unpaced"
        return f"{self.label}: {self.mode}, {pace}, {self.refusals} refusals (cluster budget)"


def start_budget(ray: Any) -> Any:
    """The run's budget actor (on the driver: owned by it, gone with it), on the
    driver's node when it can be; reserves no CPU. Returns once it answers."""
    options: dict[str, Any] = {"name": ACTOR_NAME, "get_if_exists": True}
    try:  # through a ray:// client the driver may have no node of its own
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = ray.get_runtime_context().get_node_id()
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
    except Exception as exc:  # anywhere Ray likes, then
        log.debug("the pacing budget is not pinned to the driver's node: %s", exc)
    actor_class = ray.remote(num_cpus=0, max_restarts=0)(PacingBudget)
    actor = actor_class.options(**options).remote()
    try:  # up before the first unit: its process start is the run's, not a call's
        ray.get(actor.states.remote(), timeout=READY_S)
    except Exception as exc:  # calls queue for it (or pace alone if it never comes)
        log.warning("the cluster's pacing budget is not up yet: %s", exc)
    return actor


_shared_here = False


def share_budget() -> bool:
    """On a Ray worker: make this process's pacers handles on the run's budget (once).
    False when the driver started none (pacing stays per process)."""
    global _shared_here
    if _shared_here:
        return True
    import ray

    try:
        actor = ray.get_actor(ACTOR_NAME)
    except ValueError:
        return False
    use_source(lambda key, label: ClusterPacer(key, label, actor, ray))
    _shared_here = True
    return True
