"""Pure: what a unit asks of a node, and which nodes have refused what.

A requirement ("sandbox", "toolchain:go") maps to a custom Ray resource
(``benchwarden_sandbox``, ``benchwarden_toolchain_go``). When some node of the cluster
declares that resource (``ray start --resources "$(python -m
benchwarden.bench.cluster.offers)"``), Ray places the unit only on such nodes; each unit
takes a tiny share, so the resource gates placement and the CPUs bound concurrency.
When no node declares it, the unit may land anywhere: a node that lacks the
requirement refuses it (``NodeRefused``) and the driver pins the unit to a node that
has not refused that requirement, until none is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

RESOURCE_PREFIX = "benchwarden_"
RESOURCE_SHARE = 0.001
"""How much of a declared resource one unit takes (placement, not a count)."""

MIB = 1024 * 1024
SANDBOX_MEMORY = 1024 * MIB  # the sandbox's per-process address space (SandboxLimits)
ENGINE_MEMORY = 1024 * MIB  # an embedded model's engine (weights and context)
CALL_MEMORY = 128 * MIB  # a unit that only waits on a remote API
CALL_CPUS = 0.25


class NodeRefused(Exception):
    """Raised on a node that lacks what a unit needs; the driver places it elsewhere."""

    def __init__(self, node: str, requirement: str, reason: str) -> None:
        super().__init__(node, requirement, reason)
        self.node, self.requirement, self.reason = node, requirement, reason

    def __str__(self) -> str:
        return f"node {self.node} cannot run {self.requirement}: {self.reason}"


def resource_name(requirement: str) -> str:
    """``toolchain:go`` -> ``benchwarden_toolchain_go``."""
    return RESOURCE_PREFIX + requirement.replace(":", "_").replace("-", "_")


@dataclass(frozen=True, slots=True)
class Shape:
    """The Ray options of one unit: logical CPUs, memory (bytes), custom resources."""

    num_cpus: float
    memory: int
    resources: dict[str, float] = field(default_factory=dict)


def unit_shape(requirements: Sequence[str], provider: str, declared: Iterable[str]) -> Shape:
    """Sandboxed work and embedded inference take a whole CPU; a remote API call a
    quarter (it mostly waits). Declared requirements become custom resources."""
    known = set(declared)
    resources = {name: RESOURCE_SHARE for name in map(resource_name, requirements) if name in known}
    if "sandbox" in requirements:
        memory = SANDBOX_MEMORY + (ENGINE_MEMORY if provider == "local" else 0)
        return Shape(1.0, memory, resources)
    if provider == "local":
        return Shape(1.0, ENGINE_MEMORY, resources)
    return Shape(CALL_CPUS, CALL_MEMORY, resources)


@dataclass(slots=True)
class Refusals:
    """Which node refused which requirement, and why (kept for the whole run)."""

    by_requirement: dict[str, dict[str, str]] = field(default_factory=dict)
    # (node label, requirement) -> (units refused, reason)
    counts: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    def record(self, refusal: NodeRefused, node_id: str) -> None:
        self.by_requirement.setdefault(refusal.requirement, {})[node_id] = refusal.reason
        key = (refusal.node, refusal.requirement)
        self.counts[key] = (self.counts.get(key, (0, ""))[0] + 1, refusal.reason)

    def refused(self, requirements: Sequence[str]) -> set[str]:
        return {n for r in requirements for n in self.by_requirement.get(r, {})}

    def pick(self, requirements: Sequence[str], alive: Mapping[str, str], turn: int) -> str | None:
        """None: let Ray place it (no node refused these yet). Else a node id among the
        alive nodes (id -> label) that refused none of them, in turn; raises
        :class:`NoCapableNode` when every alive node has refused."""
        refused = self.refused(requirements)
        if not refused:
            return None
        left = sorted(n for n in alive if n not in refused)
        if not left:
            raise NoCapableNode(self.explain(requirements, alive))
        return left[turn % len(left)]

    def explain(self, requirements: Sequence[str], alive: Mapping[str, str]) -> str:
        lines = [
            f"{alive.get(node, node)}: {requirement}: {reason}"
            for requirement in requirements
            for node, reason in self.by_requirement.get(requirement, {}).items()
        ]
        return (
            f"no node of the cluster can run a unit needing {', '.join(requirements)} "
            f"({'; '.join(lines)}); add a node that has it (its `ray start --resources` "
            "from `python -m benchwarden.bench.cluster.offers`), then resume with "
            "--retry-errors"
        )

    def notes(self) -> list[str]:
        return [
            f"{node} refused {count} unit(s) needing {requirement}: {reason}"
            for (node, requirement), (count, reason) in sorted(self.counts.items())
        ]


class NoCapableNode(Exception):
    """Every alive node refused what a unit needs (the message names each reason)."""
