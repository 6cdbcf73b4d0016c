"""Suite ``polyglot``: Aider's polyglot benchmark, worked on by a model in a sandboxed
workspace under one of two protocols (``--agent edit|tools``, see ``bench/agentic``).

An item is one exercise, carried whole in the item's metadata (plain data), so an
attempt is a serializable unit of work. The score is 1 when the exercise's tests pass
at the end; ``try1_passed`` (edit) is the leaderboard's first figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from benchwarden.bench.agentic.attempt import AttemptResult, AttemptSetup
from benchwarden.bench.agentic.check import language_reason
from benchwarden.bench.agentic.edit import run_edit
from benchwarden.bench.agentic.exercises import LANGUAGES, Exercise, load_exercises
from benchwarden.bench.agentic.loop import run_tools
from benchwarden.bench.agentic.trajectory import AttemptLimits
from benchwarden.bench.suite import EpisodeContext, EpisodeOutcome, Item, Score, Suite
from benchwarden.models.protocol import ModelClient
from benchwarden.models.types import Message

AGENTS = ("edit", "tools")
POLYGLOT_TAG = "agentic"
NAME = "polyglot"


class PolyglotUnavailable(ValueError):
    """A language (or the sandbox) cannot run here; the message says what to install."""


def runnable_languages() -> dict[str, str | None]:
    """Each language of the benchmark with why it cannot run here (None: it can)."""
    return {language: language_reason(language) for language in LANGUAGES}


def exercise_item(exercise: Exercise) -> Item:
    return Item(
        id=exercise.id,
        messages=(Message("user", exercise.instructions),),
        target=sorted(exercise.solution),
        metadata={"language": exercise.language, "exercise": exercise.to_dict()},
    )


def choose_languages(asked: Sequence[str], runs_here: bool = True) -> tuple[str, ...]:
    """The languages to run: those asked (each must run here), or every runnable one.
    ``runs_here`` False (a cluster's driver, which only plans): the languages asked need
    not run on this machine; the nodes that take the attempts must have them."""
    reasons = runnable_languages()
    unknown = [lang for lang in asked if lang not in reasons]
    if unknown:
        raise PolyglotUnavailable(
            f"unknown language {', '.join(unknown)}; the polyglot languages are "
            f"{', '.join(LANGUAGES)}"
        )
    if asked and not runs_here:
        return tuple(dict.fromkeys(asked))
    if asked:
        blocked = {lang: reasons[lang] for lang in asked if reasons[lang]}
        if blocked:
            lines = "; ".join(f"{lang}: {why}" for lang, why in blocked.items())
            raise PolyglotUnavailable(f"cannot run here: {lines}")
        return tuple(dict.fromkeys(asked))
    runnable = tuple(lang for lang, why in reasons.items() if why is None)
    if not runnable:
        raise PolyglotUnavailable(
            "no polyglot language can run here (see `benchwarden suites check polyglot`)"
        )
    return runnable


def _score(result: AttemptResult, exercise: Exercise) -> Score:
    detail: dict[str, object] = {
        "language": exercise.language,
        "protocol": result.protocol,
        "outcome": result.final.outcome if result.final else None,
        "failure_kind": result.failure,
        "end_reason": result.end_reason,
        "tests_modified": bool(result.tests_modified),
        "steps": sum(s.kind == "tool" for s in result.steps),
    }
    if result.protocol == "edit":
        detail["try1_passed"] = bool(result.tries) and bool(result.tries[0]["passed"])
        detail["try2_passed"] = result.passed
    return Score(1.0 if result.passed else 0.0, result.passed, detail)


@dataclass(slots=True)
class PolyglotAttempt:
    """The suite's episode: one attempt at one exercise under the run's protocol."""

    agent: str
    limits: AttemptLimits = field(default_factory=AttemptLimits)

    async def __call__(
        self, client: ModelClient, item: Item, context: EpisodeContext
    ) -> EpisodeOutcome:
        exercise = Exercise.from_dict(item.metadata["exercise"])
        limits = self.limits
        if context.max_tokens is not None:
            limits = replace(limits, answer_tokens=context.max_tokens)
        setup = AttemptSetup(
            exercise=exercise,
            limits=limits,
            mode=context.mode,
            purpose=context.purpose,
            seed=context.seed,
            epoch=context.epoch,
            temperature=context.temperature,
            top_p=context.top_p,
            price=context.price,
        )
        run = run_edit if self.agent == "edit" else run_tools
        result = await run(client, setup)
        return EpisodeOutcome(
            answer=result.diff,
            usage=result.tally.usage,
            cost=result.tally.cost,
            latency_s=result.tally.active_seconds,
            score=_score(result, exercise),
            finish_reason=result.end_reason,
            metadata=result.metadata(),
        )


@dataclass(frozen=True, slots=True)
class PolyglotScorer:
    """Scoring happens inside the attempt (the tests in the workspace); named for records."""

    name: str = "polyglot-tests"

    def __call__(self, item: Item, answer: str) -> Score:
        raise TypeError("polyglot attempts are scored by their episode, not by an answer")


def polyglot_suite(
    agent: str = "edit",
    languages: Sequence[str] = (),
    limits: AttemptLimits | None = None,
    runs_here: bool = True,
) -> Suite:
    """The suite for one protocol and a set of languages (default: all runnable here).
    ``runs_here`` False: this process only plans (the driver of a cluster run), so the
    languages asked and the sandbox need not be here (see :func:`choose_languages`)."""
    if agent not in AGENTS:
        raise PolyglotUnavailable(f"--agent {agent!r}: use one of {', '.join(AGENTS)}")

    def load() -> list[Item]:
        chosen = choose_languages(languages, runs_here)
        from benchwarden.bench.sandbox.shell import WorkspaceUnavailable, require_isolation
        from benchwarden.bench.sandbox.workspace_files import sweep_stale_workspaces

        if not runs_here and languages:
            return [exercise_item(e) for e in load_exercises(chosen)]
        try:
            require_isolation()
        except WorkspaceUnavailable as exc:
            raise PolyglotUnavailable(str(exc)) from exc
        # Workspaces a killed earlier run left behind (kill -9 cleans nothing up).
        sweep_stale_workspaces()
        return [exercise_item(e) for e in load_exercises(chosen)]

    return Suite(
        name=NAME,
        description=(
            "Aider's polyglot benchmark: Exercism exercises in C++, Go, Java, JavaScript, "
            "Python, Rust, solved in a sandboxed workspace (--agent edit|tools)"
        ),
        load=load,
        scorer=PolyglotScorer(),
        version=f"1-{agent}",
        max_tokens=(limits or AttemptLimits()).answer_tokens,
        tags=(POLYGLOT_TAG,),
        source="benchwarden.bench.suites.polyglot",
        episode=PolyglotAttempt(agent, limits or AttemptLimits()),
    )
