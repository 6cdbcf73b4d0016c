"""``benchwarden run``: models x suites x epochs into the results database."""

from __future__ import annotations

import asyncio
import shlex
import sys
from typing import Annotated

import typer

from benchwarden.bench.prompting import SamplingOptions
from benchwarden.bench.registry import UnknownSuite
from benchwarden.cli.common import ConfigOption, configured_models, console, fail
from benchwarden.cli.compare_view import print_comparison
from benchwarden.cli.progress import RichProgress
from benchwarden.cli.results_cmd import DbOption, open_db

# ``run`` ended with samples left undone that the same command will run.
INCOMPLETE_EXIT = 3


def resume_command(command: str, run_id: str) -> str:
    """The command line that resumes ``run_id``: the one given, with its --run-id."""
    argv = shlex.split(command) if command else ["benchwarden", "run"]
    if not any(a == "--run-id" or a.startswith("--run-id=") for a in argv):
        argv += ["--run-id", run_id]
    return shlex.join(argv)


def run(
    suite: Annotated[
        list[str],
        typer.Option(
            "--suite", "-s", help="Suite name or suite file (repeatable); see `benchwarden suites`."
        ),
    ],
    model: Annotated[list[str], typer.Option("--model", "-m", help="Model (repeatable).")],
    limit: Annotated[
        int | None, typer.Option(min=1, help="Items per suite, chosen by --seed.")
    ] = None,
    epochs: Annotated[
        int, typer.Option(min=1, help="Samples per item (for pass@k and variance).")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Seeds item selection and sampling.")] = 0,
    purpose: Annotated[
        str, typer.Option(help="Declared purpose; each model's terms must permit it.")
    ] = "benchmarking",
    run_id: Annotated[
        str | None,
        typer.Option(help="Name the run; the same command with the same --run-id resumes it."),
    ] = None,
    retry_errors: Annotated[
        bool, typer.Option(help="Re-run only the samples that ended in an infrastructure error.")
    ] = False,
    max_answer_tokens: Annotated[
        int | None, typer.Option(min=1, help="Cap on each answer's tokens (default: the suite's).")
    ] = None,
    temperature: Annotated[float | None, typer.Option(min=0.0, max=2.0)] = None,
    top_p: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    max_concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Concurrent calls per model (default: the model's own)."),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="Budget: stop cleanly after this many tokens in all.")
    ] = None,
    max_cost: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Budget: stop cleanly after this cost in USD (from configured prices)."
        ),
    ] = None,
    cache: Annotated[bool, typer.Option(help="Reuse cached answers to identical requests.")] = True,
    judge: Annotated[
        list[str] | None,
        typer.Option(
            "--judge",
            help="Judge model (repeatable): judges writing pairs and safety answers.",
        ),
    ] = None,
    refusal_judge: Annotated[
        str | None,
        typer.Option(
            help="Safety suites: the judge model whose verdict labels the answers the "
            "refusal classifier is unsure of, asked about those only (also a --judge: it "
            "labels every answer; without this option the first --judge decides).",
        ),
    ] = None,
    writing_mode: Annotated[
        str,
        typer.Option(
            help="Writing suites: auto (pairwise with 2+ models, else 1-10 grades), "
            "pairwise, single or both.",
        ),
    ] = "auto",
    agent: Annotated[
        str | None,
        typer.Option(
            help="Agentic suites (polyglot): `edit` (whole files, two tries, Aider's) or "
            "`tools` (an agent loop with a shell and file tools). Default: edit.",
        ),
    ] = None,
    language: Annotated[
        list[str] | None,
        typer.Option(
            "--language",
            help="Agentic suites: only this language (repeatable; default: all "
            "that run here, see `benchwarden suites`).",
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(min=1, help="Agentic suites: tool steps per attempt (default 30)."),
    ] = None,
    attempt_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="Agentic suites: tokens per attempt (default 400,000)."),
    ] = None,
    attempt_cost: Annotated[
        float | None,
        typer.Option(min=0.0, help="Agentic suites: USD per attempt (default: no cap)."),
    ] = None,
    attempt_seconds: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            help="Agentic suites: seconds of model calls and commands per attempt (default 900).",
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="Where units of work run: `local` (this process) or `ray` (a Ray cluster: "
            "--ray-address or RAY_ADDRESS; needs benchwarden[ray]). Results are stored here.",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(help="The Ray cluster for --executor ray: HOST:PORT or ray://HOST:PORT."),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run suites on models; answers and scores are stored as they complete."""
    from benchwarden.bench.data import DataError
    from benchwarden.bench.service import RunRefused, RunRequest, execute, prepare

    request = RunRequest(
        suites=suite,
        models=model,
        purpose=purpose,
        limit=limit,
        epochs=epochs,
        seed=seed,
        run_id=run_id,
        retry_errors=retry_errors,
        sampling=SamplingOptions(max_answer_tokens, temperature, top_p),
        max_concurrency=max_concurrency,
        max_tokens_budget=max_tokens,
        max_cost=max_cost,
        use_cache=cache,
        judges=tuple(judge or ()),
        refusal_judge=refusal_judge,
        writing_mode=writing_mode,
        agent=agent,
        languages=tuple(language or ()),
        attempt_limits={
            name: value
            for name, value in (
                ("max_steps", max_steps),
                ("max_tokens", attempt_tokens),
                ("max_cost", attempt_cost),
                ("active_seconds", attempt_seconds),
            )
            if value is not None
        },
        executor=executor,
        ray_address=ray_address,
        command=shlex.join(["benchwarden", *sys.argv[1:]]),
    )
    from benchwarden.bench.writing.judging import MODES

    if writing_mode not in MODES:
        fail(f"--writing-mode {writing_mode!r}: use one of {', '.join(MODES)}")
    configured = configured_models(config)
    store = open_db(db)
    try:
        try:
            prepared = prepare(store, request, configured)
        except (RunRefused, UnknownSuite, ValueError, DataError) as exc:
            fail(str(exc))
        run_id = prepared.run.run_id
        todo = sum(len(t) for t in prepared.plan.values())
        verb = "resuming" if prepared.resumed else "starting"
        console.print(
            f"[bold]{verb} {run_id}[/] · purpose {purpose} · {todo} samples to do "
            f"· results in {store.url}"
        )
        for spec in prepared.judge_specs.values():
            if spec.provider == "local":
                console.print(
                    f"[yellow]warning:[/] {spec.name} judges here: the embedded judges are weak "
                    "(often no usable verdict); use a strong configured model for real results."
                )
        for spec in prepared.specs.values():
            if spec.purposes is None and spec.provider != "local":
                console.print(
                    f"[yellow]note:[/] no terms recorded for {spec.name}; "
                    "add `purposes` to its config to have them checked."
                )
        try:
            with RichProgress(console) as progress:
                outcome = asyncio.run(execute(store, prepared, request, progress))
        except RunRefused as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            console.print(
                f"[yellow]interrupted[/]: what finished is saved; run the same "
                f"command to resume {run_id}."
            )
            raise typer.Exit(130) from None
        for name, reason in outcome.blocked.items():
            console.print(f"[red]{name} stopped:[/] {reason}")
        if outcome.stop_reason:
            console.print(
                f"[yellow]stopped:[/] {outcome.stop_reason}. Raise the budget and "
                f"run the same command to continue."
            )
        if outcome.judging:
            j = outcome.judging
            console.print(
                f"writing judges: {j['judged']} verdicts ({j['unparsed']} unparsed), "
                f"{j['errors']} errors"
                + (f" · {j['skipped_reason']}" if j.get("skipped_reason") else "")
            )
        print_placement(outcome.placement, outcome.placement_notes)
        console.print(
            f"{outcome.recorded} samples recorded, {outcome.errors} errors · "
            f"status {outcome.status}"
        )
        print_comparison(store, run_id)
        if outcome.not_done:
            for name, reason in outcome.rate_limited.items():
                console.print(f"[red]{name} rate-limited:[/] {reason}", highlight=False)
            console.print(
                f"[red]{sum(outcome.not_done.values())} samples not done[/]: the provider's "
                "rate limit outlasted the time budget. Resume them with:"
            )
            console.print(resume_command(request.command, run_id), markup=False, soft_wrap=True)
            raise typer.Exit(INCOMPLETE_EXIT)
    finally:
        store.close()


def print_placement(placement: dict[str, int], notes: list[str]) -> None:
    """Where the work ran (executors other than local): units per node, refusals."""
    if not placement and not notes:
        return
    total = sum(placement.values())
    console.print(f"work ran on {len(placement)} node(s), {total} units:")
    for node, count in sorted(placement.items(), key=lambda kv: (-kv[1], kv[0])):
        console.print(f"  {node}: {count} units", markup=False)
    for note in notes:
        console.print(f"  note: {note}", markup=False)
