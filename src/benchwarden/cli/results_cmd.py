"""Reading results: ``runs`` and ``compare`` (``suites``: suites_cmd.py; ``export``: export_cmd.py;
compare's tables: compare_view.py)."""

from __future__ import annotations

import enum
import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from benchwarden.cli.common import console, fail
from benchwarden.cli.compare_view import comparison_for, render_comparison, render_safety
from benchwarden.cli.compare_view import print_comparison as print_comparison  # re-exported
from benchwarden.cli.listing import Column, JsonOption, Section, emit

if TYPE_CHECKING:  # storage loads on first use: the CLI starts fast
    from benchwarden.store import Store

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Results database: a SQLite path or URL, or postgresql://... "
        "(default: $BENCHWARDEN_HOME/benchwarden.db).",
    ),
]


class TableOrJson(enum.StrEnum):
    table = "table"
    json = "json"


def open_db(url: str | None) -> Store:
    from benchwarden.store import StoreError, open_store

    try:
        return open_store(url)
    except StoreError as exc:
        fail(str(exc))


_RUN_COLUMNS = (
    Column("run", kind="id"),
    Column("status", kind="id"),
    Column("purpose", kind="id"),
    Column("suites", show=", ".join),
    Column("models", show=", ".join),
    Column("samples", kind="number"),
    Column("errors", kind="number"),
    Column("updated", show=lambda t: "" if t is None else t[:16].replace("T", " ")),
)


def runs(
    limit: Annotated[int, typer.Option(min=1)] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List recent runs in the results database (plain tab-separated rows in a pipe:
    run, status, purpose, suites, models, samples, errors, updated)."""
    store = open_db(db)
    try:
        rows = []
        for run in store.list_runs(limit):
            totals = store.totals(run.run_id)
            rows.append(
                {
                    "run": run.run_id,
                    "status": run.status,
                    "purpose": run.purpose,
                    "suites": list(run.suites),
                    "models": list(run.models),
                    "samples": int(sum(t["samples"] for t in totals.values())),
                    "errors": int(sum(t["errors"] for t in totals.values())),
                    "updated": run.updated_at.isoformat() if run.updated_at else None,
                }
            )
        emit(Section(f"runs in {store.url}", _RUN_COLUMNS, rows), as_json=as_json)
    finally:
        store.close()


def compare(
    run_id: Annotated[str, typer.Argument(help="The run to compare.")],
    format: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
    reference: Annotated[
        str | None,
        typer.Option(help="Reference model for the safety grade (AILuminate-style bands)."),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Baseline model for writing ratings (default: the first).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Scores with 95% intervals per suite and model, and paired differences."""
    from benchwarden.bench.compare import without_nan
    from benchwarden.cli.writing_view import load_summary, render_writing

    store = open_db(db)
    try:
        report = comparison_for(store, run_id)
        try:
            writing = load_summary(store, run_id, baseline)
        except ValueError as exc:  # an unknown --baseline
            fail(str(exc))
        if format is TableOrJson.json:
            data = report.to_dict()
            with console.capture():  # tables are for the terminal; JSON gets the data
                safety = render_safety(store, run_id, reference)
            if safety:
                data["safety"] = without_nan(safety)
            if writing is not None:
                data["writing"] = writing.to_dict()
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
        else:
            render_comparison(report)
            render_safety(store, run_id, reference)
            if writing is not None:
                render_writing(writing)
    finally:
        store.close()
