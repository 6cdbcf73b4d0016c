"""Pure: signals -> a score per organization, the kind of misuse, the response level.

Three scores, the highest wins:

- **extraction**: a weighted mean of the signals that tell systematic extraction or
  distillation (unique and templated prompts, growing coverage, long saturated
  outputs, flat and machine-regular timing, held at the limit, reasoning traces),
  discounted by the share of prompts that are known benchmark items (that is what
  traffic declared as benchmarking should be);
- **probing**: logprobs, logit_bias, n > 1 asked at scale;
- **purpose mismatch**: traffic declared ``benchmarking`` made of many distinct
  prompts no benchmark knows (a product's users, most often); or traffic declared for
  evaluation made of hours-long coding-agent sessions on prompts no benchmark knows
  (a daily coding assistant: benchmark runs that exercise tools are many short
  sessions on known exercises, and score nothing here).

The level follows thresholds (``Policy``): flag, throttle, suspend, revoke.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from benchwarden.warden.monitor.signals import Signal

LEVELS = ("none", "flag", "throttle", "suspend", "revoke")

EXTRACTION_WEIGHTS: Mapping[str, float] = {
    "uniqueness": 1.0,
    "template": 1.0,
    "coverage_growth": 1.0,
    "saturation": 1.5,
    "output_ratio": 0.5,
    "flat_clock": 1.0,
    "regular_timing": 1.5,
    "pinned": 1.0,
    "reasoning": 1.0,
}
BENCHMARK_PURPOSES = frozenset({"benchmarking"})
EVALUATION_PURPOSES = frozenset({"benchmarking", "safety-evaluation"})


@dataclass(frozen=True, slots=True)
class Policy:
    """Score thresholds per level, and the highest level applied without an admin."""

    flag: float = 40.0
    throttle: float = 60.0
    suspend: float = 80.0
    revoke: float = 95.0
    auto_max: str = "flag"  # none | flag | throttle | suspend | revoke
    throttle_factor: float = 0.5  # limits are multiplied by this on throttle
    known_discount: float = 0.8
    weights: Mapping[str, float] = field(default_factory=lambda: dict(EXTRACTION_WEIGHTS))

    def __post_init__(self) -> None:
        if self.auto_max not in LEVELS:
            raise ValueError(f"auto_max must be one of {', '.join(LEVELS)}")
        if not self.flag <= self.throttle <= self.suspend <= self.revoke:
            raise ValueError("thresholds must grow: flag <= throttle <= suspend <= revoke")

    def level(self, score: float) -> str:
        for name, bar in (
            ("revoke", self.revoke),
            ("suspend", self.suspend),
            ("throttle", self.throttle),
            ("flag", self.flag),
        ):
            if score >= bar:
                return name
        return "none"

    def automatic(self, level: str) -> bool:
        """Whether the policy applies ``level`` without an admin's approval."""
        return level != "none" and LEVELS.index(level) <= LEVELS.index(self.auto_max)


@dataclass(frozen=True, slots=True)
class Assessment:
    score: float
    kind: str  # extraction | probing | purpose-mismatch | none
    level: str
    parts: dict[str, float]
    top: list[str]  # the signals that weigh most, strongest first


def _strength(signals: Mapping[str, Signal], name: str) -> float:
    found = signals.get(name)
    return found.strength if found is not None else 0.0


def assess(
    signals: Mapping[str, Signal], purposes: set[str], policy: Policy | None = None
) -> Assessment:
    policy = policy or Policy()
    known = signals["known_benchmarks"].value if "known_benchmarks" in signals else 0.0
    weighted = {n: w * _strength(signals, n) for n, w in policy.weights.items()}
    total = sum(policy.weights.values()) or 1.0
    extraction = 100 * sum(weighted.values()) / total * (1 - policy.known_discount * known)
    probing = 60 * _strength(signals, "probing")
    mismatch = 0.0
    if purposes and purposes <= BENCHMARK_PURPOSES:
        mismatch = 45 * _strength(signals, "uniqueness") * (1 - known)
    if purposes and purposes <= EVALUATION_PURPOSES:
        mismatch = max(mismatch, 70 * _strength(signals, "agent_sessions") * (1 - known))
    parts = {
        "extraction": round(extraction, 2),
        "probing": round(probing, 2),
        "purpose-mismatch": round(mismatch, 2),
    }
    kind, score = max(parts.items(), key=lambda kv: kv[1])
    level = policy.level(score)
    if level == "none":
        kind = "none"
    ranked = sorted((n for n, v in weighted.items() if v > 0), key=lambda n: (-weighted[n], n))
    if probing > 0:
        ranked.insert(0 if kind == "probing" else len(ranked), "probing")
    if _strength(signals, "agent_sessions") > 0 and kind == "purpose-mismatch":
        ranked.insert(0, "agent_sessions")
    return Assessment(round(score, 2), kind, level, parts, ranked[:5])
