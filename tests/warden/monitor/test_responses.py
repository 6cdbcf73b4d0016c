"""Graduated responses on a real SQLite file (no server): a finding is acted on once,
throttles start from each grant's own served peak, automatic escalation looks only at
responses still in force, and a suspension is lifted by restore with the terms kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchwarden.store.monitor_store import UsageRow
from benchwarden.store.warden_store import WardenStore, open_warden_store
from benchwarden.warden.monitor.responses import ResponseError
from benchwarden.warden.monitor.scoring import Policy
from benchwarden.warden.monitor.service import MonitorService
from benchwarden.warden.policy import Refuse, RequestFacts, decide
from benchwarden.warden.tenancy import GrantTerms, Tenancy

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODELS = ("m-a", "m-b", "m-c")


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    store: WardenStore
    tenancy: Tenancy
    clock: Clock

    def monitor(self, auto_max: str = "none") -> MonitorService:
        policy = Policy(flag=0, throttle=0, suspend=101, revoke=101, auto_max=auto_max)
        return MonitorService(self.store, policy=policy, clock=self.clock)

    def grants(self, org: str = "acme") -> dict[str, tuple[int | None, int | None, int | None]]:
        return {g.model: (g.rpm, g.tpm, g.max_concurrency) for g in self.store.list_grants(org)}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = open_warden_store(str(tmp_path / "responses.db"))
    clock = Clock()
    tenancy = Tenancy(store, "admin", clock=clock)
    yield World(store, tenancy, clock)
    store.close()


def _traffic(world: World, *, minute: datetime, served: int, refused: int = 0) -> None:
    """``served`` requests per model and ``refused`` rate-limited ones, in one minute."""
    rows = []
    for model in MODELS:
        for i in range(served):
            rows.append(
                UsageRow(
                    ts=minute + timedelta(seconds=i),
                    org="acme",
                    key_id="k1",
                    endpoint="chat.completions",
                    outcome="completed",
                    model=model,
                    purpose="benchmarking",
                    input_tokens=40,
                    output_tokens=60,
                    in_flight=2,
                )
            )
    for i in range(refused):
        rows.append(
            UsageRow(
                ts=minute + timedelta(seconds=30 + i % 30),
                org="acme",
                key_id="k1",
                endpoint="chat.completions",
                outcome="refused",
                code="rate_limited",
                model=MODELS[0],
                purpose="benchmarking",
            )
        )
    world.store.monitor.insert_usage(rows)


def _org(world: World, **limits: int) -> None:
    world.tenancy.create_org("acme")
    for model in MODELS:
        world.tenancy.add_grant("acme", model, GrantTerms(("benchmarking",), **limits))


def test_a_finding_is_applied_once(world: World) -> None:
    _org(world, rpm=40, tpm=8000, max_concurrency=8)
    _traffic(world, minute=T0, served=4)
    world.clock.now = T0 + timedelta(hours=1)
    monitor = world.monitor()
    (finding,) = monitor.evaluate()
    assert finding.id is not None and finding.status == "open"
    monitor.apply(finding.id, "throttle", actor="alice")
    assert set(world.grants().values()) == {(20, 4000, 4)}
    for action in ("throttle", "dismiss", "suspend", "flag"):
        with pytest.raises(ResponseError) as refused:
            monitor.apply(finding.id, action, actor="bob")
        assert refused.value.status == 409 and refused.value.code == "finding_not_open"
        assert "applied (throttle by alice)" in str(refused.value)
    assert set(world.grants().values()) == {(20, 4000, 4)}  # halved once, not again
    (row,) = monitor.findings("acme")
    assert (row.status, row.action, row.applied_by) == ("applied", "throttle", "alice")
    # a dismissed finding cannot be applied later either
    (second,) = monitor.evaluate()
    assert second.id is not None
    monitor.apply(second.id, "dismiss", actor="alice")
    with pytest.raises(ResponseError, match="dismissed"):
        monitor.apply(second.id, "throttle", actor="bob")
    with pytest.raises(ResponseError) as missing:
        monitor.apply(9999, "flag", actor="bob")
    assert missing.value.status == 404


def test_dismissing_does_not_reopen_automatic_throttle(world: World) -> None:
    _org(world, rpm=40)
    _traffic(world, minute=T0, served=4)
    world.clock.now = T0 + timedelta(hours=1)
    monitor = world.monitor(auto_max="throttle")
    (auto,) = monitor.evaluate()
    assert auto.id is not None and (auto.status, auto.action) == ("applied", "throttle")
    with pytest.raises(ResponseError):
        monitor.apply(auto.id, "dismiss", actor="alice")
    world.clock.now += timedelta(minutes=5)
    (again,) = monitor.evaluate()  # the throttle is still in force: not applied twice
    assert again.status == "open"
    assert set(world.grants().values()) == {(20, 200, 1)}


def test_throttle_of_unlimited_grants_starts_from_each_grants_served_peak(
    world: World,
) -> None:
    _org(world)  # no limits at all
    # 6 served a minute on each of three models (18 for the org), 50 refused on m-a
    _traffic(world, minute=T0, served=6, refused=50)
    world.clock.now = T0 + timedelta(hours=1)
    monitor = world.monitor()
    (finding,) = monitor.evaluate()
    assert finding.id is not None
    applied = monitor.apply(finding.id, "throttle", actor="alice")
    assert len(applied.changes) == 3
    # each grant gets half its own served peak: 3 rpm, 6 x 100 tokens / 2, 2 in flight / 2
    assert world.grants() == {m: (3, 300, 1) for m in MODELS}
    total = sum(rpm or 0 for rpm, _, _ in world.grants().values())
    assert total <= 18 * 0.5  # the org as a whole is held to half what it was served


def test_automatic_throttle_fires_again_after_an_admin_restores_limits(world: World) -> None:
    _org(world, rpm=40)
    _traffic(world, minute=T0, served=4)
    world.clock.now = T0 + timedelta(hours=1)
    monitor = world.monitor(auto_max="throttle")
    (first,) = monitor.evaluate()
    assert first.action == "throttle" and set(world.grants().values()) == {(20, 200, 1)}
    # the admin restores the terms; the org keeps up its traffic
    world.clock.now += timedelta(minutes=10)
    for model in MODELS:
        world.tenancy.add_grant("acme", model, GrantTerms(("benchmarking",), 40))
    _traffic(world, minute=world.clock.now, served=4)
    world.clock.now += timedelta(minutes=10)
    (second,) = monitor.evaluate()
    assert second.id != first.id
    assert (second.status, second.action) == ("applied", "throttle")
    assert set(world.grants().values()) == {(20, 200, 1)}


def _decide(world: World, model: str, now: datetime) -> str:
    key = world.store.list_keys("acme")[0]
    grant = next(g for g in world.store.list_grants("acme") if g.model == model)
    facts = RequestFacts(True, model, True, "benchmarking")
    decision = decide(key, grant, facts, now)
    return decision.code if isinstance(decision, Refuse) else "allowed"


def test_suspend_keeps_the_terms_and_restore_brings_them_back(world: World) -> None:
    _org(world, rpm=40, tpm=8000)
    world.tenancy.create_key("acme", ["benchmarking"])
    _traffic(world, minute=T0, served=4)
    world.clock.now = T0 + timedelta(hours=1)
    monitor = world.monitor()
    (finding,) = monitor.evaluate()
    assert finding.id is not None
    with pytest.raises(ResponseError, match="only a finding whose suspension"):
        monitor.apply(finding.id, "restore", actor="alice")
    monitor.apply(finding.id, "suspend", actor="alice", reason="extraction")
    assert all(g.suspended_at == world.clock.now for g in world.store.list_grants("acme"))
    assert _decide(world, "m-a", world.clock.now + timedelta(days=400)) == "grant_suspended"
    assert set(world.grants().values()) == {(40, 8000, None)}
    world.clock.now += timedelta(hours=2)
    restored = monitor.apply(finding.id, "restore", actor="alice")
    assert restored.finding.status == "restored" and len(restored.changes) == 3
    assert _decide(world, "m-a", world.clock.now) == "allowed"
    assert set(world.grants().values()) == {(40, 8000, None)}
    with pytest.raises(ResponseError) as twice:
        monitor.apply(finding.id, "restore", actor="alice")
    assert twice.value.status == 409
    actions = [r.action for r in world.tenancy.audit_tail(100)]
    assert actions.count("grant.suspend") == 3 and actions.count("grant.restore") == 3
    assert "monitor.restore" in actions and world.tenancy.verify_audit().ok
