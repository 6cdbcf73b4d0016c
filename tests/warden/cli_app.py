"""The warden commands in a Typer app of their own (cli/app.py registers them in the
real ``benchwarden`` command): ``python -m tests.warden.cli_app key revoke ...``."""

from __future__ import annotations

import typer

from benchwarden.cli import warden_cmd

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(warden_cmd.serve)
app.add_typer(warden_cmd.org_app, name="org")
app.add_typer(warden_cmd.grant_app, name="grant")
app.add_typer(warden_cmd.key_app, name="key")
app.add_typer(warden_cmd.audit_app, name="audit")

if __name__ == "__main__":
    app()
