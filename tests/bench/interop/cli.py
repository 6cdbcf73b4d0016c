"""The real `benchwarden` command, in this process (inspect_ai imported once, not per
call as a child process would)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from benchwarden.cli.app import app


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str  # whitespace collapsed: messages wrap at the console's width

    def json(self) -> Any:
        return json.loads(self.out)


def bw(*args: str) -> Done:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, " ".join(result.stderr.split()))
