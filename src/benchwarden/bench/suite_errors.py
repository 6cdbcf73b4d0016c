"""The one error of suite files and their items files, located by file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SuiteFileError(ValueError):
    """A suite file or its items file is wrong; the message names file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.field = field


def located_error(
    path: Path, line: int | None, field: str | None, problem: str, fix: str
) -> SuiteFileError:
    where = str(path)
    if line is not None:
        where += f", line {line}"
    if field is not None:
        where += f", field '{field}'"
    return SuiteFileError(f"{where}: {problem}; {fix}", path=path, line=line, field=field)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
