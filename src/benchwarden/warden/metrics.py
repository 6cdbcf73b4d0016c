"""Prometheus metrics for one warden app (its own registry, so several apps in one
process, as in tests, do not collide).

Labels are bounded: ``model`` is a served model's name or ``other`` (never whatever a
client typed), ``code`` comes from warden's own vocabulary.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
_FAST = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class WardenMetrics:
    def __init__(self, served: Collection[str]) -> None:
        self.served = frozenset(served)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "warden_decisions",
            "Requests decided, by endpoint, model, decision (allow/refuse) and code.",
            ["endpoint", "model", "decision", "code"],
            registry=self.registry,
        )
        self.outcomes = Counter(
            "warden_outcomes",
            "Admitted calls by how they ended (completed, cut, ended, failed, aborted).",
            ["endpoint", "model", "outcome", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "warden_request_duration_seconds",
            "From request to the last byte of the answer (streams included).",
            ["endpoint", "model", "stream"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "warden_tokens",
            "Tokens settled, by model and kind (input/output).",
            ["model", "kind"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "warden_calls_in_flight", "Admitted calls not yet settled.", registry=self.registry
        )
        self.state_read = Histogram(
            "warden_state_read_seconds",
            "The per-request read of key and grant from the database.",
            buckets=_FAST,
            registry=self.registry,
        )
        self.audit_commit = Histogram(
            "warden_audit_commit_seconds",
            "One group commit of audit records.",
            buckets=_FAST,
            registry=self.registry,
        )
        self.audit_records = Counter(
            "warden_audit_records", "Audit records committed.", registry=self.registry
        )

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, kept: every request touches five of them, and
        ``labels`` validates and locks on each call. The label values are bounded (see
        the module docstring), so is this memo."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def model_label(self, model: str | None) -> str:
        return model if model in self.served else "other"

    def observe_audit(self, records: int, seconds: float) -> None:
        self.audit_records.inc(records)
        self.audit_commit.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
