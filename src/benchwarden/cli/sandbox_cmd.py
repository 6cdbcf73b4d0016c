"""``benchwarden sandbox run FILE.py``: run one program in the sandbox, show what happened."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from benchwarden.bench.sandbox import ExecResult, SandboxLimits, run_program
from benchwarden.cli.common import console, fail

EXCERPT_CHARS = 2000

_STYLES = {"ok": "green", "error": "yellow", "sandbox_error": "bold red"}


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The head and tail of ``text`` when it is long (the middle is what matters least)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... [{len(text) - limit} characters not shown] ...\n{text[-half:]}"


def _status(result: ExecResult) -> str:
    if result.signal is not None:
        return f"killed by signal {result.signal}"
    if result.exit_code is not None:
        return f"exit status {result.exit_code}"
    return "no status"


def show(result: ExecResult, limits: SandboxLimits) -> None:
    """Print a result: the verdict, status, resources, isolation, and output excerpts."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    style = _STYLES.get(result.verdict, "red")
    table.add_row("verdict", Text(result.verdict, style=style))
    table.add_row("status", _status(result))
    table.add_row(
        "cpu",
        f"{result.cpu_seconds:.3f} s (limit {limits.cpu_seconds:g} s, whole seconds rounded up)",
    )
    table.add_row("wall", f"{result.wall_seconds:.3f} s (limit {limits.wall_limit:g} s)")
    table.add_row("memory limit", f"{limits.memory_mb} MB address space")
    isolation = Text(result.isolation, style="green" if result.isolation == "bwrap" else "red")
    table.add_row("isolation", isolation)
    if result.warning:
        table.add_row("warning", Text(result.warning, style="bold red"))
    console.print(table)
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            body = Text(_excerpt(text))
            console.print(Panel(body, title=f"{name} ({len(text)} characters)", title_align="left"))


def sandbox_run(
    file: Annotated[
        Path, typer.Argument(help="The Python program to run.", exists=False, dir_okay=False)
    ],
    timeout: Annotated[
        float, typer.Option("--timeout", help="CPU-time limit in seconds.", min=0.01)
    ] = 10,
    memory: Annotated[
        int, typer.Option("--memory", help="Address-space limit in MB.", min=32)
    ] = 1024,
) -> None:
    """Run one Python file in the sandbox and print its outcome (exit 0 only when ok)."""
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    limits = SandboxLimits(cpu_seconds=timeout, memory_mb=memory)
    result = run_program(source, limits=limits)
    show(result, limits)
    if result.verdict != "ok":
        raise typer.Exit(1)
