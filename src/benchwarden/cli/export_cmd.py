"""``benchwarden export``: a run's samples (or writing judgments) as JSONL, CSV or Parquet,
or as inspect_ai eval logs (inspect_cmd.py)."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from benchwarden.cli.common import console, fail
from benchwarden.cli.results_cmd import DbOption, open_db

if TYPE_CHECKING:
    from benchwarden.store import JudgmentRecord


class ExportFormat(enum.StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"
    inspect = "inspect"


def export(
    run_id: Annotated[str, typer.Argument(help="The run to export.")],
    format: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.jsonl,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="File to write (default: standard output); for inspect, a .eval file "
            "(one suite and model) or a folder (one log per suite and model).",
        ),
    ] = None,
    suite: Annotated[str | None, typer.Option(help="inspect: only this suite's log.")] = None,
    model: Annotated[str | None, typer.Option(help="inspect: only this model's log.")] = None,
    show_safety_answers: Annotated[
        bool,
        typer.Option(
            help="Include answers to must-refuse safety prompts (hidden by default; "
            "child-safety answers are never stored)."
        ),
    ] = False,
    judgments: Annotated[
        bool,
        typer.Option(
            "--judgments",
            help="Export the run's writing judgments (one row per judge call: verdict, "
            "reply excerpt, prompt version) instead of its samples.",
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Every sample of a run (answers, scores, errors, provenance) as JSONL, CSV or Parquet;
    with --judgments, its writing judgments; with --format inspect, inspect_ai eval logs
    (one per suite and model) that `inspect view` opens."""
    if format is ExportFormat.inspect and not judgments:
        from benchwarden.cli.inspect_cmd import export_inspect

        export_inspect(
            run_id,
            output,
            suite=suite,
            model=model,
            show_safety_answers=show_safety_answers,
            db=db,
        )
        return
    if format is ExportFormat.inspect:
        fail("inspect logs hold samples: export --judgments as jsonl, csv or parquet")
    if suite or model:
        fail("--suite and --model choose among inspect logs: use them with --format inspect")
    store = open_db(db)
    try:
        if store.get_run(run_id) is None:
            fail(f"no run {run_id!r} in {store.url}")
        samples = [] if judgments else store.samples(run_id)
        judged = store.judgments(run_id) if judgments else []
    finally:
        store.close()
    from benchwarden.bench.disclosure import hide_safety_answers
    from benchwarden.bench.export import write_csv, write_jsonl, write_parquet

    if judgments:
        _export_judgments(judged, format, output)
        return
    if not show_safety_answers:
        samples = list(hide_safety_answers(samples))
    if format is ExportFormat.parquet:
        if output is None:
            write_parquet(samples, sys.stdout.buffer)
            return
        with output.open("wb") as binary:
            count = write_parquet(samples, binary)
        console.print(f"{count} samples written to {output}")
        return

    writer = write_jsonl if format is ExportFormat.jsonl else write_csv
    if output is None:
        writer(samples, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        count = writer(samples, handle)
    console.print(f"{count} samples written to {output}")


def _export_judgments(
    judged: list[JudgmentRecord], format: ExportFormat, output: Path | None
) -> None:
    from benchwarden.bench.export import write_judgments

    if output is None:
        parquet = format is ExportFormat.parquet
        write_judgments(judged, format.value, sys.stdout.buffer if parquet else sys.stdout)
        return
    if format is ExportFormat.parquet:
        with output.open("wb") as binary:
            count = write_judgments(judged, format.value, binary)
    else:
        with output.open("w", encoding="utf-8", newline="") as text:
            count = write_judgments(judged, format.value, text)
    console.print(f"{count} judgments written to {output}")
