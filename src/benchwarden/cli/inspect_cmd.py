"""inspect_ai interop: ``export --format inspect`` (called from export_cmd.py) and
``benchwarden import FILE.eval...`` (inspect logs in as a run ``compare`` and
``report`` read like any other). Needs the extra ``benchwarden[inspect]``."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from benchwarden.cli.common import console, err_console, fail
from benchwarden.cli.results_cmd import DbOption, open_db


def _inspect_version() -> str:
    from benchwarden.bench.interop.inspect_files import InspectUnavailable, require_inspect

    try:
        return require_inspect()
    except InspectUnavailable as exc:
        fail(escape(str(exc)))


def export_inspect(
    run_id: str,
    output: Path | None,
    *,
    suite: str | None,
    model: str | None,
    show_safety_answers: bool,
    db: str | None,
) -> None:
    """The run as inspect_ai eval logs, one per (suite, model): to ``output`` when it
    names one .eval/.json file, else into the folder ``output``."""
    if output is None:
        fail("--format inspect writes files: give -o FILE.eval (one suite and model) or -o DIR")
    _inspect_version()
    from benchwarden import __version__
    from benchwarden.bench.compare import compare_run
    from benchwarden.bench.interop.inspect_export import run_to_logs
    from benchwarden.bench.interop.inspect_files import item_prompts, scorer_names, write_logs

    store = open_db(db)
    try:
        run = store.get_run(run_id)
        if run is None:
            fail(f"no run {run_id!r} in {store.url}; `benchwarden runs` lists the runs there")
        samples = store.samples(run_id)
    finally:
        store.close()
    comparison = compare_run(run_id, samples, run.models, run.suites)
    chosen = [
        s
        for s in samples
        if (suite is None or s.suite == suite) and (model is None or s.model == model)
    ]
    if not chosen:
        fail(
            escape(
                f"run {run_id!r} has no samples"
                + (f" for suite {suite!r}" if suite else "")
                + (f" of model {model!r}" if model else "")
                + f" (suites: {', '.join(run.suites)}; models: {', '.join(run.models)})"
            )
        )
    prompts, problems = item_prompts(
        dict.fromkeys((s.suite, s.item_id) for s in chosen if "inspect" not in s.metadata)
    )
    logs = run_to_logs(
        run,
        chosen,
        prompts=prompts,
        scorers=scorer_names(run.suites),
        comparison=comparison,
        version=__version__,
        show_safety_answers=show_safety_answers,
    )
    try:
        written = write_logs(logs, run_id, output)
    except ValueError as exc:
        fail(escape(str(exc)))
    for problem in problems:
        console.print(f"[yellow]no prompts[/] for {problem}", highlight=False)
    for path, exported in zip(written, logs, strict=True):
        count = len(exported.log.samples or [])
        console.print(
            f"{count} samples of {exported.suite} / {exported.model} written to {path}",
            highlight=False,
        )


def import_logs(
    files: Annotated[
        list[Path], typer.Argument(help="inspect_ai log files (.eval or .json), one or more.")
    ],
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id", help="The bench run to create (default: inspect-<inspect run id>)."
        ),
    ] = None,
    scorer: Annotated[
        str | None,
        typer.Option(help="The scorer whose scores count (default: the log's first scorer)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Bring inspect_ai eval logs in as one run (each log's task a suite, its model a
    model), for `compare`, `report` and `export`. The logs of one inspect run (every
    task and model of one `inspect eval`) make one bench run; a log already imported
    is refused."""
    inspect_version = _inspect_version()
    from benchwarden import __version__
    from benchwarden.bench.interop.inspect_files import NotAnInspectLog, read_logs
    from benchwarden.bench.interop.inspect_import import (
        NotImportable,
        already_imported,
        check_distinct,
        default_run_id,
        log_to_import,
        run_record,
    )
    from benchwarden.store import StoreError

    try:
        sensitive = _sensitive_prompt_keys()
        imports = [log_to_import(log, "", scorer, sensitive) for log in read_logs(files)]
        check_distinct(imports)
        target = run_id or default_run_id(i.inspect_run_id for i in imports)
    except (NotAnInspectLog, NotImportable) as exc:
        fail(escape(str(exc)))
    samples = [s for i in imports for s in i.samples]
    for sample in samples:
        sample.run_id = target
    run = run_record(
        imports,
        target,
        files=[f.name for f in files],
        command=shlex.join(["benchwarden", *sys.argv[1:]]),
        version=__version__,
        inspect_version=inspect_version,
    )
    store = open_db(db)
    try:
        held = already_imported(store.list_runs(limit=1_000_000), (i.eval_id for i in imports))
        if held:
            fail(
                escape(
                    "already imported: "
                    + "; ".join(f"eval id {e} is in run {r!r}" for e, r in sorted(held.items()))
                    + " (`benchwarden compare RUN` reads it)"
                )
            )
        if store.get_run(target) is not None:
            fail(
                escape(
                    f"a run {target!r} already exists in {store.url}: name another with --run-id"
                )
            )
        try:
            store.create_run(run)
            written = store.add_samples(samples)
        except StoreError as exc:
            fail(escape(str(exc)))
    finally:
        store.close()
    errors = sum(s.status == "error" for s in samples)
    console.print(
        f"imported {written} samples ({errors} errored) of {', '.join(run.suites)} for "
        f"{', '.join(run.models)} as run {target}: `benchwarden compare {target}`",
        highlight=False,
    )


def _sensitive_prompt_keys() -> frozenset[str]:
    """bench's child-safety prompts, so answers to them from elsewhere are stored as a
    bench run would store them (hash and redacted excerpt, never whole)."""
    from benchwarden.bench.data import DataError
    from benchwarden.bench.interop.inspect_import import prompt_key
    from benchwarden.bench.suites.safety import safety_items

    try:
        items = safety_items()
    except DataError as exc:
        err_console.print(
            "[yellow]warning:[/] bench's safety data is not available, so answers to its "
            "child-safety prompts cannot be recognised here (samples whose metadata says "
            f"hazard cse are still redacted): {escape(str(exc))}"
        )
        return frozenset()
    return frozenset(
        prompt_key(item.messages[0].content if item.messages else item.prompt or "")
        for item in items
        if item.metadata.get("sensitive")
    )
