"""What several commands share: the console, option types, error reporting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from benchwarden.models.config import ConfigError, ModelSpec, load_config

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file defining extra models "
        "(default: $BENCHWARDEN_HOME/models.toml when present).",
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def configured_models(path: Path | None) -> dict[str, ModelSpec]:
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))
