"""Reading and writing inspect_ai log files, with inspect_ai's own reader and writer
(``read_eval_log``, ``write_eval_log``), and what the export needs from the suites.

inspect_ai is an optional extra: it is imported here only when a file is read or
written, and its absence is a :class:`InspectUnavailable` that says how to install it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

    from benchwarden.bench.interop.inspect_export import ExportedLog, ItemPrompt

INSTALL_HINT = (
    "inspect_ai is not installed: install the extra with `pip install 'benchwarden[inspect]'` "
    "(or `uv sync --extra inspect`; `make install` includes it)"
)
SUFFIXES = (".eval", ".json")


class InspectUnavailable(RuntimeError):
    """inspect_ai cannot be imported."""


class NotAnInspectLog(ValueError):
    """A file that inspect_ai cannot read as an eval log."""


def require_inspect() -> str:
    """inspect_ai's version, or InspectUnavailable saying how to install it."""
    try:
        import inspect_ai
    except ImportError as exc:
        raise InspectUnavailable(INSTALL_HINT) from exc
    return str(getattr(inspect_ai, "__version__", "unknown"))


def read_logs(paths: Sequence[Path]) -> list[EvalLog]:
    """Each file as an EvalLog (samples included); NotAnInspectLog names the file."""
    require_inspect()
    from inspect_ai.log import read_eval_log

    logs = []
    for path in paths:
        if not path.is_file():
            raise NotAnInspectLog(f"{path}: no such file")
        if path.suffix not in SUFFIXES:
            raise NotAnInspectLog(
                f"{path}: not an inspect_ai log (expected a .eval or .json log file)"
            )
        try:
            logs.append(read_eval_log(str(path)))
        except Exception as exc:  # zip, JSON and schema errors alike: say what it is
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            raise NotAnInspectLog(
                f"{path}: not an inspect_ai eval log that inspect_ai {require_inspect()} "
                f"can read ({reason})"
            ) from exc
    return logs


def log_file_name(run_id: str, suite: str, model: str) -> str:
    """``RUN_SUITE_MODEL.eval`` with anything but letters, digits, ``.`` ``-`` as ``-``."""
    parts = (run_id, Path(suite).stem if suite.endswith((".yaml", ".toml")) else suite, model)
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", p).strip("-") for p in parts) + ".eval"


def write_logs(logs: Sequence[ExportedLog], run_id: str, output: Path) -> list[Path]:
    """One log to a file (``output`` ending in .eval or .json), or every log into the
    folder ``output`` (one ``RUN_SUITE_MODEL.eval`` each). A file for several logs is
    a ValueError that says to pick one or give a folder."""
    require_inspect()
    from inspect_ai.log import write_eval_log

    if output.suffix in SUFFIXES and not output.is_dir():
        if len(logs) != 1:
            cells = ", ".join(f"{x.suite}/{x.model}" for x in logs)
            raise ValueError(
                f"this run makes {len(logs)} inspect logs (one per suite and model: {cells}); "
                "give a folder to -o, or pick one with --suite and --model"
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        write_eval_log(logs[0].log, str(output))
        return [output]
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for exported in logs:
        path = output / log_file_name(run_id, exported.suite, exported.model)
        write_eval_log(exported.log, str(path))
        written.append(path)
    return written


def item_prompts(
    keys: Iterable[tuple[str, str]],
) -> tuple[dict[tuple[str, str], ItemPrompt], list[str]]:
    """(suite, item_id) -> the item's text, from the suites this version knows; and why
    a suite gave none (data not available, a suite file moved, an imported task)."""
    from benchwarden.bench.interop.inspect_export import ItemPrompt
    from benchwarden.bench.viewer.prompts import Prompts

    prompts = Prompts()
    found: dict[tuple[str, str], ItemPrompt] = {}
    for suite, item_id in keys:
        text = prompts.get(suite, item_id)
        if text is not None:
            found[(suite, item_id)] = ItemPrompt(text.prompt, text.target, text.must_refuse)
    return found, [f"{suite}: {why}" for suite, why in prompts.problems.items()]


def scorer_names(suites: Iterable[str]) -> dict[str, str]:
    """suite -> its scorer's name, for the suites this version knows."""
    from benchwarden.bench.registry import get_suite

    names = {}
    for suite in suites:
        try:
            names[suite] = get_suite(suite).scorer.name
        except Exception:  # an imported task, a moved suite file: a generic name  # noqa: S112
            continue
    return names
