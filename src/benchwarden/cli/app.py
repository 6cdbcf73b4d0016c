"""The ``benchwarden`` command. Thin: parse, call a service, print."""

from __future__ import annotations

import typer

from benchwarden.cli import (
    ask_cmd,
    demo_cmd,
    export_cmd,
    inspect_cmd,
    models_cmd,
    monitor_cmd,
    refusal_cmd,
    report_cmd,
    results_cmd,
    run_cmd,
    sandbox_cmd,
    suites_cmd,
    warden_cmd,
)

app = typer.Typer(
    name="benchwarden",
    help="Compare language models side by side (bench) and serve them under contract "
    "terms (warden).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("models")(models_cmd.models)
app.command("ask")(ask_cmd.ask)
app.command("demo")(demo_cmd.demo)
app.command("suites")(suites_cmd.suites)
app.command("run")(run_cmd.run)
app.command("runs")(results_cmd.runs)
app.command("compare")(results_cmd.compare)
app.command("export")(export_cmd.export)
app.command("import")(inspect_cmd.import_logs)
app.command("report")(report_cmd.report)
app.command("view")(report_cmd.view)
sandbox_app = typer.Typer(help="Run programs in the coding sandbox.", no_args_is_help=True)
sandbox_app.command("run")(sandbox_cmd.sandbox_run)
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(refusal_cmd.refusal_app, name="refusal")
app.command("serve")(warden_cmd.serve)
app.add_typer(warden_cmd.org_app, name="org")
app.add_typer(warden_cmd.grant_app, name="grant")
app.add_typer(warden_cmd.key_app, name="key")
app.add_typer(warden_cmd.audit_app, name="audit")
app.add_typer(monitor_cmd.monitor_app, name="monitor")


def main() -> None:
    app()
