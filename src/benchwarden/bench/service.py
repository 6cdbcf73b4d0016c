"""Starting or resuming a run: checks before any call, then the runner, then the record.

Order matters: models are resolved and their terms checked against the declared
purpose, and suites are loaded, before anything is written or any model is called,
so a refused purpose or a broken suite file costs nothing.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchwarden import __version__
from benchwarden.bench.executor import (
    Executor,
    ExecutorError,
    executor_problem,
    open_executor,
)
from benchwarden.bench.plan import plan_tasks, select_items
from benchwarden.bench.prompting import SamplingOptions
from benchwarden.bench.registry import AGENTIC, SUITE_FILE_SUFFIXES, get_suite
from benchwarden.bench.runner import ProgressSink, Runner, RunOptions, RunOutcome
from benchwarden.bench.suite import Item, Suite
from benchwarden.bench.work import SuiteRef
from benchwarden.models.config import ModelSpec
from benchwarden.models.errors import ModelError
from benchwarden.models.factory import open_client
from benchwarden.models.protocol import ModelClient
from benchwarden.models.registry import resolve
from benchwarden.store import RunRecord, Store
from benchwarden.store.urls import mask_url


class RunRefused(Exception):
    """The run cannot start as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    suites: Sequence[str]
    models: Sequence[str]
    purpose: str = "benchmarking"
    limit: int | None = None
    epochs: int = 1
    seed: int = 0
    run_id: str | None = None
    retry_errors: bool = False
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    max_concurrency: int | None = None
    max_tokens_budget: int | None = None
    max_cost: float | None = None
    use_cache: bool = True
    command: str = ""
    # Judge models (``--judge``): suites that judge answers (writing, safety) use them.
    # Not part of the run's identity: judges may be added when a run is resumed.
    judges: Sequence[str] = ()
    # Safety suites: the judge that decides the answers the refusal classifier is unsure
    # of (``--refusal-judge``), asked about those only; None: the first ``--judge``.
    refusal_judge: str | None = None
    # Writing suites: "auto" (pairwise with 2+ models, else single grades), "pairwise",
    # "single" or "both". Not part of the identity either.
    writing_mode: str = "auto"
    # Agentic suites (polyglot): the protocol and the languages; None/() when unused.
    agent: str | None = None
    languages: Sequence[str] = ()
    # Per-attempt limits of agentic suites (AttemptLimits fields: max_steps, max_tokens,
    # max_cost, active_seconds); unset ones keep the suite's defaults.
    attempt_limits: Mapping[str, float] = field(default_factory=dict)
    # Where units run: "local" (this process) or "ray" (a cluster at ray_address, else
    # RAY_ADDRESS). Not part of the identity: a run may be resumed elsewhere.
    executor: str = "local"
    ray_address: str | None = None

    def identity(self) -> dict[str, Any]:
        """What must match for the same --run-id to be a resume of the same run."""
        return {
            "suites": list(self.suites),
            "models": list(self.models),
            "purpose": self.purpose,
            "limit": self.limit,
            "epochs": self.epochs,
            "seed": self.seed,
            "max_tokens": self.sampling.max_tokens,
            "temperature": self.sampling.temperature,
            "top_p": self.sampling.top_p,
        }


@dataclass(slots=True)
class PreparedRun:
    run: RunRecord
    resumed: bool
    specs: dict[str, ModelSpec]
    suites: dict[str, Suite]
    items: dict[str, list[Item]]
    plan: dict[str, list[Any]]
    already_done: dict[str, int]
    judge_specs: dict[str, ModelSpec] = field(default_factory=dict)


def new_run_id() -> str:
    return f"run-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def check_purpose(specs: Sequence[ModelSpec], purpose: str) -> None:
    refused = [s for s in specs if not s.permits(purpose)]
    if refused:
        lines = [f"  {s.name}: its terms permit {', '.join(s.purposes or ())}" for s in refused]
        raise RunRefused(
            f"purpose {purpose!r} is not permitted for {len(refused)} model(s); nothing was "
            "called:\n"
            + "\n".join(lines)
            + "\nRun with a permitted --purpose, or leave these models out."
        )


def prepare(store: Store, request: RunRequest, configured: dict[str, ModelSpec]) -> PreparedRun:
    if request.epochs < 1:
        raise RunRefused("--epochs must be at least 1")
    problem = executor_problem(request.executor, request.ray_address)
    if problem:
        raise RunRefused(problem)
    if len(set(request.models)) != len(request.models):
        raise RunRefused("a model is named twice; name each model once")
    try:
        specs = {name: resolve(name, configured) for name in request.models}
    except ModelError as exc:
        raise RunRefused(str(exc)) from exc
    if len(set(request.judges)) != len(request.judges):
        raise RunRefused("a judge is named twice; name each judge once")
    # The deciding judge first (see JudgedScorerFactory); asked about every answer only
    # when it is also a --judge.
    named = [*([request.refusal_judge] if request.refusal_judge else []), *request.judges]
    try:
        judge_specs = {name: resolve(name, configured) for name in dict.fromkeys(named)}
    except ModelError as exc:
        raise RunRefused(f"judge: {exc}") from exc
    # A judge is called for the run's purpose too, so its terms must permit it.
    check_purpose([*specs.values(), *judge_specs.values()], request.purpose)
    suites: dict[str, Suite] = {}
    items: dict[str, list[Item]] = {}
    agentic = [name for name in request.suites if name in AGENTIC]
    if (request.agent or request.languages) and not agentic:
        raise RunRefused(
            "--agent and --language apply to agentic suites only "
            f"({', '.join(sorted(AGENTIC))}); add -s polyglot or leave them out"
        )
    for name in request.suites:
        # raises with file, line and field for broken suite files
        suite = get_suite(
            name,
            agent=request.agent,
            languages=request.languages,
            limits=request.attempt_limits,
            # A Ray driver plans only: the nodes that take the attempts need the
            # toolchains, not the driver (with --language; else: what runs here).
            runs_here=request.executor != "ray",
        )
        suites[suite.name] = suite
        items[suite.name] = select_items(
            list(suite.load()), request.limit, request.seed, suite.name
        )
    run_id = request.run_id or new_run_id()
    existing = store.get_run(run_id)
    identity = {**request.identity(), "suites": list(suites)}
    if agentic:  # the protocol and languages change what is measured
        identity["agent"] = request.agent or "edit"
        identity["languages"] = list(request.languages)
        identity["attempt_limits"] = dict(request.attempt_limits)
    if existing is not None:
        stored = existing.settings.get("identity", {})
        diffs = [k for k in identity if stored.get(k) != identity[k]]
        if diffs:
            raise RunRefused(
                f"run {run_id} exists with different {', '.join(diffs)} "
                f"(stored: {', '.join(f'{k}={stored.get(k)!r}' for k in diffs)}); "
                "repeat the original command to resume it, or use a new --run-id"
            )
        run = existing
    else:
        run = RunRecord(
            run_id=run_id,
            purpose=request.purpose,
            seed=request.seed,
            suites=list(suites),
            models=list(request.models),
            settings={
                "identity": identity,
                "max_cost": request.max_cost,
                "max_tokens_budget": request.max_tokens_budget,
                "endpoints": {
                    n: s.base_url or f"{s.provider}:{s.upstream_model}" for n, s in specs.items()
                },
                "judges": list(judge_specs),
                "refusal_judge": request.refusal_judge,
            },
            # The command line may carry a database URL with its password (--db).
            command=mask_url(request.command),
            benchwarden_version=__version__,
        )
    done = store.done_keys(run_id)
    plan = plan_tasks(list(specs), items, request.epochs, request.seed, done, request.retry_errors)
    total = {m: request.epochs * sum(len(v) for v in items.values()) for m in specs}
    already = {m: total[m] - len(plan[m]) for m in specs}
    if existing is None:
        store.create_run(run)
    elif judge_specs and list(judge_specs) != existing.settings.get("judges"):
        settings = {**existing.settings, "judges": list(judge_specs)}
        store.update_run(run_id, settings=settings)
        run = store.get_run(run_id) or run
    return PreparedRun(run, existing is not None, specs, suites, items, plan, already, judge_specs)


def with_judges(
    suites: dict[str, Suite],
    judges: dict[str, ModelClient],
    purpose: str,
    every: Sequence[str] | None = None,
) -> dict[str, Suite]:
    """Suites whose answers the run's judges also score get their judged scorer
    (``every``: the judges that label every answer; default all)."""
    if not judges:
        return suites
    labels_all = frozenset(judges if every is None else every)
    return {
        name: dataclasses.replace(suite, scorer=suite.judged(judges, purpose, labels_all))
        if suite.judged is not None
        else suite
        for name, suite in suites.items()
    }


def writing_suites(suites: dict[str, Suite]) -> list[str]:
    from benchwarden.bench.suites.writing import WRITING_TAG

    return [name for name, suite in suites.items() if WRITING_TAG in suite.tags]


async def _judge_writing(
    store: Store,
    prepared: PreparedRun,
    request: RunRequest,
    judges: dict[str, ModelClient],
    outcome: RunOutcome,
) -> None:
    """After the answers: the writing judges compare them (only what is not judged yet)."""
    names = writing_suites(prepared.suites)
    if not names:
        return
    from benchwarden.bench.writing.judging import judge_writing

    done = await judge_writing(
        store,
        prepared.run.run_id,
        list(prepared.specs),
        names,
        {n: prepared.items[n] for n in names},
        judges,
        request.purpose,
        request.writing_mode,
    )
    outcome.judging = {
        "planned": done.planned,
        "judged": done.judged,
        "unparsed": done.unparsed,
        "errors": done.errors,
        "skipped_reason": done.skipped_reason,
    }


def suite_refs(
    suites: Mapping[str, Suite], request: RunRequest, judges: Sequence[ModelSpec]
) -> dict[str, SuiteRef]:
    """How a worker elsewhere rebuilds each suite (a suite file by its absolute path)."""
    refs = {}
    for name, suite in suites.items():
        agentic = suite.episode is not None
        from_file = suite.source.endswith(SUITE_FILE_SUFFIXES)
        refs[name] = SuiteRef(
            name=str(Path(suite.source).resolve()) if from_file else name,
            agent=request.agent if agentic else None,
            languages=tuple(request.languages) if agentic else (),
            limits=tuple(sorted(request.attempt_limits.items())) if agentic else (),
            judges=tuple(judges) if suite.judged is not None else (),
            judges_every=tuple(request.judges) if suite.judged is not None else (),
        )
    return refs


def open_run_executor(request: RunRequest) -> Executor | None:
    try:
        return open_executor(request.executor, request.ray_address)
    except ExecutorError as exc:
        raise RunRefused(str(exc)) from exc


async def execute(
    store: Store, prepared: PreparedRun, request: RunRequest, progress: ProgressSink | None = None
) -> RunOutcome:
    clients: dict[str, ModelClient] = {}
    judges: dict[str, ModelClient] = {}
    outcome = RunOutcome()
    # Before anything is called: a cluster that cannot be reached refuses the run.
    executor = open_run_executor(request)  # Ray wants its init on the main thread
    # Judges first: a judge that cannot be reached (say, its key is missing) refuses
    # the run before anything is called or the run's status changes.
    for name, spec in prepared.judge_specs.items():
        try:
            judges[name] = open_client(spec, use_cache=request.use_cache)
        except ModelError as exc:
            for opened in judges.values():
                await opened.aclose()
            if executor is not None:
                await executor.aclose()
            raise RunRefused(f"judge {name}: {exc}") from exc
    store.update_run(prepared.run.run_id, status="running")
    try:
        for name, spec in prepared.specs.items():
            try:
                clients[name] = open_client(
                    spec, use_cache=request.use_cache, max_concurrency=request.max_concurrency
                )
            except ModelError as exc:  # e.g. a missing key: that model is skipped
                outcome.blocked[name] = str(exc)
        runner = Runner(
            store,
            prepared.run.run_id,
            with_judges(prepared.suites, judges, request.purpose, request.judges),
            prepared.items,
            prepared.specs,
            clients,
            RunOptions(
                purpose=request.purpose,
                sampling=request.sampling,
                max_concurrency=request.max_concurrency,
                max_tokens_budget=request.max_tokens_budget,
                max_cost=request.max_cost,
                use_cache=request.use_cache,
                suite_refs=suite_refs(
                    prepared.suites, request, list(prepared.judge_specs.values())
                ),
            ),
            progress,
            executor,
        )
        plan = {m: t for m, t in prepared.plan.items() if m in clients}
        runner.outcome.blocked.update(outcome.blocked)
        try:
            outcome = await runner.run(plan, prepared.already_done)
        finally:
            outcome = runner.outcome
            note = (
                outcome.stop_reason
                or "; ".join(f"{m}: {r}" for m, r in outcome.blocked.items())
                or None
            )
            if outcome.interrupted:
                note = "interrupted; run the same command to resume"
            store.update_run(prepared.run.run_id, status=outcome.status, note=note)
        # Writing pairs are judged by the --judge models, never by a refusal judge alone.
        writing_judges = {n: c for n, c in judges.items() if n in request.judges}
        if writing_judges and not outcome.interrupted:
            await _judge_writing(store, prepared, request, writing_judges, outcome)
    finally:
        if executor is not None:
            await executor.aclose()
        for client in [*clients.values(), *judges.values()]:
            await client.aclose()
        for suite in prepared.suites.values():
            close = getattr(suite.scorer, "aclose", None)  # e.g. a sandbox pool
            if close is not None:
                await close()
    return outcome
