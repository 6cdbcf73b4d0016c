"""``benchwarden refusal classify INPUT -o OUTPUT``: label responses as refusals, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from benchwarden.cli.common import console, fail

refusal_app = typer.Typer(
    help="The offline refusal classifier (full compliance, full or partial refusal).",
    no_args_is_help=True,
)


@refusal_app.callback()
def _refusal() -> None:
    """The offline refusal classifier (full compliance, full or partial refusal)."""


def refusal_classify(
    input: Annotated[
        Path,
        typer.Argument(
            help="CSV or JSONL file (by extension) with columns 'prompt' and 'response'.",
            dir_okay=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Where to write the same rows with 'label' and 'confidence' added "
            "(CSV or JSONL by extension; otherwise the input's format).",
            dir_okay=False,
        ),
    ],
) -> None:
    """Label each response full_compliance, full_refusal or partial_refusal, with a confidence."""
    from benchwarden.bench.refusal.classifier import RefusalModelError
    from benchwarden.bench.refusal.files import RefusalFileError, classify_file

    if not input.is_file():
        fail(f"no such input file: {input}")
    if output.resolve() == input.resolve():
        fail(f"the output must not overwrite the input ({input}); choose another -o path")
    try:
        result = classify_file(input, output)
    except (RefusalFileError, RefusalModelError) as exc:
        fail(str(exc))
    counts = ", ".join(f"{label} {n}" for label, n in result.counts.items())
    console.print(
        f"classified {result.rows} rows -> {result.output} ({result.format}): {counts}",
        highlight=False,
    )


refusal_app.command("classify")(refusal_classify)
