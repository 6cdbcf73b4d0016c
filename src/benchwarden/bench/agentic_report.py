"""Agentic coding results (polyglot): pass rates per language, effort per solved
exercise, why attempts failed, and how often an agent touched the tests. Pure.

Items are the unit for rates, as in ``compare``: a model's epochs on one exercise are
averaged first, then the interval is taken over exercises (Wilson for 0/1, Student-t
once epochs make item scores fractional). Effort and failure counts are over attempts
(one sample = one attempt). Errored samples are infrastructure failures (no attempt
recorded): counted apart, never as failed attempts.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchwarden.bench.agentic.trajectory import FAILURE_KINDS
from benchwarden.bench.stats import Interval, mean_ci, proportion_ci
from benchwarden.store import SampleRecord

PROTOCOLS = ("edit", "tools", "text")
"""``score_detail["protocol"]`` of an agentic attempt (``text``: tools without native
tool calling, one shell command per turn)."""

ALL_LANGUAGES = "all"


def is_agentic(sample: SampleRecord) -> bool:
    """A sample that records an agentic attempt (by its score detail or its metadata)."""
    return sample.score_detail.get("protocol") in PROTOCOLS or isinstance(
        sample.metadata.get("agentic"), dict
    )


def _attempt(sample: SampleRecord) -> dict[str, Any]:
    agentic = sample.metadata.get("agentic")
    return agentic if isinstance(agentic, dict) else {}


def language(sample: SampleRecord) -> str:
    value = sample.score_detail.get("language")
    return str(value) if value else sample.item_id.split("/", 1)[0]


def protocol(sample: SampleRecord) -> str | None:
    value = sample.score_detail.get("protocol") or _attempt(sample).get("protocol")
    return str(value) if value else None


def steps(sample: SampleRecord) -> int:
    """Tool steps of the attempt (edit: one ``write_files`` per try)."""
    value = sample.score_detail.get("steps", _attempt(sample).get("steps"))
    return int(value) if isinstance(value, int | float) else 0


def failure(sample: SampleRecord) -> str | None:
    """Why a finished, unsolved attempt failed (None when solved)."""
    if sample.passed:
        return None
    kind = sample.score_detail.get("failure_kind") or _attempt(sample).get("failure_kind")
    return str(kind) if kind else "unknown"


def tests_modified(sample: SampleRecord) -> bool:
    flag = sample.score_detail.get("tests_modified")
    if isinstance(flag, bool):
        return flag
    return bool(_attempt(sample).get("tests_modified"))


@dataclass(frozen=True, slots=True)
class LanguageRates:
    """One model on one language (or ``all``) of one suite."""

    suite: str
    model: str
    protocol: str  # "edit", "tools", "text", or several joined by "+"
    language: str
    items: int
    attempts: int
    errors: int
    solved: Interval  # at the end (edit: after try 2)
    try1: Interval | None  # edit only: solved at the first try


@dataclass(frozen=True, slots=True)
class Effort:
    """What a model spent, per solved exercise (over all its finished attempts)."""

    suite: str
    model: str
    protocol: str
    attempts: int
    solved: int
    steps_solved: float | None  # mean tool steps of the solved attempts
    tokens_solved: float | None  # mean tokens (in + out) of the solved attempts
    tokens_per_solved: float | None  # every attempt's tokens / solved attempts
    cost: float  # every finished attempt
    cost_per_solved: float | None  # cost / solved attempts


@dataclass(frozen=True, slots=True)
class Failures:
    suite: str
    model: str
    protocol: str
    attempts: int
    solved: int
    kinds: dict[str, int]  # failure kind -> unsolved attempts
    errors: int  # infrastructure: no attempt recorded


@dataclass(frozen=True, slots=True)
class TestEdits:
    """Attempts whose agent changed a test file (restored before scoring)."""

    suite: str
    model: str
    protocol: str
    attempts: int
    modified: int
    share: Interval  # Wilson
    solved_after_restore: int  # of the modified ones


@dataclass(slots=True)
class AgenticSummary:
    rates: list[LanguageRates] = field(default_factory=list)
    effort: list[Effort] = field(default_factory=list)
    failures: list[Failures] = field(default_factory=list)
    test_edits: list[TestEdits] = field(default_factory=list)

    @property
    def failure_kinds(self) -> list[str]:
        """The kinds that occur, in the harness's order, unknown ones after."""
        seen = {k for f in self.failures for k in f.kinds}
        return [k for k in FAILURE_KINDS if k in seen] + sorted(seen - set(FAILURE_KINDS))

    def to_dict(self) -> dict[str, Any]:
        from benchwarden.bench.compare import without_nan

        data: dict[str, Any] = without_nan(
            {
                "rates": [asdict(r) for r in self.rates],
                "effort": [asdict(e) for e in self.effort],
                "failures": [asdict(f) for f in self.failures],
                "test_edits": [asdict(t) for t in self.test_edits],
            }
        )
        return data


def _protocols(samples: Iterable[SampleRecord]) -> str:
    found = sorted({p for s in samples if (p := protocol(s))}, key=_protocol_order)
    return "+".join(found) or "—"


def _protocol_order(name: str) -> tuple[int, str]:
    return (PROTOCOLS.index(name) if name in PROTOCOLS else len(PROTOCOLS), name)


def _item_ci(samples: Sequence[SampleRecord], key: str | None) -> Interval | None:
    """Per-exercise mean over epochs of ``passed`` (key None) or of a boolean detail,
    then the interval over exercises; None when no sample records that detail."""
    per_item: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        flag = s.passed if key is None else s.score_detail.get(key)
        if isinstance(flag, bool):
            per_item[s.item_id].append(float(flag))
    if not per_item:
        return None
    return mean_ci([sum(v) / len(v) for v in per_item.values()])


def _rates(
    suite: str, model: str, lang: str, ok: Sequence[SampleRecord], errors: int
) -> LanguageRates:
    solved = _item_ci(ok, None) or mean_ci([])
    return LanguageRates(
        suite=suite,
        model=model,
        protocol=_protocols(ok),
        language=lang,
        items=len({s.item_id for s in ok}),
        attempts=len(ok),
        errors=errors,
        solved=solved,
        try1=_item_ci(ok, "try1_passed"),
    )


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _effort(suite: str, model: str, ok: Sequence[SampleRecord]) -> Effort:
    won = [s for s in ok if s.passed]
    tokens = [float(s.input_tokens + s.output_tokens) for s in ok]
    cost = math.fsum(s.cost for s in ok)
    return Effort(
        suite=suite,
        model=model,
        protocol=_protocols(ok),
        attempts=len(ok),
        solved=len(won),
        steps_solved=_mean([float(steps(s)) for s in won]),
        tokens_solved=_mean([float(s.input_tokens + s.output_tokens) for s in won]),
        tokens_per_solved=math.fsum(tokens) / len(won) if won else None,
        cost=cost,
        cost_per_solved=cost / len(won) if won else None,
    )


def agentic_summary(
    samples: Sequence[SampleRecord], models: Sequence[str], suites: Sequence[str]
) -> AgenticSummary:
    """The figures for the agentic suites among ``suites`` (samples of other suites and
    non-agentic samples are ignored), in the run's model order."""
    grouped: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
    for s in samples:
        grouped[(s.suite, s.model)].append(s)
    summary = AgenticSummary()
    for suite in suites:
        for model in models:
            group = grouped.get((suite, model), [])
            ok = [s for s in group if s.status == "ok" and is_agentic(s)]
            errored = [s for s in group if s.status == "error"]
            if not ok and not errored:
                continue
            by_lang: dict[str, list[SampleRecord]] = defaultdict(list)
            for s in ok:
                by_lang[language(s)].append(s)
            lang_errors = Counter(language(s) for s in errored)
            langs = sorted(set(by_lang) | set(lang_errors))
            for lang in langs:
                summary.rates.append(
                    _rates(suite, model, lang, by_lang.get(lang, []), lang_errors[lang])
                )
            if len(langs) > 1:
                summary.rates.append(_rates(suite, model, ALL_LANGUAGES, ok, len(errored)))
            summary.effort.append(_effort(suite, model, ok))
            kinds = Counter(k for s in ok if (k := failure(s)) is not None)
            summary.failures.append(
                Failures(
                    suite,
                    model,
                    _protocols(ok),
                    len(ok),
                    sum(bool(s.passed) for s in ok),
                    dict(kinds),
                    len(errored),
                )
            )
            touched = [s for s in ok if tests_modified(s)]
            summary.test_edits.append(
                TestEdits(
                    suite,
                    model,
                    _protocols(ok),
                    len(ok),
                    len(touched),
                    proportion_ci(len(touched), len(ok)),
                    sum(bool(s.passed) for s in touched),
                )
            )
    return summary
