"""Live progress for a run: per model done/total, rate, errors and ETA (Rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class RichProgress:
    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("[red]{task.fields[errors]}[/]"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            refresh_per_second=4,
        )
        self._tasks: dict[str, TaskID] = {}
        self._errors: dict[str, int] = {}
        self._count: dict[str, int] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def start(self, model: str, total: int, already_done: int) -> None:
        self._errors[model] = 0
        self._tasks[model] = self.progress.add_task(
            model, total=total, completed=already_done, rate="", errors=""
        )

    def advance(self, model: str, ok: bool) -> None:
        task_id = self._tasks[model]
        if not ok:
            self._errors[model] += 1
        self._count[model] = self._count.get(model, 0) + 1
        errors = self._errors[model]
        error_text = f"{errors} errors" if errors else ""
        if self._count[model] % 16 == 1:  # the rate is costly to compute for every sample
            speed = self.progress.tasks[task_id].speed
            rate = f"{speed:.1f}/s" if speed else ""
            self.progress.update(task_id, advance=1, errors=error_text, rate=rate)
        else:
            self.progress.update(task_id, advance=1, errors=error_text)
