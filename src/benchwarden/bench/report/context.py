"""What a report is built from: the run, its samples, the comparison, and the kind of
each suite. Built once; every section reads it and computes nothing statistical of its
own beyond what ``compare`` and ``safety_report`` already give."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchwarden.bench.compare import Comparison, compare_run
from benchwarden.store import JudgmentRecord, RunRecord, SampleRecord

KINDS = ("agentic", "coding", "safety", "writing", "generic")
SAFETY_SUITES = ("safety", "over-refusal")
AGENTIC_SUITES = ("polyglot",)


def suite_kind(name: str, samples: list[SampleRecord]) -> str:
    """The kind of a suite: the tag of a built-in suite, else what its scores look like
    (suite files and suites this version does not know). ``agentic``: a model working
    on exercises in a workspace (polyglot), whose samples carry the agent's protocol."""
    from benchwarden.bench.agentic_report import PROTOCOLS
    from benchwarden.bench.registry import BUILTIN

    if name in AGENTIC_SUITES:
        return "agentic"
    suite = BUILTIN.get(name)
    if suite is not None:
        for kind in KINDS:
            if kind in suite.tags:
                return kind
    details = [s.score_detail for s in samples if s.suite == name and s.score_detail]
    # An agent's attempts (before coding: an attempt also has passing tests or not).
    if any(d.get("protocol") in PROTOCOLS for d in details):
        return "agentic"
    if any("label" in d and "hazard" in d for d in details):
        return "safety"
    if any("failing_test" in d or "base_passed" in d for d in details):
        return "coding"
    if any("rating" in d or "pairwise" in d for d in details):
        return "writing"
    return "generic"


@dataclass(slots=True)
class ReportContext:
    run: RunRecord
    samples: list[SampleRecord]
    # Judges' verdicts on writing answers (``store.judgments``); empty for other runs.
    judgments: list[JudgmentRecord] = field(default_factory=list)
    comparison: Comparison = field(init=False)
    kinds: dict[str, str] = field(init=False)  # suite -> kind

    def __post_init__(self) -> None:
        self.comparison = compare_run(self.run.run_id, self.samples, self.models, self.suites)
        self.kinds = {s: suite_kind(s, self.samples) for s in self.suites}

    @property
    def models(self) -> list[str]:
        return list(self.run.models)

    @property
    def suites(self) -> list[str]:
        return list(self.run.suites)

    def suites_of(self, kind: str) -> list[str]:
        return [s for s in self.suites if self.kinds.get(s) == kind]

    def samples_of(self, kind: str) -> list[SampleRecord]:
        names = set(self.suites_of(kind))
        return [s for s in self.samples if s.suite in names]
